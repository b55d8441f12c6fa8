"""Contact field values as Mautic stores and answers them: the field list, typed and normalised values, PHP-
serialized properties, the field entries of an answer."""


from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.clock import db_time
from gdpr_as_code.sandbox.php import php_serialize
from gdpr_as_code.sandbox.store import Store

BATCH_MAX = 200
DEFAULT_LIMIT = 30
GROUPS = ("core", "social", "personal", "professional")
# Columns of Mautic's ``leads`` entity (not custom fields): the DNC answer shows those that are set, and the
# submission answers list them all.
# fmt: off
ENTITY_COLUMNS = ("title", "firstname", "lastname", "company", "position", "email", "phone", "mobile",
                  "address1", "address2", "city", "state", "zipcode", "timezone", "country")
# Mautic's fixed core fields (``is_fixed = 1``); fax, website and the social fields are not fixed.
FIXED_FIELDS = {*ENTITY_COLUMNS, "points", "preferred_locale", "last_active", "attribution_date",
                "attribution"}
# fmt: on
DNC_REASONS = {1, 2, 3}
BOOLEAN_TRUE = {"1", "true", "yes", "on"}
BOOLEAN_FALSE = {"0", "false", "no", "off"}


# --- fields and values -------------------------------------------------------------------------------------


def lead_fields(store: Store) -> list[dict[str, Any]]:
    """Published contact fields in Mautic's order (``order``, then id)."""
    rows = [
        f
        for f in store.table("fields").values()
        if f.get("object", "lead") in ("lead", "contact") and f.get("isPublished", True)
    ]
    return sorted(rows, key=lambda f: (f.get("order") or 0, f["id"]))


def options(field: dict[str, Any]) -> dict[str, str]:
    """value -> label of a select/multiselect/lookup field (``properties.list``)."""
    listed = (
        (field.get("properties") or {}).get("list") if isinstance(field.get("properties"), dict) else None
    )
    result: dict[str, str] = {}
    for item in listed or []:
        if isinstance(item, dict):
            result[str(item.get("value"))] = str(item.get("label"))
        else:
            result[str(item)] = str(item)
    return result


# A boolean field's value as each answer types it (real 5.1.0, tests/acceptance): ``true`` in the answer that
# created the contact, ``1`` in a GET or an edit, ``"1"`` (the column's text) in a list.
BOOLEAN_AS = {"fresh": bool, "loaded": int}


def typed(field: dict[str, Any], value: Any, *, floats: bool = False, mode: str = "loaded") -> Any:
    """A number field's value as answered: the contact API casts whole numbers to int; the entity serializer
    (DNC answers, a note's contact) keeps the float the column holds. Booleans: ``BOOLEAN_AS``. Other
    values stay as stored."""
    if field["type"] == "boolean" and value not in (None, "") and mode in BOOLEAN_AS:
        return BOOLEAN_AS[mode](int(value))
    if field["type"] == "number" and value not in (None, ""):
        try:
            number = float(value)
        except (TypeError, ValueError):
            return value
        return int(number) if number.is_integer() and not floats else number
    return value


def normalized(field: dict[str, Any], value: Any, *, floats: bool = False) -> Any:
    """``normalizedValue``: labels for choices, casts for numbers, ``""`` for empty."""
    if value is None or value == "":
        return ""
    kind = field["type"]
    if kind == "number":
        return typed(field, value, floats=floats)
    if kind in ("select", "multiselect"):
        labels = options(field)
        return "|".join(labels.get(part, part) for part in str(value).split("|"))
    if kind == "boolean":
        props = field.get("properties") or {}
        return props.get("yes", "Yes") if str(value) == "1" else props.get("no", "No")
    return value


def static_entry(field: dict[str, Any], mode: str) -> dict[str, Any]:
    """The part of a ``contact.fields`` entry that does not depend on the contact (modes: see top)."""
    props = field.get("properties") or []
    if mode == "fresh":
        return {"id": field["id"], "group": field.get("group", "core"), "label": field["label"],
                "alias": field["alias"], "type": field["type"], "properties": props if props else []}
    default = field.get("defaultValue")
    entry = {
        "id": str(field["id"]), "label": field["label"], "alias": field["alias"], "type": field["type"],
        "group": field.get("group", "core"), "object": "lead",
        "is_fixed": "1" if field.get("isFixed", field["alias"] in FIXED_FIELDS) else "0",
        "properties": php_serialize(props if props else []),
        "default_value": None if default is None else str(default),
    }
    return {k: v for k, v in entry.items() if v is not None} if mode == "dnc" else entry


class FieldSchema:
    """The published contact fields and their static entry parts per mode, computed once per request: a page
    of contacts must not re-sort and re-serialize every field for every contact."""

    def __init__(self, store: Store) -> None:
        self.fields = lead_fields(store)
        self._static: dict[str, list[dict[str, Any]]] = {}

    def entries(self, mode: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        if mode not in self._static:
            self._static[mode] = [static_entry(f, mode) for f in self.fields]
        return list(zip(self.fields, self._static[mode], strict=True))


def render_fields(
    store: Store, row: dict[str, Any], mode: str, schema: FieldSchema | None = None
) -> dict[str, Any]:
    """``contact.fields``: entries by group, plus ``all`` (alias -> value), which only the API's contact
    controller adds (not the entity serializer of DNC answers and notes)."""
    groups: dict[str, dict[str, Any]] = {g: {} for g in GROUPS}
    everything: dict[str, Any] = {"id": str(row["id"])}
    values = row["values"]
    floats = mode in ("entity", "dnc")
    for field, static in (schema or FieldSchema(store)).entries("loaded" if mode == "listed" else mode):
        alias = field["alias"]
        value = row["points"] if alias == "points" else values.get(alias)
        if alias == "last_active":
            value = db_time(row.get("lastActive"))
        shown = None if mode == "fresh" and alias == "points" else value
        if mode == "fresh":  # the create answer casts booleans only
            value_shown = typed(field, shown, mode=mode) if field["type"] == "boolean" else shown
        else:
            value_shown = typed(field, shown, floats=floats, mode=mode)
        entry = {**static, "value": value_shown, "normalizedValue": normalized(field, shown, floats=floats)}
        if mode == "dnc" and shown is None:
            del entry["value"]
        groups.setdefault(field.get("group", "core"), {})[alias] = entry
        everything[alias] = typed(field, value, mode=mode)
    result: dict[str, Any] = {g: (entries if entries else []) for g, entries in groups.items()}
    if mode in ("fresh", "loaded", "listed"):
        result["all"] = everything
    return result


