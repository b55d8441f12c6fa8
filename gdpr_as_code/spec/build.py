"""The second pass: turn schema-valid data into the model, checking what the schema cannot say.

This module builds contact fields, segments and emails (``build_forms`` adds forms and the consent banner,
``build_gdpr`` the GDPR section): unknown references, duplicate names and aliases, options used but not
declared, aliases Mautic would rewrite, email bodies from files. Every problem is collected, never raised one
by one, and each points at the node that is wrong.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from gdpr_as_code.errors import Problem
from gdpr_as_code.spec.bodies import BodyReader, MarkdownRenderer
from gdpr_as_code.spec.mautic_rules import (
    BUILTIN_COMPANY_FIELDS,
    BUILTIN_CONTACT_FIELDS,
    DEFAULT_OPERATORS,
    FILTER_OPERATORS,
    RESTRICTED_FIELD_ALIASES,
    clean_alias,
    field_alias_problem,
    plain_text_problem,
)
from gdpr_as_code.spec.model import (
    ContactField,
    Email,
    Options,
    Segment,
    SegmentFilter,
)
from gdpr_as_code.spec.yaml_loader import Locator, Path_

CHOICE_FIELD_TYPES = frozenset({"select", "multiselect", "lookup"})
CHOICE_FORM_TYPES = frozenset({"select", "checkboxgrp", "radiogrp"})


class Builder:
    """Builds the model parts from validated data; ``problems`` collects everything wrong."""

    def __init__(self, data: Mapping[str, Any], locator: Locator, read_body: BodyReader) -> None:
        self.data = data
        self.locator = locator
        self.read_body = read_body
        self.problems: list[Problem] = []
        self.fields: dict[str, ContactField] = {}
        self.dropped: set[tuple[str, str]] = set()  # (kind, key) left out for a problem already reported

    def fail(self, path: Path_, message: str, fix: str, *, key: bool = False) -> None:
        """Record a problem at ``path``."""
        self.problems.append(self.locator.problem(path, message, fix, key=key))

    def where(self, path: Path_) -> str:
        return self.locator.where(path, key=True)

    def plain_texts(self, path: Path_, item: Mapping[str, Any], names: tuple[str, ...]) -> None:
        """Texts Mautic saves through its tag-stripping filter must hold no markup, or they never converge."""
        for name in names:
            value = item.get(name)
            reason = plain_text_problem(value) if isinstance(value, str) else ""
            if reason:
                self.fail((*path, name), reason, "write plain text here (a bare & or < is fine)")

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
            elif alias in BUILTIN_COMPANY_FIELDS:
                self.fail(
                    (*path, "alias"),
                    f"Mautic's built-in company field uses the alias '{alias}' (aliases are unique across "
                    "contact and company fields)",
                    "choose another alias",
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
        candidates = [*self.fields, *(f.alias for f in self.fields.values()), *BUILTIN_CONTACT_FIELDS]
        self.fail(
            path,
            f"unknown contact field '{name}'",
            f"{_did_you_mean(name, candidates)}use a key under fields: ({known}) or a Mautic field such as "
            "email or firstname",
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
        allowed = FILTER_OPERATORS.get(kind, DEFAULT_OPERATORS)
        if operator not in allowed:
            self.fail(
                (*path, "operator"),
                f"Mautic refuses operator '{operator}' on field '{row['field']}' ({kind})",
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
        render = MarkdownRenderer()
        result: list[Email] = []
        names: dict[str, str] = {}
        for key, item in self.data.get("emails", {}).items():
            path: Path_ = ("emails", key)
            self.unique(names, item["name"], key, (*path, "name"), "email name")
            self.plain_texts(path, item, ("name", "subject", "preheader"))
            if ("body" in item) == ("body_file" in item):
                self.fail(
                    path,
                    f"email '{key}' needs exactly one of body or body_file",
                    "write the body inline (body:) or name a file next to the spec (body_file:)",
                )
                self.dropped.add(("email", key))
                continue
            if "body" in item:
                text, source, fmt = item["body"], "inline", item.get("body_format", "markdown")
            else:
                source = item["body_file"]
                file_text = self.read_body(source, (*path, "body_file"))
                if file_text is None:  # its problem is reported (missing, unreadable, too large)
                    self.dropped.add(("email", key))
                    continue
                default_format = "html" if source.lower().endswith((".html", ".htm")) else "markdown"
                text, fmt = file_text, item.get("body_format", default_format)
            result.append(
                Email(
                    key=key,
                    name=item["name"],
                    subject=item["subject"],
                    html=render(text, fmt),
                    preheader=item.get("preheader"),
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

    def unknown(self, path: Path_, kind: str, name: str, known: list[str]) -> None:
        """Report a reference to a spec key that is not declared, suggesting the closest one. A key that is
        declared but was left out for a problem of its own (a missing body file) has that problem reported
        already: a second "unknown" would send the reader looking for a typo that is not there."""
        if (kind, name) in self.dropped:
            return
        self.fail(
            path,
            f"unknown {kind} '{name}'",
            f"{_did_you_mean(name, known)}use a key declared under {kind}s: "
            f"({', '.join(known) or 'none declared'})",
        )


def _did_you_mean(name: str, known: list[str]) -> str:
    """ "did you mean 'x'? " for the closest known name (a typo is the usual cause), or ""."""
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean '{close[0]}'? Otherwise " if close else ""


def _text(value: Any) -> str:
    """A filter value as Mautic stores it (booleans as 1/0)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
