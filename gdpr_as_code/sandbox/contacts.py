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

Split along its seams: the values and field entries (``contact_values``), writing, upsert, merge and delete
(``contact_write``), the routes (``contact_routes``), the clock every timestamp reads (``clock``,
``/_sandbox/clock``), the query helpers every resource shares (``query``). The list is ``contact_list``,
notes ``notes``, the timeline ``activity``.
"""

from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.contact_values import ENTITY_COLUMNS, FieldSchema, render_fields
from gdpr_as_code.sandbox.store import Store

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


