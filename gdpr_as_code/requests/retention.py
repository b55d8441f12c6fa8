"""Retention: contacts kept longer than the spec's data inventory allows, found by the date it counts from.

Each inventory item with ``retention_days`` says how long its data may be kept after ``retention_from``
(``last_active`` by default, or ``date_added`` / ``date_identified``). A contact is past retention when that
date is older than the period and it holds data of the item (a value in one of its ``contact_fields``; an item
naming no fields covers every contact). Found server-side with Mautic's ``where`` filter on the date column,
one paged list call per item, so a large instance is not read whole. A contact never active (``last_active``
empty) counts from the date it was added.

Each becomes a ``retention`` request whose received date is the day its retention ran out, so the request id
is the same on every run and the journal recognises it; ``--erase`` erases them through the same journaled
path as erasure requests (receipt, delete, confirm), without a notification: nobody asked."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from gdpr_as_code.requests.pending import Client, Request, contact_email, parse_time
from gdpr_as_code.spec.model import DataItem, Gdpr

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
    values = (
        ((contact.get("fields") or {}).get("all") or {}) if isinstance(contact.get("fields"), Mapping) else {}
    )
    return any(values.get(alias) not in (None, "") for alias in item.contact_fields)


def _basis(contact: Mapping[str, Any], item: DataItem) -> datetime | None:
    """The date the item's retention counts from (``dateAdded`` for a contact never active)."""
    value = contact.get(COLUMNS[item.retention_from][1])
    if not value and item.retention_from == "last_active":
        value = contact.get("dateAdded")
    return parse_time(str(value)) if value else None


def past_retention(client: Client, gdpr: Gdpr, at: datetime) -> list[Request]:
    """Every contact past the retention of some inventory item, as ``retention`` requests, oldest first."""
    due: dict[int, tuple[datetime, Mapping[str, Any]]] = {}
    for item in gdpr.data_inventory:
        if item.retention_days is None:
            continue
        period = timedelta(days=item.retention_days)
        cutoff = (at - period).strftime("%Y-%m-%d %H:%M:%S")
        column = COLUMNS[item.retention_from][0]
        queries = [_where((column, "lt", cutoff))]
        if item.retention_from == "last_active":
            queries.append(_where(("last_active", "isNull", None), ("date_added", "lt", cutoff)))
        for params in queries:
            for contact in client.list_all("/contacts", "contacts", params=params):
                basis = _basis(contact, item)
                if basis is None or basis + period > at or not _holds(contact, item):
                    continue
                cid = int(contact["id"])
                if cid not in due or basis + period < due[cid][0]:
                    due[cid] = (basis + period, contact)
    return sorted(
        (
            Request("retention", cid, when, None, contact_email(contact), contact)
            for cid, (when, contact) in due.items()
        ),
        key=lambda request: (request.received, request.contact_id),
    )
