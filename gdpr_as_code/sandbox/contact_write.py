"""Writing contacts as Mautic's ``LeadModel`` does: new rows, cleaned values, tags, the upsert on unique
identifiers, the merge of a contact sharing an identifier, delete."""


from __future__ import annotations

import re
from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_values import BOOLEAN_FALSE, BOOLEAN_TRUE, lead_fields, options
from gdpr_as_code.sandbox.contacts import render
from gdpr_as_code.sandbox.http import (
    Request,
    not_found,
    truthy,
    validation_error,
)
from gdpr_as_code.sandbox.store import Store

# --- writing -----------------------------------------------------------------------------------------------


def user_stamp(req: Request) -> tuple[int | None, str | None]:
    """``createdBy``/``createdByUser`` of the caller; a public request (no user) has no id, name " "."""
    user = req.user or {}
    if not user:
        return None, " "
    return user.get("id"), f"{user.get('firstName', '')} {user.get('lastName', '')}".strip()


def new_row(store: Store, req: Request, *, tracked: bool = False) -> dict[str, Any]:
    """A contact row with Mautic's defaults (not yet stored); ``tracked``: made by the tracking of a public
    request, so by nobody (no user, no name)."""
    by, name = (None, None) if tracked else user_stamp(req)
    # 7.0 stamps a create as its first modification, except a visitor's tracking row (flows/052)
    first = req.app.profile.stamps_modified_on_create and not tracked
    return {
        "id": 0,
        "dateAdded": iso(now(store)),
        "dateModified": iso(now(store)) if first else None,
        "createdBy": by,
        "createdByUser": name,
        "modifiedBy": by if first else None,
        "modifiedByUser": name if first else None,
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
    batch delete answers each contact as a list does, ids intact (flows/130 versus 133; its booleans are the
    column's text, as real 5.1.0 answered in tests/acceptance)."""
    answer = render(store, row, "listed" if batch else "loaded")
    if not batch:
        answer["id"] = None
        answer["fields"]["all"]["id"] = None
    contact_id = row["id"]
    del store.table("contacts")[contact_id]
    for table in ("segment_members", "notes", "devices", "lead_events"):
        rows = store.table(table)
        for key in [k for k, v in rows.items() if v.get("contact") == contact_id]:
            del rows[key]
    for table in ("submissions", "email_stats", "page_hits"):  # their lead_id is ON DELETE SET NULL
        for other in store.table(table).values():
            if other.get("contact") == contact_id:
                other["contact"] = None
                if table == "page_hits":
                    other["device"] = None  # the device went with the contact (recorded, verification)
    return answer


def merge_into(store: Store, winner: dict[str, Any], loser: dict[str, Any]) -> None:
    """ContactMerger: the loser's history moves to the winner, empty values are filled, the loser goes."""
    for alias, value in loser["values"].items():
        if winner["values"].get(alias) in (None, "") and value not in (None, ""):
            winner["values"][alias] = value
    for table in ("segment_members", "lead_events", "submissions", "email_stats", "notes", "devices",
                  "page_hits"):
        for row in store.table(table).values():
            if row.get("contact") == loser["id"]:
                row["contact"] = winner["id"]
    winner["dateIdentified"] = winner["dateIdentified"] or loser["dateIdentified"]
    del store.table("contacts")[loser["id"]]
    store.table("merged")[loser["id"]] = {"id": loser["id"], "into": winner["id"]}
    for record in store.table("merged").values():  # what was merged into the loser now leads to the winner
        if record["into"] == loser["id"]:
            record["into"] = winner["id"]


def merged_to(store: Store, contact_id: int) -> int:
    """The id a merged-away contact lives on as (``MergeRecord``); any other id as it is."""
    record = store.table("merged").get(contact_id)
    return int(record["into"]) if record else contact_id


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


