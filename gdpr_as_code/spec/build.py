"""The second pass: turn schema-valid data into the model, checking what the schema cannot say.

Unknown references, duplicate names and aliases, options used but not declared, aliases Mautic would rewrite,
a request form without an email field, the consent checkbox (added here to every form when required, so the
model the engine sees already contains it), email bodies from files. Every problem is collected, never raised
one by one, and each points at the node that is wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import markdown

from gdpr_as_code.errors import Problem, SpecError
from gdpr_as_code.spec.mautic_rules import (
    BUILTIN_CONTACT_FIELDS,
    RESTRICTED_FIELD_ALIASES,
    SELECT_OPERATORS,
    clean_alias,
    field_alias_problem,
)
from gdpr_as_code.spec.model import (
    ConsentFocus,
    ConsentSettings,
    ContactField,
    DataItem,
    Email,
    ExportDelivery,
    FocusColors,
    Form,
    FormAction,
    FormField,
    Gdpr,
    Options,
    RequestType,
    Segment,
    SegmentFilter,
)
from gdpr_as_code.spec.yaml_loader import Locator, Path_, read_text

CHOICE_FIELD_TYPES = frozenset({"select", "multiselect", "lookup"})
CHOICE_FORM_TYPES = frozenset({"select", "checkboxgrp", "radiogrp"})
PLACEMENTS = {
    "bar": ("top", "bottom"),
    "modal": ("top", "middle", "bottom"),
    "notification": ("top_left", "top_right", "bottom_left", "bottom_right"),
    "page": (),
}

BodyReader = Callable[[str, Path_], str | None]
"""Reads an email body file (relative to the spec), interpolates it, and returns its text (None on a
problem)."""


class Builder:
    """Builds the model parts from validated data; ``problems`` collects everything wrong."""

    def __init__(
        self, data: Mapping[str, Any], locator: Locator, read_body: BodyReader
    ) -> None:
        self.data = data
        self.locator = locator
        self.read_body = read_body
        self.problems: list[Problem] = []
        self.fields: dict[str, ContactField] = {}

    def fail(self, path: Path_, message: str, fix: str, *, key: bool = False) -> None:
        """Record a problem at ``path``."""
        self.problems.append(self.locator.problem(path, message, fix, key=key))

    def where(self, path: Path_) -> str:
        return self.locator.where(path, key=True)

    # --- contact fields ---

    def contact_fields(self) -> tuple[ContactField, ...]:
        """The declared custom fields; their aliases must be ones Mautic keeps and unique."""
        aliases: dict[str, str] = {}
        for key, item in self.data.get("fields", {}).items():
            path: Path_ = ("fields", key)
            alias, kind = item["alias"], item.get("type", "text")
            reason = field_alias_problem(alias)
            if reason:
                self.fail((*path, "alias"), reason, "choose another alias (it cannot change once created)")
            elif alias in BUILTIN_CONTACT_FIELDS:
                self.fail(
                    (*path, "alias"),
                    f"Mautic already has a built-in contact field '{alias}'",
                    f"use it directly (contact_field: {alias}) or choose another alias",
                )
            elif alias in RESTRICTED_FIELD_ALIASES:
                self.fail(
                    (*path, "alias"),
                    f"Mautic reserves the alias '{alias}' for its own filters",
                    "choose another alias",
                )
            elif alias in aliases:
                self.fail(
                    (*path, "alias"),
                    f"alias '{alias}' is also used by field '{aliases[alias]}'",
                    "give each field its own alias",
                )
            aliases.setdefault(alias, key)
            options = self.choice_options(item, path, kind)
            default = item.get("default")
            if isinstance(default, bool):
                default = "1" if default else "0"
            elif default is not None:
                default = str(default)
            if default is not None and options and default not in {v for _, v in options}:
                self.fail(
                    (*path, "default"),
                    f"default of field '{key}' is not one of its option values",
                    "use one of the values listed under options",
                )
            self.fields[key] = ContactField(
                key=key,
                alias=alias,
                label=item["label"],
                type=kind,
                options=options,
                default=default,
                group=item.get("group", "core"),
                published=item.get("published", True),
                where=self.where(path),
            )
        return tuple(self.fields.values())

    def choice_options(self, item: Mapping[str, Any], path: Path_, kind: str) -> Options:
        """Options of a contact field: required for choice types, yes/no labels for booleans, else none."""
        if kind == "boolean":
            return ((item.get("yes_label", "Yes"), "1"), (item.get("no_label", "No"), "0"))
        for label_key in ("yes_label", "no_label"):
            if label_key in item:
                self.fail((*path, label_key), f"{label_key} only applies to boolean fields", "remove it")
        if kind in CHOICE_FIELD_TYPES:
            if "options" not in item:
                self.fail(path, f"a {kind} field needs options", "add options: a list of {label, value}")
                return ()
            return self.options(item["options"], (*path, "options"))
        if "options" in item:
            self.fail(
                (*path, "options"),
                f"options only apply to select, multiselect or lookup fields, not {kind}",
                "remove options or change the type",
            )
        return ()

    def options(self, items: list[Mapping[str, str]], path: Path_) -> Options:
        """(label, value) pairs; a value listed twice is a problem (Mautic would keep one silently)."""
        seen: set[str] = set()
        for index, option in enumerate(items):
            if option["value"] in seen:
                self.fail(
                    (*path, index, "value"),
                    f"option value '{option['value']}' is listed twice",
                    "remove the repeated option",
                )
            seen.add(option["value"])
        return tuple((option["label"], option["value"]) for option in items)

    def resolve_field(self, name: str, path: Path_) -> tuple[str, str | None, str] | None:
        """A contact field named by spec key, declared alias or Mautic built-in -> (alias, spec key, type)."""
        if name in self.fields:
            field = self.fields[name]
            return field.alias, field.key, field.type
        for field in self.fields.values():
            if field.alias == name:
                return field.alias, field.key, field.type
        if name in BUILTIN_CONTACT_FIELDS:
            return name, None, BUILTIN_CONTACT_FIELDS[name]
        known = ", ".join(sorted(self.fields)) or "none declared"
        self.fail(
            path,
            f"unknown contact field '{name}'",
            f"use a key under fields: ({known}) or a Mautic field such as email or firstname",
        )
        return None

    # --- segments ---

    def segments(self) -> tuple[Segment, ...]:
        """Segments with Mautic's alias; filters resolved to field aliases and checked against field types."""
        result: list[Segment] = []
        names: dict[str, str] = {}
        aliases: dict[str, str] = {}
        for key, item in self.data.get("segments", {}).items():
            path: Path_ = ("segments", key)
            alias = item.get("alias") or clean_alias(item["name"], separator="-")
            if not alias:
                self.fail(
                    (*path, "name"),
                    f"Mautic cannot make an alias from the name of segment '{key}'",
                    "add alias: with lower-case letters, digits and -",
                )
            self.unique(names, item["name"], key, (*path, "name"), "segment name")
            self.unique(
                aliases, alias, key, (*path, "alias") if "alias" in item else (*path, "name"), "segment alias"
            )
            filters = tuple(
                f
                for index, row in enumerate(item.get("filters", ()))
                if (f := self.segment_filter(row, (*path, "filters", index))) is not None
            )
            result.append(
                Segment(
                    key=key,
                    name=item["name"],
                    alias=alias,
                    description=item.get("description", ""),
                    published=item.get("published", True),
                    public_name=item.get("public_name"),
                    is_global=item.get("global", True),
                    filters=filters,
                    where=self.where(path),
                )
            )
        return tuple(result)

    def unique(self, seen: dict[str, str], value: str, key: str, path: Path_, what: str) -> None:
        """Report ``value`` when another object (named in ``seen``) already uses it."""
        if value in seen:
            self.fail(path, f"{what} '{value}' is also used by '{seen[value]}'", f"give each its own {what}")
        seen.setdefault(value, key)

    def segment_filter(self, row: Mapping[str, Any], path: Path_) -> SegmentFilter | None:
        """One filter: field resolved, operator allowed for its type, value shaped the way Mautic wants."""
        resolved = self.resolve_field(row["field"], (*path, "field"))
        if resolved is None:
            return None
        alias, field_key, kind = resolved
        operator = row["operator"]
        allowed = SELECT_OPERATORS.get(kind)
        if allowed is not None and operator not in allowed:
            self.fail(
                (*path, "operator"),
                f"Mautic refuses operator '{operator}' on a {kind} field",
                f"use one of: {', '.join(sorted(allowed))}",
            )
            return None
        value = self.filter_value(row, path, operator)
        if field_key is not None and kind in CHOICE_FIELD_TYPES | {"boolean"} and value is not None:
            declared = self.fields[field_key].option_values()
            for item in value if isinstance(value, tuple) else (value,):
                if declared and item not in declared:
                    self.fail(
                        (*path, "value"),
                        f"'{item}' is not an option value of field '{field_key}'",
                        f"use one of: {', '.join(declared)}, or declare it under the field's options",
                    )
        return SegmentFilter(
            field=alias,
            type=kind,
            operator=operator,
            value=value,
            field_key=field_key,
            glue=row.get("glue", "and"),
            where=self.locator.where(path),
        )

    def filter_value(
        self, row: Mapping[str, Any], path: Path_, operator: str
    ) -> str | tuple[str, ...] | None:
        """Mautic wants an array for in/!in, nothing for empty/!empty, two values for between, else one."""
        value = row.get("value")
        if operator in ("empty", "!empty"):
            if value not in (None, [], ""):
                self.fail((*path, "value"), f"operator '{operator}' takes no value", "remove value")
            return None
        if value is None or value == [] or value == "":
            self.fail(path, f"operator '{operator}' needs a value", "add value:")
            return None
        if operator in ("in", "!in", "between", "!between"):
            if not isinstance(value, list):
                self.fail(
                    (*path, "value"),
                    f"operator '{operator}' needs a list of values",
                    "write value: [a, b] (Mautic refuses a single value here)",
                )
                return None
            if operator.endswith("between") and len(value) != 2:
                self.fail(
                    (*path, "value"), f"operator '{operator}' needs exactly two values", "write [low, high]"
                )
            return tuple(_text(item) for item in value)
        if isinstance(value, list):
            self.fail(
                (*path, "value"),
                f"operator '{operator}' takes one value, not a list",
                "write one value, or use operator in",
            )
            return None
        return _text(value)

    # --- emails ---

    def emails(self) -> tuple[Email, ...]:
        """Emails with their final HTML (Markdown rendered, files read next to the spec)."""
        result: list[Email] = []
        names: dict[str, str] = {}
        for key, item in self.data.get("emails", {}).items():
            path: Path_ = ("emails", key)
            self.unique(names, item["name"], key, (*path, "name"), "email name")
            if ("body" in item) == ("body_file" in item):
                self.fail(
                    path,
                    f"email '{key}' needs exactly one of body or body_file",
                    "write the body inline (body:) or name a file next to the spec (body_file:)",
                )
                continue
            if "body" in item:
                text, source, fmt = item["body"], "inline", item.get("body_format", "markdown")
            else:
                source = item["body_file"]
                file_text = self.read_body(source, (*path, "body_file"))
                if file_text is None:
                    continue
                default_format = "html" if source.lower().endswith((".html", ".htm")) else "markdown"
                text, fmt = file_text, item.get("body_format", default_format)
            result.append(
                Email(
                    key=key,
                    name=item["name"],
                    subject=item["subject"],
                    html=render_body(text, fmt),
                    from_name=item.get("from_name"),
                    from_address=item.get("from_address"),
                    reply_to_address=item.get("reply_to"),
                    language=item.get("language", "en"),
                    published=item.get("published", True),
                    body_source=source,
                    where=self.where(path),
                )
            )
        return tuple(result)

    # --- forms ---

    def forms(
        self, segments: tuple[Segment, ...], emails: tuple[Email, ...], consent: ConsentSettings
    ) -> tuple[Form, ...]:
        """Forms with fields mapped to contact fields, actions resolved, and the consent checkbox when
        required."""
        result: list[Form] = []
        names: dict[str, str] = {}
        for key, item in self.data.get("forms", {}).items():
            path: Path_ = ("forms", key)
            self.unique(names, item["name"], key, (*path, "name"), "form name")
            if ("message" in item) == ("redirect" in item):
                self.fail(
                    path,
                    f"form '{key}' needs exactly one of message or redirect",
                    "say what people see after submitting: message: <text> or redirect: <URL>",
                )
            fields = self.form_fields(item["fields"], (*path, "fields"))
            if consent.required and consent.field_alias:
                fields = self.with_consent(fields, consent, (*path, "fields"))
            actions = tuple(
                action
                for action_key, action_item in item.get("actions", {}).items()
                if (
                    action := self.form_action(
                        action_key, action_item, (*path, "actions", action_key), segments, emails
                    )
                )
                is not None
            )
            result.append(
                Form(
                    key=key,
                    name=item["name"],
                    fields=fields,
                    actions=actions,
                    description=item.get("description", ""),
                    published=item.get("published", True),
                    message=item.get("message"),
                    redirect=item.get("redirect"),
                    where=self.where(path),
                )
            )
        return tuple(result)

    def form_fields(self, items: Mapping[str, Any], path: Path_) -> tuple[FormField, ...]:
        """Form fields in order; each maps to at most one contact field, and no two to the same one."""
        result: list[FormField] = []
        mapped: dict[str, str] = {}
        for key, item in items.items():
            here: Path_ = (*path, key)
            reason = field_alias_problem(key)
            if reason:
                self.fail(here, reason, "choose another field key", key=True)
            kind = item.get("type", "text")
            alias = field_key = None
            contact_options: Options = ()
            if "contact_field" in item:
                resolved = self.resolve_field(item["contact_field"], (*here, "contact_field"))
                if resolved is not None:
                    alias, field_key, _ = resolved
                    contact_options = self.fields[field_key].options if field_key else ()
                    if alias in mapped:
                        self.fail(
                            (*here, "contact_field"),
                            f"contact field '{alias}' is already filled by form field '{mapped[alias]}'",
                            "map each contact field from one form field only (Mautic refuses two)",
                        )
                    mapped.setdefault(alias, key)
            options = self.form_options(item, here, kind, contact_options, field_key)
            default = item.get("default")
            result.append(
                FormField(
                    key=key,
                    label=item["label"],
                    type=kind,
                    required=item.get("required", False),
                    options=options,
                    contact_field=alias,
                    contact_field_key=field_key,
                    default=default,
                    help=item.get("help", ""),
                    where=self.where(here),
                )
            )
        return tuple(result)

    def form_options(
        self, item: Mapping[str, Any], path: Path_, kind: str, contact_options: Options, field_key: str | None
    ) -> Options:
        """Choices of a form field: its own (a subset of the contact field's) or the contact field's."""
        if kind not in CHOICE_FORM_TYPES:
            if "options" in item:
                self.fail(
                    (*path, "options"),
                    f"options only apply to select, checkboxgrp or radiogrp, not {kind}",
                    "remove options or change the type",
                )
            return ()
        if "options" not in item:
            if not contact_options:
                self.fail(
                    path,
                    f"a {kind} field needs options",
                    "add options:, or map it (contact_field:) to a contact field that has options",
                )
            return contact_options
        options = self.options(item["options"], (*path, "options"))
        if contact_options:
            declared = {value for _, value in contact_options}
            for index, (_, value) in enumerate(options):
                if value not in declared:
                    self.fail(
                        (*path, "options", index, "value"),
                        f"option value '{value}' is not declared on contact field '{field_key}'",
                        f"use one of: {', '.join(sorted(declared))}, or add it to the contact field",
                    )
        return options

    def with_consent(
        self, fields: tuple[FormField, ...], consent: ConsentSettings, path: Path_
    ) -> tuple[FormField, ...]:
        """The form's fields with the required consent checkbox: the one mapped to the consent field, or a new
        one."""
        for index, field in enumerate(fields):
            if field.contact_field == consent.field_alias:
                if not field.required or field.type != "checkboxgrp":
                    self.fail(
                        (*path, field.key),
                        f"form field '{field.key}' records consent but is not a required checkbox",
                        "make it type: checkboxgrp with required: true, or remove it and let "
                        "gdpr.consent add it",
                    )
                return (*fields[:index], replace(field, consent=True), *fields[index + 1 :])
            if field.key == consent.form_field:
                self.fail(
                    (*path, field.key),
                    f"form field key '{field.key}' is reserved for the consent checkbox",
                    "rename this field, or set gdpr.consent.form_field to another key",
                )
                return fields
        checkbox = FormField(
            key=consent.form_field,
            label=consent.heading,
            type="checkboxgrp",
            required=True,
            options=((consent.label, consent.value),),
            contact_field=consent.field_alias,
            contact_field_key=consent.field,
            consent=True,
            where=self.locator.where(("gdpr", "consent")),
        )
        buttons = [index for index, field in enumerate(fields) if field.type == "button"]
        at = buttons[0] if buttons else len(fields)
        return (*fields[:at], checkbox, *fields[at:])

    def form_action(
        self,
        key: str,
        item: Mapping[str, Any],
        path: Path_,
        segments: tuple[Segment, ...],
        emails: tuple[Email, ...],
    ) -> FormAction | None:
        """A submit action whose segments or email exist and are published (Mautic ignores unpublished
        ones)."""
        kind = item["type"]
        name = item.get("name") or key.replace("_", " ").capitalize()
        if kind == "send_email":
            if "segments" in item:
                self.fail((*path, "segments"), "send_email takes an email, not segments", "remove segments")
            if "email" not in item:
                self.fail(
                    path, f"action '{key}' (send_email) needs the email to send", "add email: <email key>"
                )
                return None
            email = next((e for e in emails if e.key == item["email"]), None)
            if email is None:
                self._unknown((*path, "email"), "email", item["email"], [e.key for e in emails])
                return None
            if not email.published:
                self.fail(
                    (*path, "email"),
                    f"email '{email.key}' is unpublished, so Mautic would not send it",
                    "publish the email or remove the action",
                )
            return FormAction(key=key, type=kind, name=name, email=email.key, where=self.where(path))
        if "email" in item:
            self.fail((*path, "email"), f"{kind} takes segments, not an email", "remove email")
        if "segments" not in item:
            self.fail(path, f"action '{key}' ({kind}) needs the segments", "add segments: [<segment key>]")
            return None
        by_key = {segment.key: segment for segment in segments}
        for index, segment_key in enumerate(item["segments"]):
            if segment_key not in by_key:
                self._unknown((*path, "segments", index), "segment", segment_key, list(by_key))
            elif not by_key[segment_key].published:
                self.fail(
                    (*path, "segments", index),
                    f"segment '{segment_key}' is unpublished; Mautic only "
                    "lets form actions use published segments",
                    "publish the segment",
                )
        return FormAction(
            key=key, type=kind, name=name, segments=tuple(item["segments"]), where=self.where(path)
        )

    def _unknown(self, path: Path_, kind: str, name: str, known: list[str]) -> None:
        self.fail(
            path,
            f"unknown {kind} '{name}'",
            f"use a key declared under {kind}s: ({', '.join(known) or 'none declared'})",
        )

    # --- consent banner ---

    def consent_focus(self, forms: tuple[Form, ...]) -> ConsentFocus | None:
        """The consent banner; its form must exist and its placement fit its style."""
        item = self.data.get("consent")
        if item is None:
            return None
        path: Path_ = ("consent",)
        style = item["style"]
        placement = item.get("placement")
        if placement is not None and placement not in PLACEMENTS[style]:
            fits = ", ".join(PLACEMENTS[style]) or "none (leave placement out)"
            self.fail(
                (*path, "placement"),
                f"placement '{placement}' does not fit style '{style}'",
                f"use one of: {fits}",
            )
        if "form" in item and item["form"] not in {form.key for form in forms}:
            self._unknown((*path, "form"), "form", item["form"], [form.key for form in forms])
        colors = item.get("colors", {})
        return ConsentFocus(
            key="consent",
            name=item["name"],
            style=style,
            headline=item["headline"],
            text=item.get("text", ""),
            button_text=item.get("button_text", ""),
            privacy_url=item.get("privacy_url"),
            form=item.get("form"),
            description=item.get("description", ""),
            website=item.get("website"),
            published=item.get("published", True),
            placement=placement,
            colors=FocusColors(**{k: v.lower() for k, v in colors.items()}),
            when=item.get("when", "immediately"),
            timeout=item.get("timeout"),
            frequency=item.get("frequency", "everypage"),
            stop_after_conversion=item.get("stop_after_conversion", True),
            stop_after_close=item.get("stop_after_close", True),
            link_new_window=item.get("link_new_window", True),
            where=self.where(path),
        )

    # --- gdpr ---

    def consent_settings(self) -> ConsentSettings:
        """The consent checkbox settings; the consent field must be a declared boolean field."""
        item = self.data.get("gdpr", {}).get("consent", {})
        path: Path_ = ("gdpr", "consent")
        field_key = item.get("field")
        alias = None
        if field_key is not None:
            field = self.fields.get(field_key)
            if field is None:
                self._unknown((*path, "field"), "field", field_key, list(self.fields))
            elif field.type != "boolean":
                self.fail(
                    (*path, "field"),
                    f"consent field '{field_key}' is a {field.type} field",
                    "record consent in a field of type: boolean",
                )
            else:
                alias = field.alias
        reason = field_alias_problem(item.get("form_field", "gdpr_consent"))
        if reason:
            self.fail((*path, "form_field"), reason, "choose another key")
        return ConsentSettings(
            required=item.get("required", False),
            label=item.get("label", ""),
            heading=item.get("heading", "Consent"),
            field=field_key,
            field_alias=alias,
            form_field=item.get("form_field", "gdpr_consent"),
        )

    def gdpr(
        self,
        forms: tuple[Form, ...],
        segments: tuple[Segment, ...],
        emails: tuple[Email, ...],
        consent: ConsentSettings,
    ) -> Gdpr | None:
        """The GDPR section: request form/field/types cross-checked, delivery and inventory resolved."""
        item = self.data.get("gdpr")
        if item is None:
            return None
        path: Path_ = ("gdpr",)
        field = self.fields.get(item["request_field"])
        if field is None:
            self._unknown((*path, "request_field"), "field", item["request_field"], list(self.fields))
        elif field.type not in ("select", "multiselect"):
            self.fail(
                (*path, "request_field"),
                f"request field '{field.key}' is a {field.type} field",
                "use a select or multiselect field whose option values name the requests",
            )
            field = None
        form = next((f for f in forms if f.key == item["request_form"]), None)
        if form is None:
            self._unknown((*path, "request_form"), "form", item["request_form"], [f.key for f in forms])
        else:
            self.check_request_form(form, field, ("forms", form.key))
        request_types = tuple(
            self.request_type(kind, spec, (*path, "requests", kind), field, segments, emails)
            for kind, spec in item["requests"].items()
        )
        values = [r.value for r in request_types]
        if len(set(values)) < len(values):
            self.fail(
                (*path, "requests", "erasure", "value"),
                "access and erasure use the same option value",
                "give each request type its own value",
            )
        return Gdpr(
            request_form=item["request_form"],
            request_field=item["request_field"],
            request_types=request_types,
            deadline_days=item.get("deadline_days", 30),
            export_formats=tuple(item.get("exports", {}).get("formats", ("json", "csv"))),
            delivery=self.delivery(
                item.get("exports", {}).get("delivery", {}), (*path, "exports", "delivery")
            ),
            data_inventory=self.data_inventory(item.get("data_inventory", {}), (*path, "data_inventory")),
            consent=consent,
        )

    def check_request_form(self, form: Form, field: ContactField | None, path: Path_) -> None:
        """The request form must identify the person (email) and say what they ask (the request field)."""
        if not any(f.type == "email" and f.contact_field == "email" for f in form.fields):
            self.fail(
                (*path, "fields"),
                f"request form '{form.key}' has no email field mapped to the contact's email",
                "add a field with type: email, required: true, contact_field: email (without it "
                "Mautic cannot tell who asked)",
            )
        if field is not None and not any(f.contact_field == field.alias for f in form.fields):
            self.fail(
                (*path, "fields"),
                f"request form '{form.key}' has no field filling request field '{field.key}'",
                f"add a checkboxgrp or select field with contact_field: {field.key}",
            )

    def request_type(
        self,
        kind: str,
        item: Mapping[str, Any],
        path: Path_,
        field: ContactField | None,
        segments: tuple[Segment, ...],
        emails: tuple[Email, ...],
    ) -> RequestType:
        """One request type: its value is an option of the request field, its segment and email exist."""
        label = item.get("label")
        if field is not None and field.options:  # a choice field without options is reported already
            options = dict((value, text) for text, value in field.options)
            if item["value"] not in options:
                self.fail(
                    (*path, "value"),
                    f"'{item['value']}' is not an option value of field '{field.key}'",
                    f"use one of: {', '.join(options)}, or declare it under the field's options",
                )
            label = label or options.get(item["value"])
        if item["segment"] not in {s.key for s in segments}:
            self._unknown((*path, "segment"), "segment", item["segment"], [s.key for s in segments])
        if item["email"] not in {e.key for e in emails}:
            self._unknown((*path, "email"), "email", item["email"], [e.key for e in emails])
        return RequestType(
            kind=kind,
            label=label or kind,
            value=item["value"],
            segment=item["segment"],
            email=item["email"],
            where=self.where(path),
        )

    def delivery(self, item: Mapping[str, Any], path: Path_) -> ExportDelivery:
        """Export delivery; SMTP needs its server section."""
        method = item.get("method", "folder")
        smtp = item.get("smtp", {})
        if method == "smtp" and not smtp:
            self.fail(path, "delivery method smtp needs an smtp: section", "add smtp: with host and from")
        return ExportDelivery(
            method=method,
            folder=item.get("folder", "exports"),
            smtp_host=smtp.get("host"),
            smtp_port=smtp.get("port", 587),
            smtp_starttls=smtp.get("starttls", True),
            smtp_from=smtp.get("from"),
            smtp_username_env=smtp.get("username_env", "SMTP_USERNAME"),
            smtp_password_env=smtp.get("password_env", "SMTP_PASSWORD"),
        )

    def data_inventory(self, items: Mapping[str, Any], path: Path_) -> tuple[DataItem, ...]:
        """What personal data is kept; its contact fields resolved to Mautic aliases."""
        result: list[DataItem] = []
        for key, item in items.items():
            here: Path_ = (*path, key)
            aliases = tuple(
                resolved[0]
                for index, name in enumerate(item.get("contact_fields", ()))
                if (resolved := self.resolve_field(name, (*here, "contact_fields", index))) is not None
            )
            result.append(
                DataItem(
                    key=key,
                    description=item["description"],
                    purpose=item["purpose"],
                    legal_basis=item["legal_basis"],
                    contact_fields=aliases,
                    retention_days=item.get("retention_days"),
                    retention_from=item.get("retention_from", "last_active"),
                    where=self.where(here),
                )
            )
        return tuple(result)


def _text(value: Any) -> str:
    """A filter value as Mautic stores it (booleans as 1/0)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def render_body(text: str, body_format: str) -> str:
    """The email's HTML: Markdown rendered (tables, lists, links) and wrapped as a document, or HTML as
    given."""
    if body_format == "html":
        return text
    body = markdown.markdown(text, extensions=["extra", "sane_lists"], output_format="html")
    return f'<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"></head>\n<body>\n{body}\n</body>\n</html>\n'


def read_body_file(
    spec_dir: Path,
    interpolate: Callable[[str, str, list[Problem]], str],
    problems: list[Problem],
    locator: Locator,
) -> BodyReader:
    """A ``BodyReader`` for files next to the spec; a missing file is reported at the body_file line, and
    problems inside the file are located in it (named as the spec is named: relative stays relative)."""

    def read(relative: str, where: Path_) -> str | None:
        path = spec_dir / relative
        if not path.is_file():
            problems.append(
                locator.problem(
                    where,
                    f"email body file '{relative}' does not exist",
                    "create it, or fix the path (it is relative to the spec's folder)",
                )
            )
            return None
        try:
            text, _ = read_text(path, str(path))
        except SpecError as err:
            problems.extend(err.problems)
            return None
        return interpolate(text, str(path), problems)

    return read
