"""Is Mautic's segment cron running? Requests in filter-based segments appear only when it rebuilds them.

A person who submits the request form is a request only once ``mautic:segments:update`` has put them in the
request segment. If that cron job stopped, ``requests list`` would print "No pending GDPR requests" while
people wait. So ``list`` compares two dates Mautic keeps (stats API, two calls): the request form's newest
submissions, and the newest membership of the request segments. Submissions newer than every membership,
by contacts in no request segment, mean the cron has not run since they came in.
"""

from __future__ import annotations

from collections.abc import Iterable

from gdpr_as_code.dsr.pending import parse_time
from gdpr_as_code.dsr.steps import Setup
from gdpr_as_code.errors import GdprAsCodeError, MauticHTTPError

RECENT = 50  # the newest submissions looked at: enough to see that some wait


def _rows(setup: Setup, table: str, column: str, expr: str, value: str, order: str) -> list[dict[str, str]]:
    params = {
        "where[0][col]": column,
        "where[0][expr]": expr,
        "where[0][val]": value,
        "order[0][col]": order,
        "order[0][dir]": "DESC",
        "limit": RECENT,
    }
    body = setup.client.get(f"/stats/{table}", params=params)
    if "stats" not in body:
        raise GdprAsCodeError(f"stats table {table} not readable")
    return list(body["stats"])


def stale_warning(setup: Setup, members: Iterable[int]) -> str:
    """A warning when request form submissions wait for the segment cron, else empty. Best effort: a stats
    API the user may not read gives no warning rather than an error."""
    if setup.form_id is None or not setup.clear_values:  # static segments: no cron involved
        return ""
    ids = ",".join(str(setup.segment_ids[kind]) for kind in setup.clear_values)
    try:
        joined = _rows(setup, "lead_lists_leads", "leadlist_id", "in", ids, "date_added")
        submitted = _rows(setup, "form_submissions", "form_id", "eq", str(setup.form_id), "date_submitted")
    except (MauticHTTPError, GdprAsCodeError):
        return ""
    newest = max((parse_time(r["date_added"]) for r in joined), default=None)
    listed = set(members)
    waiting = [
        r
        for r in submitted
        if r.get("lead_id")
        and int(r["lead_id"]) not in listed
        and (newest is None or parse_time(r["date_submitted"]) > newest)
    ]
    if not waiting:
        return ""
    since = min(r["date_submitted"] for r in waiting)
    return (
        f"Warning: {len(waiting)} submission(s) of the request form since {since} UTC are in no request "
        "segment yet: Mautic's segment cron (mautic:segments:update) looks stale, so those requests are not "
        "listed. Check the cron job on the Mautic server, or run it now, then list again."
    )
