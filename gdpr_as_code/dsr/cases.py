"""What an operator does to one request by its id: hand the export over, extend the deadline, refuse, and read
the case's timeline.

- ``delivered``: the person has the export (the delivery folder's hand-over is the operator's); the request
  then goes on through its steps: the "your data" notification, taking it out of its segment.
- ``extend``: Art. 12(3) allows two more months, told to the person with the reasons within the first month.
  So it is refused after ``deadline_days``, and once per request; the spec's extension email goes with the
  reason as ``{reason}`` and the new due date as ``{due_date}``.
- ``refuse``: Art. 12(4): the refusal email (reason, the right to complain), then the request leaves its
  segment and the case is closed; nothing is exported or erased.

Each is a journaled step like the runner's (``start`` fsynced before a send, resolved from the contact's
timeline after a crash, so a rerun never sends twice) and audited. The reason is the operator's text: it
goes to the person and into the journal, through the redactor (no address survives it).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from gdpr_as_code.dsr import notify
from gdpr_as_code.dsr.audit import AuditLog
from gdpr_as_code.dsr.fulfil import Summary, _redactor, resumed
from gdpr_as_code.dsr.journal import Journal, now
from gdpr_as_code.dsr.pending import PendingRequest, mask_email, parse_time
from gdpr_as_code.dsr.steps import RequestOutcome, Runner, Setup
from gdpr_as_code.errors import GdprAsCodeError, MauticHTTPError

MAX_EXTENSION_DAYS = 61  # "two further months"
LABELS = {
    "begin": "received",
    "verify_send": "verification sent",
    "verify": "verified",
    "expire": "expired unverified",
    "extend": "extended",
    "export": "exported",
    "deliver": "export written",
    "delivered": "delivered",
    "notify": "notified",
    "mark_done": "left its segment",
    "receipt": "receipt prepared",
    "delete": "erased",
    "confirm": "erasure confirmed",
    "refuse": "refused",
    "finish": "closed",
}


def _find(
    setup: Setup, journal: Journal, request_id: str, pending: Callable[[], list[PendingRequest]]
) -> Any:
    """The request by id: from the journal when it has begun, else from Mautic's pending list."""
    state = journal.state(request_id)
    if state is not None and "received" in state.data:
        return resumed(state)
    for request in pending():
        if request.request_id == request_id:
            return request
    raise GdprAsCodeError(
        f"No request {request_id} on {setup.instance}: it is neither in the journal {setup.journal_path} "
        "nor pending in Mautic. `gdpr-as-code requests list SPEC` shows the ids of the pending ones."
    )


def _open_case(setup: Setup, request_id: str, pending: Callable[[], list[PendingRequest]]) -> Any:
    journal = Journal(setup.journal_path)
    audit = AuditLog(setup.audit_path, _redactor(setup))
    return journal, audit, lambda: _find(setup, journal, request_id, pending)


def _closed(setup: Setup, journal: Journal, request: PendingRequest) -> None:
    if journal.finished(request.request_id):
        raise GdprAsCodeError(
            f"Request {request.request_id} on {setup.instance} is already closed; "
            f"`gdpr-as-code requests show SPEC {request.request_id}` shows what was done."
        )


def delivered(setup: Setup, request_id: str, pending: Callable[[], list[PendingRequest]]) -> Summary:
    """Record that the person has the export, then notify and take the request out of its segment."""
    before = setup.client.stats.total
    journal, audit, find = _open_case(setup, request_id, pending)
    with journal, audit:
        request = find()
        _closed(setup, journal, request)
        state = journal.state(request.request_id)
        if request.kind != "access" or state is None or not state.is_done("deliver"):
            raise GdprAsCodeError(
                f"Request {request.request_id} has no export to hand over yet (only access requests have "
                "one, after `requests fulfil` wrote it). Run `gdpr-as-code requests fulfil SPEC --type "
                "access` first."
            )
        runner = Runner(setup, journal, audit, None)
        if not state.is_done("delivered"):
            runner.hand_over(request, by_operator=True)
        outcome = runner.guarded(request, lambda: runner.access(request))
    return Summary(setup.instance, (outcome,), setup.client.stats.total - before)


def _send_notice(
    runner: Runner, request: PendingRequest, step: str, notice: str, tokens: dict[str, str], **data: Any
) -> None:
    setup = runner.setup
    email_id = setup.email_ids.get(notice)
    if email_id is None:
        raise GdprAsCodeError(
            f"The spec declares no {notice} email, or it is not in Mautic at {setup.instance}. Add "
            f"gdpr.notices.{notice} (the spec key of an email whose body uses {{reason}}, as in "
            "configs/gdpr.yaml), run `gdpr-as-code apply`, and rerun."
        )
    sent = lambda since: notify.sent_since(setup.client, email_id, request.contact_id, since)  # noqa: E731
    action = lambda: (notify.send(setup.client, email_id, request.contact_id, tokens), {**data})[1]  # noqa: E731
    runner.step(request, step, action, sent)


def extend(
    setup: Setup,
    request_id: str,
    reason: str,
    pending: Callable[[], list[PendingRequest]],
    days: int = MAX_EXTENSION_DAYS,
    at: datetime | None = None,
) -> str:
    """Extend the request's deadline by ``days`` (at most two months), within the first month only."""
    at = at or now()
    journal, audit, find = _open_case(setup, request_id, pending)
    with journal, audit:
        request = find()
        _closed(setup, journal, request)
        state = journal.state(request.request_id)
        if state is not None and state.is_done("extend"):
            raise GdprAsCodeError(
                f"Request {request.request_id} was extended already (due {state.data.get('due')}); "
                "Art. 12(3) allows one extension of at most two months."
            )
        if request.overdue(at, setup.gdpr.deadline_days):
            raise GdprAsCodeError(
                f"Request {request.request_id} was received {request.age_days(at)} days ago: an "
                f"extension must be sent within the first {setup.gdpr.deadline_days} days (Art. 12(3)). "
                "Answer it now with `requests fulfil`, or refuse it with `requests refuse ID --reason ...`."
            )
        if not 1 <= days <= MAX_EXTENSION_DAYS:
            raise GdprAsCodeError(f"--days must be 1 to {MAX_EXTENSION_DAYS} (two months); it was {days}.")
        due = request.received + timedelta(days=setup.gdpr.deadline_days + days)
        runner = Runner(setup, journal, audit, None)
        runner.begin(request)
        text = audit.redactor.text(reason)
        tokens = {"reason": text, "due_date": f"{due:%Y-%m-%d}"}
        _send_notice(
            runner,
            request,
            "extend",
            "extension",
            tokens,
            due=due.isoformat(),
            extended_days=days,
            extend_reason=text,
        )
    return (
        f"Request {request.request_id} extended by {days} days: due {due:%Y-%m-%d}; the person was told why."
    )


def refuse(setup: Setup, request_id: str, reason: str, pending: Callable[[], list[PendingRequest]]) -> str:
    """Send the refusal (reason, right to complain), take the request out of its segment, close the case."""
    journal, audit, find = _open_case(setup, request_id, pending)
    with journal, audit:
        request = find()
        _closed(setup, journal, request)
        runner = Runner(setup, journal, audit, None)
        runner.begin(request)
        text = audit.redactor.text(reason)
        _send_notice(runner, request, "refuse", "refusal", {"reason": text}, refuse_reason=text)
        runner.step(request, "mark_done", lambda: runner.do_mark_done(request))
        runner.step(request, "finish", lambda: {"refused": True})
    return (
        f"Request {request.request_id} refused and closed; the person was told why and of the right to "
        "complain."
    )


def show(setup: Setup, request_id: str) -> dict[str, Any]:
    """The case's timeline from the journal: each step's time and outcome, ids and dates only."""
    events = []
    if setup.journal_path.exists():
        for line in setup.journal_path.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request") == request_id and record.get("status") != "start":
                events.append(record)
    if not events:
        raise GdprAsCodeError(
            f"The journal {setup.journal_path} has no request {request_id}. `gdpr-as-code requests list "
            "SPEC` shows the pending ids; a request appears in the journal once fulfil, extend or refuse "
            "touched it."
        )
    contact_id = int(events[0]["contact"])
    try:
        address = mask_email(
            str(setup.client.get(f"/contacts/{contact_id}")["contact"]["fields"]["all"].get("email") or "")
        )
    except MauticHTTPError as err:
        if err.status != 404:
            raise
        address = "(no longer in Mautic)"
    data: dict[str, Any] = {}
    timeline = []
    for record in events:
        data.update(record.get("data") or {})
        when = data.get("received") if record["step"] == "begin" else record["time"]
        timeline.append(
            {
                "time": str(when)[:19],
                "event": LABELS.get(record["step"], record["step"]),
                "status": record["status"],
                **_notes(record),
            }
        )
    return {
        "request": request_id,
        "type": events[0]["kind"],
        "contact": contact_id,
        "email": address,
        "due": str(data.get("due") or _due(data, setup))[:10],
        "timeline": timeline,
    }


def _due(data: dict[str, Any], setup: Setup) -> str:
    received = data.get("received")
    return (parse_time(received) + timedelta(days=setup.gdpr.deadline_days)).isoformat() if received else ""


def _notes(record: dict[str, Any]) -> dict[str, Any]:
    """What a timeline line may say besides the step: where, by whom, until when, why (no personal data)."""
    keep = ("folder", "delivered_by", "due", "extend_reason", "refuse_reason", "email_id", "resolved",
            "verify_by", "expired_after_days")
    return {key: value for key, value in (record.get("data") or {}).items() if key in keep}


def show_text(case: dict[str, Any]) -> str:
    head = (
        f"Request {case['request']} ({case['type']}, contact {case['contact']}, {case['email']}), "
        f"due {case['due']}:"
    )
    lines = [
        f"  {e['time']:19}  {e['event']:18} {e['status']:7} "
        + "  ".join(f"{k}={v}" for k, v in e.items() if k not in ("time", "event", "status"))
        for e in case["timeline"]
    ]
    return "\n".join([head, *lines])


def outcome_text(outcome: RequestOutcome) -> str:
    return f"{outcome.status} {outcome.request_id}" + (f": {outcome.detail}" if outcome.detail else "")
