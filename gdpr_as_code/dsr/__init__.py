"""GDPR requests: list what is pending, fulfil access and erasure requests, enforce retention.

    prepare(spec, client, ...)          -> Setup         reads the managed segments and emails (engine lookup)
    pending(setup)                      -> [PendingRequest]     members of the request segments, oldest first
    listing(requests, deadline, at)     -> Listing       rows with masked emails, age, overdue; exit code 2
    overview(setup)                     -> Listing       ``requests list``: pending, listed, cron warning
    fulfil(setup, options, confirm, ..) -> Summary       journaled steps per request (``fulfil``, ``steps``)
    retention(setup, at)                -> [PendingRequest]     contacts past the data inventory's retention
    erase(setup, requests, options, ..) -> Summary       retention requests through the erasure path

State per instance (``state_dir``): ``journal.jsonl`` (what each request has done: the crash-safety),
``audit.jsonl`` (every step with time and outcome: the evidence), ``receipts.jsonl`` (erasures, with only a
keyed hash of the address). None of them holds an email address or a name. Access exports go to the spec's
delivery folder, one 0700 folder per request.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdpr_as_code import converge
from gdpr_as_code.dsr.fulfil import Confirm, Options, Progress, Summary, run
from gdpr_as_code.dsr.journal import Journal, now
from gdpr_as_code.dsr.pending import Listed, PendingRequest, mask_email, pending_requests
from gdpr_as_code.dsr.retention import past_retention
from gdpr_as_code.dsr.steps import RequestOutcome, Setup
from gdpr_as_code.dsr.verify import expired_rows, verification_state
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.mautic.connect import instance_key, instance_slug
from gdpr_as_code.resources import EMAILS, FORMS, SEGMENTS
from gdpr_as_code.spec.model import Spec

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

__all__ = [
    "Listing",
    "Options",
    "PendingRequest",
    "RequestOutcome",
    "Setup",
    "Summary",
    "erase",
    "expired_line",
    "fulfil",
    "listing",
    "mask_email",
    "overview",
    "pending",
    "prepare",
    "retention",
    "state_folder",
    "status_cell",
]

STATE_DIR_ENV = "GDPR_AS_CODE_STATE_DIR"


def prepare(
    spec: Spec,
    client: MauticClient,
    *,
    state_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    workers: int = 4,
    folder: str | None = None,
) -> Setup:
    """Everything a run needs: the live ids of the request segments and notification emails (read with the
    engine's ownership lookup, one list call each), and where the journal and the exports live (``folder``:
    the name of this instance's own folders under the state and delivery roots, see ``state_folder``)."""
    gdpr = spec.gdpr
    where = str(spec.source)
    if gdpr is None or not gdpr.request_types:
        raise GdprAsCodeError(
            f"{where} has no gdpr.requests, so there are no GDPR requests to handle. Add "
            "gdpr.requests.access and gdpr.requests.erasure (each with its value, segment and email, as in "
            "configs/gdpr.yaml) and apply the spec first."
        )
    live = converge.read_live(client, (SEGMENTS, EMAILS, FORMS))
    segments, emails, forms = live.managed("segments"), live.managed("emails"), live.managed("forms")
    aliases: dict[str, str] = {}
    segment_ids: dict[str, int] = {}
    email_ids: dict[str, int] = {}
    clear_values: dict[str, tuple[str, str]] = {}
    for request_type in gdpr.request_types:
        if request_type.segment not in segments or request_type.email not in emails:
            missing = request_type.segment if request_type.segment not in segments else request_type.email
            raise GdprAsCodeError(
                f"The {request_type.kind} requests of {where} use '{missing}', which is not in Mautic at "
                f"{client.name} (no object carries its ownership marker). Run "
                "`gdpr-as-code apply` with this spec first."
            )
        segment = min(segments[request_type.segment], key=lambda o: o.id)
        aliases[request_type.kind] = str(segment.data["alias"])
        segment_ids[request_type.kind] = segment.id
        email_ids[request_type.kind] = min(emails[request_type.email], key=lambda o: o.id).id
        if not spec.segment(request_type.segment).static:
            clear_values[request_type.kind] = (spec.field(gdpr.request_field).alias, request_type.value)
    notices = (("extension", gdpr.extension_email), ("refusal", gdpr.refusal_email),
               ("verification", gdpr.verification.email))
    for notice, key in notices:
        if key is not None and key in emails:  # checked when used: `requests extend|refuse`, `verify`
            email_ids[notice] = min(emails[key], key=lambda o: o.id).id
    environ = dict(os.environ if env is None else env)
    instance = instance_key(client.base_url)
    base = spec.source.resolve().parent
    return Setup(
        client=client,
        instance=instance,
        gdpr=gdpr,
        segments=aliases,
        segment_ids=segment_ids,
        clear_values=clear_values,
        state_dir=state_folder(spec, instance, environ, state_dir, folder),
        export_dir=base / gdpr.delivery.folder / (folder or instance_slug(instance)),
        email_ids=email_ids,
        env=environ,
        workers=workers,
        form_id=min(forms[gdpr.request_form], key=lambda o: o.id).id if gdpr.request_form in forms else None,
    )


def pending(setup: Setup, kinds: Sequence[str] | None = None) -> Listed:
    """Pending requests of ``kinds`` (default: every type the spec handles). Erasures bring access along: an
    erasure must see whether its contact still waits for an export."""
    wanted = set(setup.segments if kinds is None else kinds)
    if wanted & {"erasure", "retention"}:
        wanted.add("access")
    segments = [
        (kind, alias, setup.segment_ids[kind]) for kind, alias in setup.segments.items() if kind in wanted
    ]
    return pending_requests(setup.client, segments, setup.workers)


@dataclass(frozen=True)
class Listing:
    """``requests list``: one row per pending request, printable as a table or JSON, no address unmasked."""

    instance: str
    deadline_days: int
    rows: tuple[dict[str, Any], ...]
    retention: bool = False  # rows are contacts past retention; "received" is when it ran out
    warning: str = ""  # the segment cron looks stale (``cron``)
    expired: tuple[dict[str, Any], ...] = ()  # closed unverified in the last deadline_days (``verify``)

    @property
    def overdue(self) -> int:
        return sum(1 for row in self.rows if row["overdue"])

    @property
    def exit_code(self) -> int:
        """2 when any request is past the deadline, so a scheduled job can alert."""
        return 2 if self.overdue else 0

    def as_json(self) -> str:
        body = {"instance": self.instance, "deadline_days": self.deadline_days, "overdue": self.overdue}
        rows = {"requests": list(self.rows), "expired": list(self.expired)}
        return json.dumps({**body, "warning": self.warning, **rows}, indent=2)

    def text(self) -> str:
        if self.retention:
            return self._retention_text()
        warning = [self.warning] if self.warning else []
        expired = [expired_line(row) for row in self.expired]
        if not self.rows:
            return "\n".join([f"No pending GDPR requests on {self.instance}.", *expired, *warning])
        header = f"{'TYPE':9} {'CONTACT':>8}  {'EMAIL':28} {'RECEIVED':20} {'AGE':>4}  STATUS"
        lines = [
            f"{row['type']:9} {row['contact']:>8}  {row['email']:28} {row['received'][:19]:20} "
            f"{row['age_days']:>3}d  {status_cell(row)}"
            for row in self.rows
        ]
        tail = (
            f"{len(self.rows)} pending, {self.overdue} overdue (deadline {self.deadline_days} days) on "
            f"{self.instance}."
        )
        return "\n".join([header, *lines, tail, *expired, *warning])

    def _retention_text(self) -> str:
        if not self.rows:
            return f"No contacts past their retention period on {self.instance}."
        header = f"{'CONTACT':>8}  {'EMAIL':28} {'RETENTION ENDED':20} {'DAYS PAST':>9}"
        lines = [
            f"{row['contact']:>8}  {row['email']:28} {row['received'][:19]:20} {row['age_days']:>9}"
            for row in self.rows
        ]
        tail = (
            f"{len(self.rows)} contact(s) past their retention period on {self.instance}; "
            "`requests retention --erase` erases them."
        )
        return "\n".join([header, *lines, tail])


def status_cell(row: Mapping[str, Any]) -> str:
    """A ``requests list`` row's STATUS: the deadline, extended, unverified (until when), in progress; one
    instance's table and an inventory's print the same."""
    unverified = ""
    if row["verification"] == "awaiting":
        expires = row["verification_expires"]
        unverified = f" unverified (expires {expires})" if expires else " unverified"
    return (
        ("OVERDUE" if row["overdue"] else f"due in {row['days_left']}d ({row['due']})")
        + (" extended" if row["extended"] else "")
        + unverified
        + (" (in progress)" if row["in_progress"] else "")
    )


def expired_line(row: Mapping[str, Any]) -> str:
    """A request closed unverified, as ``requests list`` reports it (ids and dates only)."""
    closed = str(row["expired"])[:10]
    return f"expired  {row['request']}: not verified in time; closed on {closed}, nothing done"


def listing(
    setup: Setup, requests: Sequence[PendingRequest], at: datetime | None = None, *, retention: bool = False
) -> Listing:
    """The rows of ``requests list``: masked email, received date, age and whether the deadline has passed.
    For ``retention`` the "received" date is the day the retention period ran out, and the deadline 0."""
    at = at or now()
    deadline = 0 if retention else setup.gdpr.deadline_days
    with Journal(setup.journal_path, read_only=True) as journal:
        # Finished here but still in Mautic's segment until its next cron rebuild: not pending any more.
        requests = [r for r in requests if not journal.finished(r.request_id)]
        states = {r.request_id: journal.state(r.request_id) for r in requests}
    # An extension (``requests extend``) moves the request's own deadline; the journal holds it.
    extra = {rid: int(s.data.get("extended_days") or 0) if s else 0 for rid, s in states.items()}
    rows = tuple(
        {
            "request": r.request_id,
            "type": r.kind,
            "contact": r.contact_id,
            "email": r.masked_email,
            "received": r.received.isoformat(),
            "due": (r.received + timedelta(days=deadline + extra[r.request_id])).date().isoformat(),
            "extended": bool(extra[r.request_id]),
            "age_days": r.age_days(at),
            "days_left": deadline + extra[r.request_id] - r.age_days(at),
            "overdue": r.overdue(at, deadline + extra[r.request_id]),
            "in_progress": states[r.request_id] is not None,
            **verification_state(setup, r, states[r.request_id]),
        }
        for r in requests
    )
    if retention:
        return Listing(setup.instance, deadline, rows, retention=True)
    closed = expired_rows(journal.states.values(), at - timedelta(days=deadline))
    return Listing(setup.instance, deadline, rows, expired=tuple(closed))


def fulfil(
    setup: Setup, options: Options, confirm: Confirm | None = None, progress: Progress | None = None
) -> Summary:
    """Find the pending requests and fulfil them (plus any the journal left unfinished)."""
    return run(setup, pending(setup, options.kinds), options, confirm, progress)


def retention(setup: Setup, at: datetime | None = None) -> list[PendingRequest]:
    """Contacts past the retention period of the spec's data inventory."""
    return past_retention(setup.client, setup.gdpr, at or now())


def erase(
    setup: Setup,
    requests: Sequence[PendingRequest],
    options: Options,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Erase requests found another way (retention, re-imported people) through the journaled erasure path
    (receipt, delete, confirm). Pending access requests are read too: a contact whose export is still owed is
    not erased before it is delivered."""
    kinds = tuple(sorted({r.kind for r in requests})) or ("retention",)
    only = Options(kinds, options.limit, options.dry_run, options.yes)
    return run(setup, [*requests, *pending(setup, ("access",))], only, confirm, progress)


def state_folder(spec: Spec, instance: str, env: Mapping[str, str], state_dir: Path | None = None,
                 folder: str | None = None) -> Path:
    """Where an instance keeps its journal, audit log and receipts. One instance: ``state_dir`` itself
    (``--state-dir``), else ``$GDPR_AS_CODE_STATE_DIR/<instance>``, else ``gdpr-state/<instance>`` beside the
    spec, ``<instance>`` made from its URL. An inventory (``folder``: the instance's name) has one folder per
    instance under that root: ``--state-dir`` names the root then, not the folder."""
    name = folder or instance_slug(instance)
    if state_dir is not None:
        return state_dir / folder if folder else state_dir
    root = Path(env[STATE_DIR_ENV]) if env.get(STATE_DIR_ENV) else spec.source.resolve().parent / "gdpr-state"
    return root / name


def overview(setup: Setup) -> Listing:
    """What ``requests list`` shows: the pending requests, and a warning when the segment cron looks stale."""
    from gdpr_as_code.dsr import cron

    found = pending(setup)
    warning = cron.stale_warning(setup, [request.contact_id for request in found])
    return replace(listing(setup, found), warning=warning)
