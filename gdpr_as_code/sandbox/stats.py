"""The stats API (``GET /api/stats/{table}``) over the tables the sandbox keeps, as Mautic 5.1 answers it.

Measured on real 5.1.0 (tests/recorded/5.1.0/batch, CoreBundle StatsApiController and CommonStatsSubscriber):

- ``{"total": "N", "stats": [...]}``: the total and every value a string, null columns left out;
- ``where[i][col|expr|val]`` on the table's columns (``in`` reads ``val`` as one comma-separated string; an
  array there is a 500), ``order[i][col|dir]``, ``start``, ``limit`` (100 unless given, no maximum);
- an unknown column is HTTP 200 with ``{"errors": [{"message": "...Unknown column...", "code": 1054}]}``;
- no table, or one it does not know: the list of tables and their columns.

Tables kept: ``lead_lists_leads`` (segment memberships), ``form_submissions``, ``email_stats`` (each send,
with its tracking hash) and ``page_hits`` (clicks of tracked links: ``tracking``), and the empty
``companies_leads`` and ``campaign_leads`` (the sandbox has no companies or campaigns). Recorded on 5.1.0 and
7.0.2 (verification sessions): the two lines answer these tables alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gdpr_as_code.sandbox.clock import db_time
from gdpr_as_code.sandbox.contact_write import as_list
from gdpr_as_code.sandbox.http import Request, Response, kernel_error
from gdpr_as_code.sandbox.php import php_serialize
from gdpr_as_code.sandbox.query import sort_key
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

DEFAULT_LIMIT = 100


def _flag(value: Any) -> str:
    return "1" if value else "0"


def _memberships(store: Store) -> Iterable[dict[str, Any]]:
    for m in store.table("segment_members").values():
        yield {
            "leadlist_id": m["segment"],
            "lead_id": m["contact"],
            "date_added": db_time(m["dateAdded"]),
            "manually_removed": _flag(m["manuallyRemoved"]),
            "manually_added": _flag(m["manuallyAdded"]),
        }


def _submissions(store: Store) -> Iterable[dict[str, Any]]:
    ips = {row["ipAddress"]: row_id for row_id, row in store.table("ip_addresses").items()}
    for row_id, s in store.table("submissions").items():
        yield {
            "id": row_id,
            "form_id": s["form"],
            "ip_id": ips.get(s.get("ip")),
            "lead_id": s.get("contact"),
            "tracking_id": s.get("trackingId"),
            "date_submitted": db_time(s["dateSubmitted"]),
            "referer": s.get("referer"),
            "page_id": None,
        }


def _email_stats(store: Store) -> Iterable[dict[str, Any]]:
    for row_id, s in store.table("email_stats").items():
        yield {
            "id": row_id, "email_id": s["email"], "lead_id": s["contact"], "list_id": None,
            "ip_id": s.get("ip"), "copy_id": None, "email_address": s.get("address"),
            "date_sent": db_time(s["dateSent"]),
            "is_read": _flag(s.get("isRead")), "is_failed": "0",
            "viewed_in_browser": _flag(s.get("viewedInBrowser")), "date_read": db_time(s.get("dateRead")),
            "tracking_hash": s["idHash"], "retry_count": "0", "source": s.get("source"),
            "source_id": s.get("sourceId") if s.get("source") else None, "tokens": None,
            "open_count": int(s.get("openCount") or 0), "last_opened": db_time(s.get("lastOpened")),
            "open_details": php_serialize(s.get("opens") or []),
        }


def _page_hits(store: Store) -> Iterable[dict[str, Any]]:
    for row_id, h in store.table("page_hits").items():
        yield {
            "id": row_id, "page_id": None, "redirect_id": h["redirect"], "email_id": h["email"],
            "lead_id": h["contact"], "ip_id": h["ip"], "device_id": h["device"],
            "date_hit": db_time(h["dateHit"]),
            "date_left": None, "country": "", "region": "", "city": "", "isp": "", "organization": "",
            "code": 200, "referer": None, "url": h["url"], "url_title": None, "user_agent": h["userAgent"],
            "remote_host": None, "page_language": None, "browser_languages": "a:0:{}",
            "tracking_id": h["trackingId"], "source": "email", "source_id": h["email"], "query": h["query"],
        }


EMAIL_STATS = ("copy_id", "date_read", "date_sent", "email_address", "email_id", "id", "ip_id", "is_failed",
               "is_read", "last_opened", "lead_id", "list_id", "open_count", "open_details", "retry_count",
               "source", "source_id", "tokens", "tracking_hash", "viewed_in_browser")
PAGE_HITS = ("browser_languages", "city", "code", "country", "date_hit", "date_left", "device_id",
             "email_id", "id", "ip_id", "isp", "lead_id", "organization", "page_id", "page_language", "query",
             "redirect_id", "referer", "region", "remote_host", "source", "source_id", "tracking_id", "url",
             "url_title", "user_agent")
TABLES: dict[str, tuple[tuple[str, ...], Callable[[Store], Iterable[dict[str, Any]]]]] = {
    "lead_lists_leads": (
        ("date_added", "lead_id", "leadlist_id", "manually_added", "manually_removed"),
        _memberships,
    ),
    "form_submissions": (
        ("date_submitted", "form_id", "id", "ip_id", "lead_id", "page_id", "referer", "tracking_id"),
        _submissions,
    ),
    "email_stats": (EMAIL_STATS, _email_stats),
    "page_hits": (PAGE_HITS, _page_hits),
    "companies_leads": (("company_id", "date_added", "is_primary", "lead_id"), lambda store: ()),
    "campaign_leads": (
        ("campaign_id", "date_added", "date_last_exited", "lead_id", "manually_added", "manually_removed",
         "rotation"),
        lambda store: (),
    ),
}


def _holds(row: dict[str, Any], clause: dict[str, Any]) -> bool:
    """One ``where`` clause as the stats query builder applies it (values compared as text)."""
    expr, value = str(clause.get("expr", "eq")), clause.get("val")
    if isinstance(value, (list, dict)):
        raise kernel_error(500)  # measured: an array value is an error in the query builder
    current = row.get(str(clause.get("col")))
    if expr in ("isNull", "isNotNull"):
        return (current is None) == (expr == "isNull")
    if current is None:
        return False
    text = str(current)
    if expr in ("in", "notIn"):
        return (text in str(value).split(",")) == (expr == "in")
    if expr in ("eq", "neq"):
        return (text == str(value)) == (expr == "eq")
    order = {"gt": (1,), "gte": (0, 1), "lt": (-1,), "lte": (-1, 0)}
    if expr in order:
        left, right = sort_key(current), sort_key(value)
        return ((left > right) - (left < right)) in order[expr]
    raise kernel_error(500)


def _ties_reversed(rows: list[dict[str, Any]], column: str) -> list[dict[str, Any]]:
    """``rows`` with each run of equal ``column`` values in reverse order."""
    out: list[dict[str, Any]] = []
    start = 0
    for index in range(1, len(rows) + 1):
        if index == len(rows) or rows[index].get(column) != rows[start].get(column):
            out.extend(reversed(rows[start:index]))
            start = index
    return out


def _tables_answer() -> Response:
    names = sorted(TABLES)
    return Response(200, {"availableTables": names, "tableColumns": {t: list(TABLES[t][0]) for t in names}})


@route("GET", "/api/stats")
def list_tables(req: Request) -> Response:
    return _tables_answer()


@route("GET", "/api/stats/{table:[a-z_]+}")
def table_rows(req: Request) -> Response:
    table = req.path_args["table"]
    if table not in TABLES:
        return _tables_answer()
    columns, rows_of = TABLES[table]
    where = [c for c in as_list(req.query.get("where")) if isinstance(c, dict)]
    order = [o for o in as_list(req.query.get("order")) if isinstance(o, dict)]
    for clause in [*where, *order]:
        if str(clause.get("col")) not in columns:
            message = (
                "An exception occurred while executing a query: SQLSTATE[42S22]: Column not found: 1054 "
                f"Unknown column 'e.{clause.get('col')}' in '{'WHERE' if clause in where else 'ORDER BY'}'"
            )
            return Response(200, {"errors": [{"message": message, "code": 1054}]})
    rows = [row for row in rows_of(req.store) if all(_holds(row, clause) for clause in where)]
    for clause in reversed(order):
        column = str(clause["col"])
        descending = str(clause.get("dir")).upper() == "DESC"
        rows.sort(key=lambda r: sort_key(r.get(column)), reverse=descending)
        if descending:  # MariaDB answered ties of a descending order newest row first (recorded, 5.1.0)
            rows = _ties_reversed(rows, column)
    start = int(str(req.query.get("start") or 0))
    limit = int(str(req.query.get("limit") or DEFAULT_LIMIT))
    page = [
        {key: str(value) for key, value in row.items() if value is not None}
        for row in rows[start : start + limit]
    ]
    return Response(200, {"total": str(len(rows)), "stats": page})
