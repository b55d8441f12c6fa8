"""Forms and the consent banner: fields mapped to contact fields, actions resolved, consent checkbox added.

When ``gdpr.consent.required`` is set the checkbox is added here, to every form, so the model the engine sees
already contains it (the seed's "acknowledgement checkboxes added to forms automatically").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gdpr_as_code.spec.build import CHOICE_FORM_TYPES, Builder
from gdpr_as_code.spec.gdpr_model import ConsentSettings
from gdpr_as_code.spec.mautic_rules import field_alias_problem
from gdpr_as_code.spec.model import (
    ConsentFocus,
    Email,
    FocusColors,
    Form,
    FormAction,
    FormField,
    Options,
    Segment,
)
from gdpr_as_code.spec.yaml_loader import Path_

PLACEMENTS = {
    "bar": ("top", "bottom"),
    "modal": ("top", "middle", "bottom"),
    "notification": ("top_left", "top_right", "bottom_left", "bottom_right"),
    "page": (),
}
"""Where each focus style can show (Mautic ``properties.<style>.placement``)."""


class FormsBuilder(Builder):
    """Adds forms and the consent banner to the contact-field/segment/email builder."""

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
            self.plain_texts(path, item, ("name", "message"))
            if ("message" in item) == ("redirect" in item):
                self.fail(
                    path,
                    f"form '{key}' needs exactly one of message or redirect",
                    "say what people see after submitting: message: <text> or redirect: <URL>",
                )
            fields = self.form_fields(item["fields"], (*path, "fields"))
            asking = key == self.data.get("gdpr", {}).get("request_form")
            if consent.required and consent.field_alias and not consent.exempts(key, item["name"], asking):
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
            if (
                kind == "checkboxgrp"
                and len(options) > 1
                and field_key
                and self.fields[field_key].type != "multiselect"
            ):
                self.fail(
                    (*here, "type"),
                    f"a checkbox group can send several values, but contact field '{field_key}' "
                    f"({self.fields[field_key].type}) holds one",
                    "use type: radiogrp or select, or make the contact field a multiselect",
                )
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
                self.unknown((*path, "email"), "email", item["email"], [e.key for e in emails])
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
                self.unknown((*path, "segments", index), "segment", segment_key, list(by_key))
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

    def consent_focus(self, forms: tuple[Form, ...]) -> ConsentFocus | None:
        """The consent banner; its form must exist and its placement fit its style."""
        item = self.data.get("consent")
        if item is None:
            return None
        path: Path_ = ("consent",)
        self.plain_texts(path, item, ("name", "headline", "text", "button_text"))
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
            self.unknown((*path, "form"), "form", item["form"], [form.key for form in forms])
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
