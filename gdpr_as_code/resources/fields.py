"""Contact fields (``/api/fields/contact``): alias and type fixed at creation; marker in ``properties``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gdpr_as_code.resources.common import (
    MARKER_RE,
    Json,
    Kind,
    RefIndex,
    Resolver,
    SubIds,
    as_dict,
    marker,
    optional_text,
    options_of,
    resolve_refs,
    spec_options,
)
from gdpr_as_code.spec import ContactField

FIELD_MARKER_KEY = "gdprAsCode"


def _field_properties(
    type_: str, options: list[dict[str, str]], raw: Mapping[str, Any] | None = None
) -> Json:
    if type_ in ("select", "multiselect", "lookup"):
        return {"list": options}
    if type_ == "boolean":
        by_value = {o["value"]: o["label"] for o in options}
        if raw is not None:
            return {"yes": str(raw.get("yes", "")), "no": str(raw.get("no", ""))}
        return {"yes": by_value.get("1", "Yes"), "no": by_value.get("0", "No")}
    return {}


def render_field(field: ContactField) -> Json:
    """Desired contact field; alias and type are fixed once created, so a change to them is a plan error."""
    return {
        "label": field.label,
        "alias": field.alias,
        "type": field.type,
        "group": field.group,
        "isPublished": field.published,
        "defaultValue": optional_text(field.default),
        "properties": _field_properties(field.type, spec_options(field.options)),
    }


def normalise_field(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live contact field: properties without the marker, ``null`` and ``""`` defaults alike."""
    props = as_dict(raw.get("properties"))
    props.pop(FIELD_MARKER_KEY, None)
    type_ = str(raw.get("type") or "text")
    return {
        "label": raw.get("label"),
        "alias": raw.get("alias"),
        "type": type_,
        "group": raw.get("group") or "core",
        "isPublished": bool(raw.get("isPublished")),
        "defaultValue": optional_text(raw.get("defaultValue")),
        "properties": _field_properties(type_, options_of(props.get("list")), props),
    }


def field_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in a contact field's ``properties`` marker."""
    value = as_dict(raw.get("properties")).get(FIELD_MARKER_KEY)
    match = MARKER_RE.search(str(value or ""))
    return match.group(1) if match else None


def field_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/fields/contact``: ``properties`` is replaced as a whole by Mautic, so it always carries the
    marker; alias and type are only sent on create (Mautic ignores or rejects them later)."""
    keys = set(desired) if changed is None else (set(changed) - {"alias", "type"}) | {"properties"}
    body = {k: desired[k] for k in keys if k in desired}
    body["properties"] = {**desired["properties"], FIELD_MARKER_KEY: marker(key)}
    if body.get("defaultValue") is None:
        body["defaultValue"] = ""
    return resolve_refs(body, resolve)


FIELDS = Kind(
    "fields",
    "field",
    "/fields/contact",
    "fields",
    "field",
    "alias",
    render_field,
    normalise_field,
    field_key,
    field_payload,
)
