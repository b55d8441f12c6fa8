"""The sandbox clock: every timestamp of the contact side reads it, and ``/_sandbox/clock`` pins it, so a test
can fix time."""


from __future__ import annotations

from datetime import UTC, datetime

from gdpr_as_code.sandbox.http import (
    Request,
    Response,
)
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

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


