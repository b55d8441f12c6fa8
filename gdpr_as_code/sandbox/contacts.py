"""Contacts (``/api/contacts``) as Mautic 5.1 answers them (recorded crud/055-059, flows/051-159, 230-233).

A contact row keeps its field values by alias in ``values`` (strings as Mautic's columns hold them;
multiselect as ``a|b``). How it is answered depends on how Mautic loaded the entity, and clients see the
difference:

- ``fresh``: the answer to the request that created it (201): field entries with int ids and decoded
  properties;
- ``loaded``: every other answer of the contact API: field entries as DBAL rows (string ids, PHP-serialized
  properties, ``object``/``is_fixed``/``default_value``), whole numbers cast to int, ``utmtags: []``;
- ``entity``: the plain entity serializer (a note's contact): as ``loaded`` but numbers stay floats and there
  is no ``fields.all``;
- ``dnc``: the do-not-contact endpoints: ``entity`` without any null;
- ``minimal``: list with ``minimal=true``: only the keys up to ``fields``.

Also here: get, the upsert on unique identifiers, edit (which merges a contact sharing an identifier),
delete, batches, do-not-contact, devices, the contact's companies/campaigns, query helpers the other
resources share (paging, LIKE, batch ids), and the sandbox clock (``/_sandbox/clock``) that every timestamp
of the contact side reads, so a test can pin time. The list is ``contact_list``, notes ``notes``, the
timeline ``activity``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from gdpr_as_code.sandbox.http import (
    ApiError,
    Request,
    Response,
    controller_error,
    kernel_error,
    not_found,
    truthy,
    validation_error,
)
from gdpr_as_code.sandbox.routing import route
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
IP_DETAILS = {
    "city": "",
    "region": "",
    "zipcode": "",
    "country": "",
    "latitude": "",
    "longitude": "",
    "isp": "",
    "organization": "",
    "timezone": "",
    "extra": "",
}


# --- clock -------------------------------------------------------------------------------------------------


def now(store: Store) -> datetime:
    """The sandbox's current time: real UTC time, or the instant pinned with ``POST /_sandbox/clock``."""
    pinned = store.meta.get("clock")
    if pinned:
        return datetime.fromisoformat(pinned)
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime) -> str:
    """Mautic's API date format (PHP ``c``)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def db_time(stamp: str | None) -> str | None:
    """An API date as the DB column holds it (``2026-11-29 05:58:38``), as ``fields.all`` shows dates."""
    return stamp[:19].replace("T", " ") if stamp else None


@route("POST", "/_sandbox/clock")
def pin_clock(req: Request) -> Response:
    """Pin the clock (``{"now": "2026-11-29T05:58:38+00:00"}``) or release it (``{"now": null}``)."""
    data = req.data if isinstance(req.data, dict) else {}
    value = data.get("now")
    if value is None:
        req.store.meta.pop("clock", None)
        return Response(200, {"now": None}, controller=False)
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return Response(
            400, {"error": 'send {"now": "<ISO 8601 time with offset>"} or {"now": null}'}, controller=False
        )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    req.store.meta["clock"] = moment.isoformat()
    return Response(200, {"now": iso(moment)}, controller=False)


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


def php_serialize(value: Any) -> str:
    """PHP's ``serialize()``, as Mautic's DBAL rows show field properties (``a:0:{}``)."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    items = enumerate(value) if isinstance(value, list) else value.items()
    body = "".join(php_serialize(k if not str(k).isdigit() else int(k)) + php_serialize(v) for k, v in items)
    return f"a:{len(value)}:{{{body}}}"


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


# --- rendering ---------------------------------------------------------------------------------------------


def ip_entries(store: Store, row: dict[str, Any]) -> list[dict[str, Any]]:
    ips = store.table("ip_addresses")
    return [
        {"ipAddress": ips[i]["ipAddress"], "id": i, "ipDetails": dict(IP_DETAILS)}
        for i in row["ipAddresses"]
        if i in ips
    ]


def render(
    store: Store,
    row: dict[str, Any],
    mode: str = "loaded",
    minimal: bool = False,
    schema: FieldSchema | None = None,
) -> dict[str, Any]:
    """A contact as Mautic serializes it (see the module docstring for ``mode``)."""
    head = {
        "isPublished": True,
        "dateAdded": row["dateAdded"],
        "dateModified": row["dateModified"],
        "createdBy": row["createdBy"],
        "createdByUser": row["createdByUser"],
        "modifiedBy": row["modifiedBy"],
        "modifiedByUser": row["modifiedByUser"],
        "id": row["id"],
        "points": row["points"],
        "color": None,
    }
    if mode == "dnc":
        head = {k: v for k, v in head.items() if v is not None}
        head.update({c: row["values"][c] for c in ENTITY_COLUMNS if row["values"].get(c) not in (None, "")})
    head["fields"] = render_fields(store, row, mode, schema)
    if minimal:
        return head
    tags = store.table("tags")
    tail = {
        "lastActive": row["lastActive"],
        "owner": None,
        "ipAddresses": ip_entries(store, row),
        "tags": [dict(tags[t]) for t in row["tags"] if t in tags],
        "utmtags": None if mode == "fresh" else [],
        "stage": None,
        "dateIdentified": row["dateIdentified"],
        "preferredProfileImage": row["preferredProfileImage"],
        "doNotContact": [dnc_entry(d, mode) for d in row["doNotContact"]],
        "frequencyRules": [],
    }
    if mode == "dnc":
        tail = {k: v for k, v in tail.items() if v is not None}
    return {**head, **tail}


def dnc_entry(dnc: dict[str, Any], mode: str) -> dict[str, Any]:
    """A do-not-contact record: the list group of a GET, or the whole entity (no nulls) in DNC answers."""
    if mode == "dnc":
        entry = {
            "id": dnc["id"],
            "dateAdded": dnc["dateAdded"],
            "reason": dnc["reason"],
            "comments": dnc["comments"],
            "channel": dnc["channel"],
            "channelId": dnc["channelId"],
        }
        return {k: v for k, v in entry.items() if v is not None}
    return {
        "id": dnc["id"],
        "reason": dnc["reason"],
        "comments": dnc["comments"],
        "channel": dnc["channel"],
        "channelId": dnc["channelId"],
    }


def contact_columns(row: dict[str, Any]) -> dict[str, Any]:
    """The contact as a submission answer embeds it: the entity columns, without custom fields."""
    return {
        "id": row["id"],
        "points": row["points"],
        "color": None,
        **{c: row["values"].get(c) for c in ENTITY_COLUMNS},
    }


# --- writing -----------------------------------------------------------------------------------------------


def user_stamp(req: Request) -> tuple[int | None, str | None]:
    """``createdBy``/``createdByUser`` of the caller; a public request (no user) has no id, name " "."""
    user = req.user or {}
    if not user:
        return None, " "
    return user.get("id"), f"{user.get('firstName', '')} {user.get('lastName', '')}".strip()


def new_row(store: Store, req: Request | None) -> dict[str, Any]:
    """A contact row with Mautic's defaults (not yet stored)."""
    by, name = user_stamp(req) if req is not None else (None, None)
    return {
        "id": 0,
        "dateAdded": iso(now(store)),
        "dateModified": None,
        "createdBy": by,
        "createdByUser": name,
        "modifiedBy": None,
        "modifiedByUser": None,
        "points": 0,
        "values": {},
        "lastActive": None,
        "ipAddresses": [],
        "tags": [],
        "dateIdentified": None,
        "preferredProfileImage": None,
        "doNotContact": [],
    }


def touch(store: Store, row: dict[str, Any], req: Request | None, *, changed: bool = True) -> None:
    """Record a save: the model always sets ``modifiedBy``; ``dateModified`` comes from Doctrine's preUpdate,
    which only runs when a column changed (flows/143: an upsert without changes keeps it null)."""
    if changed:
        row["dateModified"] = iso(now(store))
    if req is not None:
        row["modifiedBy"], row["modifiedByUser"] = user_stamp(req)


def clean_values(store: Store, data: dict[str, Any], *, overwrite_blank: bool) -> tuple[dict[str, Any], dict]:
    """Field values of a request body, validated as Mautic's contact form does; ``(values, errors)``."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for field in lead_fields(store):
        alias = field["alias"]
        if alias not in data or alias in ("points", "last_active"):
            continue
        raw = data[alias]
        if isinstance(raw, list):
            raw = "|".join(str(v) for v in raw)
        value = None if raw is None else str(raw)
        if value in (None, "") and not overwrite_blank:
            continue  # POST/PATCH never blank a field unless overwriteWithBlank (CONTRACT §8.2)
        problem = value_problem(field, value) if value else None
        if problem:
            errors[alias] = [problem]
            continue
        if value and field["type"] == "boolean":
            value = "1" if value.lower() in BOOLEAN_TRUE else "0"
        if value and field["type"] == "number" and float(value) == 0 and not overwrite_blank:
            continue  # numeric 0 counts as blank too (setCustomFieldValues)
        values[alias] = value or None
    return values, errors


def value_problem(field: dict[str, Any], value: str) -> str | None:
    """Why the contact form refuses ``value`` for ``field``, or None (Mautic's messages)."""
    kind = field["type"]
    if kind in ("select", "multiselect"):
        allowed = options(field)
        parts = value.split("|") if kind == "multiselect" else [value]
        return "This value is not valid." if any(part not in allowed for part in parts) else None
    if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
        return f"{value} is invalid."
    if kind == "number":
        try:
            float(value)
        except ValueError:
            return "This value is not valid."
    if kind == "boolean" and value.lower() not in BOOLEAN_TRUE | BOOLEAN_FALSE:
        return "This value is not valid."
    return None


def as_list(value: Any) -> list[Any]:
    """A PHP-parsed query value as a list: ``x[]=a`` gives a list, ``x[0]=a`` a dict, ``x=a`` a string."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [] if value in (None, "") else [value]


def apply_tags(store: Store, row: dict[str, Any], tags: Any) -> None:
    """``tags``: a list or CSV; ``-name`` removes; tags are created on first use (Mautic's modifyTags)."""
    names = tags.split(",") if isinstance(tags, str) else as_list(tags)
    by_name = {t["tag"]: t["id"] for t in store.table("tags").values()}
    for name in (str(n).strip() for n in names):
        if not name:
            continue
        if name.startswith("-"):
            tag_id = by_name.get(name[1:])
            if tag_id in row["tags"]:
                row["tags"].remove(tag_id)
            continue
        if name not in by_name:
            by_name[name] = store.insert("tags", {"tag": name, "description": None})
        if by_name[name] not in row["tags"]:
            row["tags"].append(by_name[name])


def ip_id(store: Store, address: str) -> int:
    """The id of an IP address row (one per distinct address, as Mautic's ``ip_addresses``)."""
    for row in store.table("ip_addresses").values():
        if row["ipAddress"] == address:
            return int(row["id"])
    return store.insert("ip_addresses", {"ipAddress": address})


def write(store: Store, row: dict[str, Any], data: dict[str, Any], *, put: bool = False) -> None:
    """Apply a validated request body to ``row`` (values, points, tags, identification)."""
    overwrite = put or truthy(data.get("overwriteWithBlank", False))
    values, errors = clean_values(store, data, overwrite_blank=overwrite)
    if errors:
        raise validation_error(errors)
    if put:
        row["values"] = {}
    row["values"].update(values)
    points = data.get("points")
    if points not in (None, "", 0, "0"):
        try:
            row["points"] = int(float(points))
        except (TypeError, ValueError):
            raise validation_error({"points": ["This value is not valid."]}) from None
    if "tags" in data:
        apply_tags(store, row, data["tags"])
    if data.get("ipAddress"):  # real 5.1.0 and 7.0.2 record an address the API caller names, none otherwise
        address = ip_id(store, str(data["ipAddress"]))
        if address not in row["ipAddresses"]:
            row["ipAddresses"].append(address)
    if row["dateIdentified"] is None and any(
        row["values"].get(a) for a in ("email", "firstname", "lastname")
    ):
        row["dateIdentified"] = iso(now(store))


def unique_fields(store: Store) -> list[str]:
    """Aliases of the unique identifier fields (email by default)."""
    flagged = [
        f["alias"] for f in lead_fields(store) if f.get("isUniqueIdentifier") or f.get("isUniqueIdentifer")
    ]
    return flagged or ["email"]


Identifiers = dict[tuple[str, str], dict[str, Any]]


def identifier_index(store: Store) -> Identifiers:
    """(alias, lower-cased value) -> oldest contact, for the unique identifier fields: what the database's
    index gives Mautic, built once per batch request so a batch of 200 is not 200 scans."""
    aliases = unique_fields(store)
    index: Identifiers = {}
    for row in store.table("contacts").values():
        remember(index, aliases, row)
    return index


def remember(index: Identifiers, aliases: list[str], row: dict[str, Any]) -> None:
    for alias in aliases:
        if row["values"].get(alias):
            index.setdefault((alias, str(row["values"][alias]).lower()), row)


def find_duplicate(
    store: Store, values: dict[str, Any], exclude: int | None = None, index: Identifiers | None = None
) -> dict[str, Any] | None:
    """The oldest contact sharing a unique identifier (OR-ed, case-insensitive as MariaDB compares)."""
    keys = {a: str(values[a]).lower() for a in unique_fields(store) if values.get(a)}
    if not keys:
        return None
    if index is not None:
        found = [index[key] for key in keys.items() if key in index and index[key]["id"] != exclude]
        return min(found, key=lambda r: r["id"]) if found else None
    for row in store.table("contacts").values():
        if row["id"] != exclude and any(
            str(row["values"].get(a) or "").lower() == v for a, v in keys.items()
        ):
            return row
    return None


def create_or_update(
    store: Store, req: Request, data: dict[str, Any], index: Identifiers | None = None
) -> tuple[dict[str, Any], int]:
    """``POST /contacts/new`` semantics: update the duplicate on unique identifiers (200) or create (201)."""
    values, errors = clean_values(store, data, overwrite_blank=False)
    if errors:
        raise validation_error(errors)
    row = find_duplicate(store, values, index=index)
    status = 200
    if row is not None:
        before = repr((row["values"], row["points"], row["tags"]))
        write(store, row, data)
        changed = repr((row["values"], row["points"], row["tags"])) != before
        touch(store, row, req, changed=changed)
    else:
        row, status = new_row(store, req), 201
        write(store, row, data)
        store.insert("contacts", row)
    if index is not None:
        remember(index, unique_fields(store), row)
    return row, status


def get_contact(store: Store, contact_id: int) -> dict[str, Any]:
    row = store.table("contacts").get(contact_id)
    if row is None:
        raise not_found()
    return row


def delete_contact(store: Store, row: dict[str, Any], *, batch: bool = False) -> dict[str, Any]:
    """Hard delete as Mautic does: memberships and notes go, submissions and stats keep a null contact.

    The single delete answers the entity after Doctrine removed it (``id`` and ``fields.all.id`` null); the
    batch delete answers each contact as loaded before, ids intact (flows/130 versus 133)."""
    answer = render(store, row)
    if not batch:
        answer["id"] = None
        answer["fields"]["all"]["id"] = None
    contact_id = row["id"]
    del store.table("contacts")[contact_id]
    for table in ("segment_members", "notes", "devices", "lead_events"):
        rows = store.table(table)
        for key in [k for k, v in rows.items() if v.get("contact") == contact_id]:
            del rows[key]
    for table in ("submissions", "email_stats"):
        for other in store.table(table).values():
            if other.get("contact") == contact_id:
                other["contact"] = None
    return answer


def merge_into(store: Store, winner: dict[str, Any], loser: dict[str, Any]) -> None:
    """ContactMerger: the loser's history moves to the winner, empty values are filled, the loser goes."""
    for alias, value in loser["values"].items():
        if winner["values"].get(alias) in (None, "") and value not in (None, ""):
            winner["values"][alias] = value
    for table in ("segment_members", "lead_events", "submissions", "email_stats", "notes", "devices"):
        for row in store.table(table).values():
            if row.get("contact") == loser["id"]:
                row["contact"] = winner["id"]
    winner["dateIdentified"] = winner["dateIdentified"] or loser["dateIdentified"]
    del store.table("contacts")[loser["id"]]


def edit(store: Store, req: Request, row: dict[str, Any], *, put: bool) -> None:
    """PATCH/PUT of an existing contact; unique identifiers that now match another contact merge that one
    into this one (LeadApiController::preSaveEntity, CONTRACT §8.2)."""
    write(store, row, body_object(req), put=put)
    touch(store, row, req)
    other = find_duplicate(store, row["values"], exclude=row["id"])
    if other is not None:
        merge_into(store, row, other)


def created_at(path: str) -> dict[str, str]:
    """The ``Location`` header Mautic's API sends with a 201 (a path, flows/199)."""
    return {"Location": path}


def body_object(req: Request) -> dict[str, Any]:
    data = req.data
    return data if isinstance(data, dict) else {}


# --- query helpers (shared with the other resources) ------------------------------------------------------


def like(value: Any, pattern: str) -> bool:
    """SQL LIKE, case-insensitive as MariaDB's default collation: ``%`` any run, ``_`` one character."""
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, compared as MariaDB would for a column of either kind."""
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value).lower())


def paging(query: dict[str, Any]) -> tuple[int, int | None]:
    """``start``/``limit`` as Mautic's list reads them; what MariaDB or DBAL reject is a 500 there too."""
    start_raw, limit_raw = query.get("start", 0), query.get("limit", DEFAULT_LIMIT)
    try:
        start = int(str(start_raw or 0))
        limit = int(str(limit_raw)) if limit_raw not in ("", None) else 0
    except ValueError:
        raise kernel_error(500) from None  # flows/155: limit=abc is a TypeError in DBAL
    if start < 0 or limit < 0:
        raise kernel_error(500)  # flows/152: LIMIT -1 is an SQL syntax error; a negative offset too
    return start, (limit or None)



# --- single contacts and batches -----------------------------------------------------------------------


@route("GET", "/api/contacts/{id}")
def get_one(req: Request) -> Response:
    return Response(200, {"contact": render(req.store, get_contact(req.store, req.int_arg()))})


@route("POST", "/api/contacts/new")
def new_contact(req: Request) -> Response:
    row, status = create_or_update(req.store, req, body_object(req))
    body = {"contact": render(req.store, row, "fresh" if status == 201 else "loaded")}
    return Response(status, body, created_at(f"/api/contacts/{row['id']}") if status == 201 else {})


@route("PATCH", "/api/contacts/{id}/edit")
def patch_contact(req: Request) -> Response:
    row = get_contact(req.store, req.int_arg())
    edit(req.store, req, row, put=False)
    return Response(200, {"contact": render(req.store, row)})


@route("PUT", "/api/contacts/{id}/edit")
def put_contact(req: Request) -> Response:
    """PUT overwrites with blanks; on a missing id it creates a new contact with a new id (201)."""
    store = req.store
    row = store.table("contacts").get(req.int_arg())
    if row is None:
        row = new_row(store, req)
        write(store, row, body_object(req), put=True)
        store.insert("contacts", row)
        location = created_at(f"/api/contacts/{row['id']}")
        return Response(201, {"contact": render(store, row, "fresh")}, location)
    edit(store, req, row, put=True)
    return Response(200, {"contact": render(store, row)})


@route("DELETE", "/api/contacts/{id}/delete")
def delete_one(req: Request) -> Response:
    row = get_contact(req.store, req.int_arg())
    return Response(200, {"contact": delete_contact(req.store, row)})


def batch_items(req: Request) -> dict[Any, Any]:
    """The items of a batch body by their keys; a single object or too many items fail as in Mautic."""
    data = req.data
    if not isinstance(data, (list, dict)):
        raise kernel_error(500)  # a JSON scalar body fails in the controller as well
    items: dict[Any, Any] = dict(enumerate(data)) if isinstance(data, list) else dict(data)
    if any(not isinstance(v, dict) for v in items.values()):
        raise kernel_error(500)  # flows/146: a single object is a TypeError in getNewEntity()
    if len(items) > BATCH_MAX:
        raise controller_error(500, f"A max of {BATCH_MAX} entities are supported at a time.")
    return items


@route("POST", "/api/contacts/batch/new")
def batch_new(req: Request) -> Response:
    """Each item is an upsert; answers 201 with per-item ``statusCodes`` and ``errors`` by item key."""
    store = req.store
    items = batch_items(req)
    listed = isinstance(req.data, list)
    contacts: dict[Any, Any] = {}
    codes: dict[Any, int] = {}
    errors: dict[str, Any] = {}
    index, schema = identifier_index(store), FieldSchema(store)
    for key, item in items.items():
        try:
            row, status = create_or_update(store, req, item, index)
        except ApiError as err:
            error = err.response.body["errors"][0]
            errors[str(key)] = {**error, "type": None}
            codes[key] = err.response.status
            continue
        contacts[key] = render(store, row, "fresh" if status == 201 else "loaded", schema=schema)
        codes[key] = status
    body: dict[str, Any] = {
        "contacts": list(contacts.values())
        if listed and len(contacts) == len(items)
        else {str(k): v for k, v in contacts.items()},
        "statusCodes": list(codes.values()) if listed else {str(k): v for k, v in codes.items()},
    }
    if errors:
        body["errors"] = errors
    return Response(201, body)


def query_ids(query: dict[str, Any]) -> list[int]:
    """``?ids=1,2`` or ``?ids[]=1&ids[]=2``; anything not numeric is dropped (the body is never read)."""
    raw = query.get("ids")
    parts = raw.split(",") if isinstance(raw, str) else as_list(raw)
    return [int(p) for p in (str(p).strip() for p in parts) if p.isdigit()]


@route("DELETE", "/api/contacts/batch/delete")
def batch_delete(req: Request) -> Response:
    ids = query_ids(req.query)
    if len(ids) > BATCH_MAX:
        raise controller_error(500, f"A max of {BATCH_MAX} entities are supported at a time.")
    table = req.store.table("contacts")
    deleted = [delete_contact(req.store, table[i], batch=True) for i in ids if i in table]
    return Response(200, {"contacts": deleted})


# --- do not contact ----------------------------------------------------------------------------------------


@route("POST", "/api/contacts/{id}/dnc/{channel:[a-z_]+}/add")
def dnc_add(req: Request) -> Response:
    store = req.store
    row = get_contact(store, req.int_arg())
    data = body_object(req)
    reason = int(data.get("reason", 3) or 0) if str(data.get("reason", 3)).isdigit() else 0
    if reason not in DNC_REASONS:
        raise controller_error(400, "Invalid reason code given")
    channel = req.path_args["channel"]
    if not any(d["channel"] == channel for d in row["doNotContact"]):
        row["doNotContact"].append(
            {
                "id": store.next_id("dnc"),
                "dateAdded": iso(now(store)),
                "reason": reason,
                "comments": str(data.get("comments") or ""),
                "channel": channel,
                "channelId": data.get("channelId"),
            }
        )
        touch(store, row, req)
    return Response(200, {"contact": render(store, row, "dnc")})


@route("POST", "/api/contacts/{id}/dnc/{channel:[a-z_]+}/remove")
def dnc_remove(req: Request) -> Response:
    store = req.store
    row = get_contact(store, req.int_arg())
    channel = req.path_args["channel"]
    found = [d for d in row["doNotContact"] if d["channel"] == channel]
    row["doNotContact"] = [d for d in row["doNotContact"] if d["channel"] != channel]
    if found:
        touch(store, row, req)
    return Response(200, {"recordFound": bool(found), "contact": render(store, row, "dnc")})


# --- other contact sub-resources ---------------------------------------------------------------------------


@route("GET", "/api/contacts/{id}/devices")
def contact_devices(req: Request) -> Response:
    contact = get_contact(req.store, req.int_arg())
    devices = [
        {"id": d["id"], "lead": {}, **d["details"]}
        for d in req.store.table("devices").values()
        if d["contact"] == contact["id"]
    ]
    return Response(200, {"total": len(devices), "devices": devices})


@route("GET", "/api/contacts/{id}/companies")
def contact_companies(req: Request) -> Response:
    """The sandbox has no companies: the answer for a contact without any."""
    get_contact(req.store, req.int_arg())
    return Response(200, {"total": 0, "companies": []})


@route("GET", "/api/contacts/{id}/campaigns")
def contact_campaigns(req: Request) -> Response:
    """The sandbox has no campaigns: the answer for a contact in none."""
    get_contact(req.store, req.int_arg())
    return Response(200, {"total": 0, "campaigns": []})


def device_details(user_agent: str) -> dict[str, str]:
    """What Mautic's device detector reports for a browser, reduced to the operating system and platform."""
    systems = (
        ("Windows", "Windows", "WIN"),
        ("Android", "Android", "AND"),
        ("iPhone", "iOS", "IOS"),
        ("Mac OS", "Mac", "MAC"),
        ("Linux", "GNU/Linux", "LIN"),
    )
    name, short = next(((n, s) for marker, n, s in systems if marker in user_agent), ("", ""))
    mobile = any(m in user_agent for m in ("Mobile", "iPhone", "Android"))
    platform = "x64" if any(m in user_agent for m in ("x86_64", "Win64", "x64")) else ""
    return {
        "device": "smartphone" if mobile else "desktop",
        "deviceBrand": "",
        "deviceModel": "",
        "deviceOsName": name,
        "deviceOsShortName": short,
        "deviceOsVersion": "",
        "deviceOsPlatform": platform,
    }


