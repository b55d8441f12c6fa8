"""Retention: contacts kept longer than the spec's data inventory allows, found by the date it counts from.

Each inventory item with ``retention_days`` says how long its data may be kept after ``retention_from``
(``last_active`` by default, or ``date_added`` / ``date_identified``). A contact is past retention when every
item it holds data of (a value in one of the item's ``contact_fields``; an item naming no fields covers every
contact) is past its period: erasing deletes the whole contact, so the longest period decides; an item without
a period (kept as long as its purpose lasts) never falls due. Candidates are found server-side with Mautic's
``where`` filter on the date column (one paged list call per column, with its shortest period), so a large
instance is not read whole. A contact never active (``last_active`` empty) counts from the date it was added.

Each becomes a ``retention`` request whose received date is the day its retention ran out, so the request id
is the same on every run and the journal recognises it; ``--erase`` erases them through the same journaled
path as erasure requests (receipt, delete, confirm), without a notification: nobody asked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gdpr_as_code.dsr.pending import (
    CONTACT_PAGE,
    PendingRequest,
    contact_email,
    field_values,
    parse_time,
)
from gdpr_as_code.spec.gdpr_model import DataItem, Gdpr

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

# retention_from → (Mautic column for ``where``, key in the contact representation)
COLUMNS = {
    "last_active": ("last_active", "lastActive"),
    "date_added": ("date_added", "dateAdded"),
    "date_identified": ("date_identified", "dateIdentified"),
}


def _where(*clauses: tuple[str, str, str | None]) -> dict[str, str]:
    params: dict[str, str] = {}
    for index, (column, expr, value) in enumerate(clauses):
        params[f"where[{index}][col]"] = column
        params[f"where[{index}][expr]"] = expr
        if value is not None:
            params[f"where[{index}][val]"] = value
    return params


def _holds(contact: Mapping[str, Any], item: DataItem) -> bool:
    if not item.contact_fields:
        return True
    values = field_values(contact)
    return any(values.get(alias) not in (None, "") for alias in item.contact_fields)


def _basis(contact: Mapping[str, Any], item: DataItem) -> datetime | None:
    """The date the item's retention counts from (``dateAdded`` for a contact never active)."""
    value = contact.get(COLUMNS[item.retention_from][1])
    if not value and item.retention_from == "last_active":
        value = contact.get("dateAdded")
    return parse_time(str(value)) if value else None


def past_retention(client: MauticClient, gdpr: Gdpr, at: datetime) -> list[PendingRequest]:
    """Every contact whose data is all past its retention, as ``retention`` requests, oldest first.

    A contact is due when every inventory item it holds data of is past its period (the longest one decides:
    data still rightly kept is never erased early); an item without ``retention_days`` never falls due, so a
    contact holding such data is not listed. The server-side filter is the shortest period per date column,
    a superset; the exact rule is applied here.
    """
    shortest: dict[str, int] = {}
    for item in gdpr.data_inventory:
        if item.retention_days is not None:
            column = item.retention_from
            shortest[column] = min(shortest.get(column, item.retention_days), item.retention_days)
    candidates: dict[int, Mapping[str, Any]] = {}
    for retention_from, days in shortest.items():
        cutoff = (at - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")
        column = COLUMNS[retention_from][0]
        queries = [_where((column, "lt", cutoff))]
        if retention_from == "last_active":
            queries.append(_where(("last_active", "isNull", None), ("date_added", "lt", cutoff)))
        for params in queries:
            for contact in client.list_all("/contacts", "contacts", params=params, page_size=CONTACT_PAGE):
                candidates[int(contact["id"])] = contact
    found = []
    for cid, contact in candidates.items():
        held = [item for item in gdpr.data_inventory if _holds(contact, item)]
        ends = [_end(contact, item) for item in held]
        if not held or None in ends:
            continue
        due = max(end for end in ends if end is not None)
        if due <= at:
            found.append(PendingRequest("retention", cid, due, None, contact_email(contact), contact))
    return sorted(found, key=lambda request: (request.received, request.contact_id))


def _end(contact: Mapping[str, Any], item: DataItem) -> datetime | None:
    """When the item's retention of this contact's data runs out; None: never (no period, or no date)."""
    basis = _basis(contact, item)
    if basis is None or item.retention_days is None:
        return None
    return basis + timedelta(days=item.retention_days)
