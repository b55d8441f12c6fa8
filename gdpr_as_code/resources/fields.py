"""Contact fields (``/api/fields/contact``): alias and type fixed at creation; owned through a registry.

A contact field has no description, and Mautic keeps no key of ``properties`` that its type does not define:
``FieldModel::setFieldProperties`` runs ``FormFieldHelper::validateProperties``, which ``unset``s every other
key (Mautic 5.1 ``app/bundles/LeadBundle/Helper/FormFieldHelper.php`` L10-96 and L121-138), so a marker there
never reaches the database. The fields the tool manages are therefore listed, spec key to alias, in the
description of one unpublished, filterless registry segment (alias ``gdpr-as-code-fields``), which Mautic
stores as written (segment descriptions are cleaned with the ``html`` mask, which keeps plain text).
By alias, not id: apply lists a field *before* creating it, so a create whose answer is lost is still ours;
the alias is immutable in Mautic, and was free when planned (a field in the way stops the plan).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdpr_as_code.resources.common import (
    Json,
    Kind,
    RefIndex,
    Resolver,
    SubIds,
    as_dict,
    optional_text,
    options_of,
    resolve_refs,
    spec_entry,
    spec_options,
)
from gdpr_as_code.spec import ContactField

REGISTRY_ALIAS = "gdpr-as-code-fields"
REGISTRY_TAG = "[gdpr-as-code-fields]"
REGISTRY_NAME = "gdpr-as-code: managed contact fields (do not edit)"


@dataclass(frozen=True)
class FieldRegistry:
    """The managed contact fields (spec key -> alias) and the segment that lists them (None: none yet)."""

    segment_id: int | None = None
    owners: Mapping[str, str] = field(default_factory=dict)

    def key_of(self, raw: Mapping[str, Any]) -> str | None:
        """The spec key of a live field, or None when the tool does not manage it."""
        return next((key for key, alias in self.owners.items() if alias == raw.get("alias")), None)


def read_registry(segments: Iterable[Mapping[str, Any]]) -> FieldRegistry:
    """The registry among the live segments: the lowest id holds it; entries of copies made in Mautic's UI
    are merged in (a copy can only repeat what the original said)."""
    owners: dict[str, str] = {}
    holder: int | None = None
    for segment in sorted(segments, key=lambda s: int(s["id"])):
        description = str(segment.get("description") or "")
        if not description.startswith(REGISTRY_TAG):
            continue
        try:
            entries = json.loads(description[len(REGISTRY_TAG) :])
        except ValueError:
            continue
        if not isinstance(entries, dict):
            continue
        holder = holder if holder is not None else int(segment["id"])
        for key, alias in entries.items():
            if isinstance(alias, str) and str(key) not in owners:
                owners[str(key)] = alias
    return FieldRegistry(holder, owners)


def registry_body(owners: Mapping[str, str]) -> Json:
    """The registry segment as written: unpublished and without filters, so no contact ever joins it."""
    return {
        "name": REGISTRY_NAME,
        "alias": REGISTRY_ALIAS,
        "description": f"{REGISTRY_TAG} {json.dumps(dict(sorted(owners.items())))}",
        "isPublished": False,
        "filters": [],
    }


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


def _unescaped(value: Any) -> Any:
    """``value`` with the HTML entities Mautic's ``InputHelper::clean`` wrote undone, at any depth."""
    if isinstance(value, Mapping):
        return {k: _unescaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unescaped(v) for v in value]
    return html.unescape(value) if isinstance(value, str) else value


def normalise_field(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live contact field: ``null`` and ``""`` defaults alike. Mautic stores every property HTML-escaped
    (``'`` as ``&#39;``, ``&`` as ``&#38;``; ``setFieldProperties``, LeadBundle/Model/FieldModel.php
    L837), and the label and default too unless the type is a choice (``FieldType`` cleans its data with
    ``InputHelper::clean``, Mautic 5.1 LeadBundle/Form/Type/FieldType.php L262-275, L470-475): all are
    unescaped here."""
    props = _unescaped(as_dict(raw.get("properties")))
    type_ = str(raw.get("type") or "text")
    return {
        "label": _unescaped(raw.get("label")),
        "alias": raw.get("alias"),
        "type": type_,
        "group": raw.get("group") or "core",
        "isPublished": bool(raw.get("isPublished")),
        "defaultValue": optional_text(_unescaped(raw.get("defaultValue"))),
        "properties": _field_properties(type_, options_of(props.get("list")), props),
    }


def field_entry(data: Json) -> Json | str:
    """The spec entry of a custom contact field (``export``)."""
    props = as_dict(data.get("properties"))
    type_ = str(data.get("type"))
    entry = spec_entry({"alias": data.get("alias"), "label": data.get("label"), "type": type_,
                        "group": data.get("group"), "published": data.get("isPublished")},
                       {"type": "text", "group": "core", "published": True})
    if type_ in ("select", "multiselect", "lookup"):
        entry["options"] = options_of(props.get("list"))
        if not entry["options"]:
            return f"its {type_} has no options, and the spec needs them"
    if type_ == "boolean":
        entry.update(spec_entry({"yes_label": props.get("yes"), "no_label": props.get("no")},
                                {"yes_label": "Yes", "no_label": "No"}))
    if data.get("defaultValue") is not None:
        entry["default"] = data["defaultValue"]
    return entry


def field_key(raw: Mapping[str, Any]) -> str | None:
    """Contact fields carry no marker (see the module docstring): their keys come from ``read_registry``."""
    return None


def field_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/fields/contact``: alias and type are only sent on create (Mautic ignores or rejects them
    later); ``properties``, when sent, replaces the stored ones as a whole (``setFieldProperties``).

    ``defaultValue`` is sent as each type's form accepts it (measured on 5.1.0 and 7.0.2,
    ``tests/recorded/*/field-defaults``): left out on create when there is none (``""`` is refused for a
    multiselect), ``null`` to clear one, and a list of option values for a multiselect (``"a|b"`` becomes
    ``["a", "b"]``; Mautic stores it joined with ``|`` again)."""
    keys = set(desired) if changed is None else set(changed) - {"alias", "type"}
    body = {k: desired[k] for k in keys if k in desired}
    default = body.get("defaultValue")
    if default is None and changed is None:
        body.pop("defaultValue", None)
    elif default is not None and desired.get("type") == "multiselect":
        body["defaultValue"] = default.split("|")
    return resolve_refs(body, resolve)


FIELDS = Kind(
    name="fields",
    label="field",
    path="/fields/contact",
    list_key="fields",
    one_key="field",
    identity="alias",
    spec_objects=lambda spec: spec.fields,
    render=render_field,
    normalise=normalise_field,
    key_of=field_key,
    payload=field_payload,
    ownership="registry",
    to_spec=field_entry,
    immutable=("alias", "type"),
    delete_warning="Mautic drops the field's column: the value of every contact is lost",
    # Creating a field runs ALTER TABLE leads ADD (Mautic 5.1 LeadBundle/Field/CustomFieldColumn.php L83-117,
    # plus an index for unique identifiers), deleting one DROPs the column. MariaDB's metadata lock runs those
    # one at a time anyway (measured: 4 at once saved 15 %, one waited 11 s) and blocks every contact query
    # meanwhile; a create that outlives the timeout is a lost answer, whose adoption needs a settled table.
    # Writes of other kinds beside them were measured correct (5.1.0 and 7.0.2).
    serial=True,
    verify_hints={
        "isPublished": (
            " (when Mautic creates custom fields in the background, the field is published only after its "
            "cron job mautic:custom-field:create-column has run: run it, then apply again)"
        )
    },
)
