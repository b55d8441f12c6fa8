"""Batched reads: what Mautic holds on many contacts, a few calls per 200 contacts instead of one per contact.

Mautic's per-contact endpoints (``/contacts/{id}/segments``, ``/devices``, ``/notes``, ...) cost one call
per person. Its stats API reads the same tables for many contacts at once (``GET /stats/{table}`` with
``where[0][col]=lead_id&where[0][expr]=in&where[0][val]=1,2,3``), and the generic lists of notes and devices
take the same ``where``. So a run reads:

- ``lead_lists_leads``: every segment membership of the listed contacts, with ``date_added`` (the received
  date of a request) and ``manually_removed``; the segment names come from one ``/segments`` list;
- ``form_submissions``: the form results an erasure leaves behind (their ids go into the receipt);
- ``companies_leads`` and ``campaign_leads``: which contacts have any; only those get the per-contact call,
  whose answer carries the company and campaign details;
- ``/notes`` and ``/devices`` with ``where lead in``: the answers of the per-contact lists, but for many.

Measured on real Mautic 5.1.0 and 7.0.2 (recorded in tests/recorded/5.1.0/batch): the stats API answers
``{"total": "N", "stats": [...]}`` with every value a string and null columns left out, 100 rows unless
``limit`` says more, ``start`` pages; ``in`` takes the ids as one comma-separated string (an array is a 500);
a bad column is an HTTP 200 whose body is ``{"errors": [...]}``; the user needs the view permission of the
table (an admin API user has it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdpr_as_code.errors import GdprAsCodeError

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

CHUNK = 200  # ids per ``in`` clause: the URL stays short (under 2 kB) whatever the proxy in front
STATS_PAGE = 1000


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    unique = sorted(set(ids))
    return [unique[start : start + CHUNK] for start in range(0, len(unique), CHUNK)]


def _where_in(column: str, ids: Sequence[int]) -> dict[str, str]:
    return {
        "where[0][col]": column,
        "where[0][expr]": "in",
        "where[0][val]": ",".join(str(i) for i in ids),
    }


def stats(
    client: MauticClient,
    table: str,
    ids: Iterable[int],
    order: Sequence[str],
    equal: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Every row of stats ``table`` whose ``lead_id`` is one of ``ids`` (and each column of ``equal`` has its
    value), paged in a stable ``order``."""
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for index, (column, value) in enumerate((equal or {}).items(), start=1):
        clause = {"col": column, "expr": "eq", "val": value}
        extra.update({f"where[{index}][{key}]": part for key, part in clause.items()})
    for chunk in _chunks(ids):
        params: dict[str, Any] = {**_where_in("lead_id", chunk), **extra, "limit": STATS_PAGE}
        for index, column in enumerate(order):
            params[f"order[{index}][col]"] = column
            params[f"order[{index}][dir]"] = "ASC"
        start = 0
        while True:
            body = client.get(f"/stats/{table}", params={**params, "start": start})
            if "errors" in body or "stats" not in body:
                raise GdprAsCodeError(
                    f"Mautic at {client.name} did not answer the stats table {table} "
                    f"({_error_text(body)}). The API user needs the view permission on contacts "
                    "(an administrator has it); give it and rerun."
                )
            page = list(body.get("stats") or [])
            rows.extend(page)
            start += len(page)
            if not page or start >= int(body.get("total") or 0):
                break
    return rows


def _error_text(body: Mapping[str, Any]) -> str:
    errors = body.get("errors") or []
    if errors and isinstance(errors, list) and isinstance(errors[0], Mapping):
        return str(errors[0].get("message") or "no message")[:200]
    return "it listed its tables instead"


def by_contact(rows: Iterable[Mapping[str, Any]]) -> dict[int, list[Mapping[str, Any]]]:
    grouped: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("lead_id") is not None:
            grouped[int(row["lead_id"])].append(row)
    return grouped


def memberships(client: MauticClient, ids: Iterable[int]) -> dict[int, list[Mapping[str, Any]]]:
    """Each contact's segment membership rows (``leadlist_id``, ``date_added``, ``manually_removed``)."""
    return by_contact(stats(client, "lead_lists_leads", ids, ("lead_id", "leadlist_id")))


def as_segments(
    rows: Iterable[Mapping[str, Any]], names: Mapping[int, Mapping[str, Any]]
) -> tuple[dict[str, Any], ...]:
    """Membership rows as ``/contacts/{id}/segments`` answers them (checked against it on real 5.1.0)."""
    segments = []
    for row in rows:
        segment = names.get(int(row["leadlist_id"])) or {}
        segments.append(
            {
                "id": int(row["leadlist_id"]),
                "name": segment.get("name"),
                "alias": segment.get("alias"),
                "dateAdded": str(row["date_added"]).replace(" ", "T") + "+00:00",  # the DB keeps UTC
                "manuallyRemoved": str(row.get("manually_removed")) == "1",
                "manuallyAdded": str(row.get("manually_added")) == "1",
            }
        )
    return tuple(segments)


def segment_names(client: MauticClient) -> dict[int, Mapping[str, Any]]:
    """Every segment by id (name and alias), one paged list per run."""
    return {int(s["id"]): s for s in client.list_all("/segments", "lists")}


def form_results(client: MauticClient, ids: Iterable[int]) -> dict[int, list[list[int]]]:
    """``[form id, result id]`` of every form result of each contact: they outlive its deletion."""
    rows = stats(client, "form_submissions", ids, ("id",))
    return {
        cid: [[int(r["form_id"]), int(r["id"])] for r in found] for cid, found in by_contact(rows).items()
    }


def having(client: MauticClient, table: str, ids: Iterable[int]) -> set[int]:
    """Which of ``ids`` have any row in ``table`` (``companies_leads``, ``campaign_leads``)."""
    return set(by_contact(stats(client, table, ids, ("lead_id",))))


def listed_by_lead(client: MauticClient, path: str, key: str, ids: Iterable[int]) -> dict[int, list[Any]]:
    """``/notes`` or ``/devices`` of many contacts (``where lead in``), each item as the contact's own list
    answers it (``lead: {}``), grouped by contact, in id order."""
    grouped: dict[int, list[Any]] = defaultdict(list)
    for chunk in _chunks(ids):
        for item in client.list_all(path, key, params=_where_in("lead", chunk)):
            lead = item.get("lead") or {}
            if lead.get("id") is not None:
                grouped[int(lead["id"])].append({**item, "lead": {}})
    return grouped


@dataclass(frozen=True)
class Known:
    """What the batched reads found for one run's contacts (``ids``); a contact outside ``ids`` is read the
    per-contact way (a request that joined after the reads)."""

    ids: frozenset[int] = frozenset()
    notes: Mapping[int, list[Any]] = field(default_factory=dict)
    devices: Mapping[int, list[Any]] = field(default_factory=dict)
    with_companies: frozenset[int] = frozenset()
    with_campaigns: frozenset[int] = frozenset()
    forms: Mapping[int, list[list[int]]] = field(default_factory=dict)


def read_known(client: MauticClient, access: Iterable[int], erasure: Iterable[int]) -> Known:
    """The batched reads a run needs: what an export lists for the ``access`` contacts, the form results of
    the ``erasure`` ones."""
    access, erasure = sorted(set(access)), sorted(set(erasure))
    if not access:
        return Known(frozenset(erasure), forms=form_results(client, erasure) if erasure else {})
    return Known(
        frozenset(access) | frozenset(erasure),
        notes=listed_by_lead(client, "/notes", "notes", access),
        devices=listed_by_lead(client, "/devices", "devices", access),
        with_companies=frozenset(having(client, "companies_leads", access)),
        with_campaigns=frozenset(having(client, "campaign_leads", access)),
        forms=form_results(client, erasure) if erasure else {},
    )
