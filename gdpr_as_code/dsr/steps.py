"""One request's steps: each a journaled action that a rerun resumes where it stopped.

    access:    begin → export → deliver → delivered → notify → mark_done → finish
    erasure:   begin → receipt → notify → delete → confirm → finish
    retention: begin → receipt → delete → confirm → finish      (nobody asked: no notification)
    reimport:  the same, for an erased person imported again

A step is recorded ``start`` before it runs and ``done`` after (see ``journal``). On a rerun a step left at
``start`` or ``failed`` is resolved first: an export is written again (it is read fresh from Mautic and
replaces the old folder), a notification is looked up in the contact's timeline and sent only if Mautic has no
record of it, a delete is repeated (Mautic skips ids already gone), marking done is repeated (it is
idempotent). ``delivered`` is the hand-over: SMTP delivery is it; an export left in the delivery folder waits
(``waiting``) until the operator runs ``requests delivered ID``, so "here is your data" never precedes the
data. In which order and how many at a time the requests go through their steps is ``fulfil``'s part.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from gdpr_as_code.dsr import batch, erasure
from gdpr_as_code.dsr.actions import Actions
from gdpr_as_code.dsr.audit import AuditLog
from gdpr_as_code.dsr.journal import Journal, now
from gdpr_as_code.dsr.journal import Status as JournalStatus
from gdpr_as_code.dsr.pending import PendingRequest, field_values, parse_time
from gdpr_as_code.dsr.verify import Expired, Unverified, Verifier
from gdpr_as_code.errors import GdprAsCodeError, MauticError, MauticHTTPError
from gdpr_as_code.spec.gdpr_model import Gdpr

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

Status = Literal["done", "failed", "skipped", "refused", "planned", "waiting", "unverified", "expired"]
STEPS: Mapping[str, tuple[str, ...]] = {
    "access": ("export", "deliver", "delivered", "notify", "mark_done"),
    "erasure": ("receipt", "notify", "delete", "confirm"),
    "retention": ("receipt", "delete", "confirm"),
    "reimport": ("receipt", "delete", "confirm"),  # an erased person imported again (``receipts``)
}
"""Each kind's steps between ``begin`` and ``finish``: the one declaration of the sequence, read by resume,
dry run (``fulfil``) and the runner (``Runner.per_request``, then the batched ``delete`` and ``confirm``);
``verify`` goes first where the spec verifies the kind (``sequence``)."""
BATCHED = ("delete", "confirm")
"""The steps run for up to 200 requests at once, in this order, after each request's own steps."""
DESTRUCTIVE = frozenset({"erasure", "retention", "reimport"})
# Steps whose ``start`` is fsynced (a blind repeat would send twice); the rest are only flushed.
UNREPEATABLE = frozenset({"notify", "deliver", "extend", "refuse", "verify_send"})
T = TypeVar("T")


def sequence(kind: str, gdpr: Gdpr) -> tuple[str, ...]:
    """The steps of ``kind`` under this spec: ``verify`` first where ``gdpr.verification`` applies."""
    return ("verify", *STEPS[kind]) if gdpr.verification.applies(kind) else STEPS[kind]


class Waiting(Exception):
    """A request stops here until the operator acts (an export in the folder, not yet handed over)."""


@dataclass(frozen=True)
class Setup:
    """What a run against one instance needs; the CLI builds it from the spec and the environment."""

    client: MauticClient
    instance: str
    gdpr: Gdpr
    segments: Mapping[str, str]  # request kind -> alias of its segment in Mautic
    segment_ids: Mapping[str, int]  # request kind -> id of that segment
    clear_values: Mapping[str, tuple[str, str]]  # kind -> (field alias, value) when its segment has filters
    state_dir: Path  # journal.jsonl, audit.jsonl, receipts.jsonl
    export_dir: Path
    email_ids: Mapping[str, int]  # request kind -> Mautic id of its notification email
    env: Mapping[str, str]
    workers: int = 4
    form_id: int | None = None  # the request form (``cron``: is the segment cron running?)
    command_args: str = ""  # what names this instance after SPEC in a command to rerun (an inventory's)

    journal_path = property(lambda self: self.state_dir / "journal.jsonl")
    audit_path = property(lambda self: self.state_dir / "audit.jsonl")
    receipts_path = property(lambda self: self.state_dir / "receipts.jsonl")


@dataclass(frozen=True)
class RequestOutcome:
    """What happened to one request in this run; ``detail`` holds ids and step names only."""

    request_id: str
    kind: str
    contact_id: int
    status: Status
    detail: str = ""
    warning: str = ""  # done, but the operator has something left to do

    def as_dict(self) -> dict[str, Any]:
        return {
            "request": self.request_id,
            "type": self.kind,
            "contact": self.contact_id,
            "status": self.status,
            "detail": self.detail,
            "warning": self.warning,
        }


class Runner(Actions):
    """One run: the journal and audit log open, the requests worked through their steps (``actions``)."""

    def __init__(self, setup: Setup, journal: Journal, audit: AuditLog, key: bytes | None) -> None:
        super().__init__()
        self.setup = setup
        self.journal = journal
        self.audit = audit
        self.key = key
        self._receipts: set[str] | None = None
        self.known = batch.Known()  # the run's batched reads (``read_ahead``)
        self.verifier = Verifier(self)

    def read_ahead(self, access: Sequence[PendingRequest], erasures: Sequence[PendingRequest]) -> None:
        """Read what the exports, receipts and verifications need for all these requests at once (``batch``).
        Should that fail, each request reads its own, and only a request whose own read fails too fails."""
        self.verifier.read_ahead([*access, *erasures])
        try:
            self.known = batch.read_known(
                self.setup.client, [r.contact_id for r in access], [r.contact_id for r in erasures]
            )
        except MauticHTTPError as err:
            if err.status < 500:
                raise
        except MauticError:
            raise
        except GdprAsCodeError:
            pass  # the stats API refused a table: the per-contact reads still work

    # --- one journaled step ---

    def log(
        self, request: PendingRequest, step: str, status: JournalStatus, reason: str = "", **data: Any
    ) -> None:
        """Journal a step's outcome (what a rerun resumes from), then append it to the audit log."""
        rid, kind, cid = request.request_id, request.kind, request.contact_id
        self.journal.record(rid, kind, cid, step, status, durable=False, **data)
        self.audit.write(rid, kind, cid, step, status, self.masked(request, reason))

    def masked(self, request: PendingRequest, text: str) -> str:
        """``text`` with the person's names masked too (addresses and secrets are masked already)."""
        values = field_values(request.contact)
        names = (str(values.get(alias) or "") for alias in ("firstname", "lastname"))
        return self.audit.redactor.with_personal(*names).text(text)

    def is_done(self, request: PendingRequest, step: str) -> bool:
        return (state := self.journal.state(request.request_id)) is not None and state.is_done(step)

    def step(
        self,
        request: PendingRequest,
        step: str,
        action: Callable[[], Mapping[str, Any] | None],
        already: Callable[[datetime], bool] | None = None,
    ) -> None:
        """Run ``action`` as ``step`` of ``request`` unless the journal says it is done; resolve a step an
        earlier run left unfinished with ``already(started)`` before repeating it."""
        state = self.journal.state(request.request_id)
        previous = state.status(step) if state else None
        if previous == "done":
            return
        unsure = previous in ("start", "failed") and already is not None and state is not None
        if unsure and already(parse_time(state.started[step])):  # type: ignore[misc,union-attr]
            confirmed = "an earlier run did it; Mautic confirms"
            self.log(request, step, "done", confirmed, resolved="found in Mautic")
            return
        self.journal.record(
            request.request_id, request.kind, request.contact_id, step, "start", durable=step in UNREPEATABLE
        )
        try:
            data = dict(action() or {})
        except GdprAsCodeError as err:
            self.log(request, step, "failed", str(err))
            raise
        self.log(request, step, "done", str(data.pop("note", "")), **data)

    def begin(self, request: PendingRequest) -> None:
        if self.journal.state(request.request_id) is None:
            self.log(
                request, "begin", "done", received=request.received.isoformat(), segment_id=request.segment_id
            )

    def finish(self, request: PendingRequest) -> RequestOutcome:
        """Mark the request complete; an erasure first appends its receipt (once, even across a crash)."""
        rid, kind, cid = request.request_id, request.kind, request.contact_id
        self.step(request, "finish", lambda: None)
        if kind in DESTRUCTIVE:  # its receipt is written (``write_receipts``) before it finishes
            state = self.journal.state(rid)
            leftovers = erasure.leftover_note(state.data.get("form_results") or [] if state else [])
            done = "; ".join(sequence(kind, self.setup.gdpr))
            return RequestOutcome(rid, kind, cid, "done", done, leftovers)
        return RequestOutcome(rid, kind, cid, "done", "; ".join(sequence(kind, self.setup.gdpr)))

    def write_receipts(self, requests: Sequence[PendingRequest]) -> None:
        """Append the erasure receipts in one fsynced write, skipping any an interrupted run already wrote."""
        if self._receipts is None:
            self._receipts = erasure.receipt_ids(self.setup.receipts_path)
        receipts = []
        for request in requests:
            state = self.journal.state(request.request_id)
            if request.request_id in self._receipts or state is None:
                continue
            receipts.append(
                {
                    "request": request.request_id,
                    "type": request.kind,
                    "instance": self.setup.instance,
                    "contact": request.contact_id,
                    "email_hmac": state.data.get("email_hmac"),
                    "form_results": state.data.get("form_results") or [],
                    "received": request.received.isoformat(),
                    "completed": now().isoformat(timespec="seconds"),
                }
            )
        erasure.append_receipts(self.setup.receipts_path, receipts)
        self._receipts |= {receipt["request"] for receipt in receipts}

    # --- the sequences ---

    def guarded(self, request: PendingRequest, work: Callable[[], T]) -> T | RequestOutcome:
        """Run ``work`` for one request; an expected error fails this request only, with its message."""
        rid, kind, cid = request.request_id, request.kind, request.contact_id
        try:
            return work()
        except Waiting as wait:
            return RequestOutcome(rid, kind, cid, "waiting", str(wait))
        except Unverified as wait:
            return RequestOutcome(rid, kind, cid, "unverified", str(wait))
        except Expired as closed:
            return RequestOutcome(rid, kind, cid, "expired", str(closed))
        except GdprAsCodeError as err:
            return RequestOutcome(rid, kind, cid, "failed", self.masked(request, str(err)))

    def per_request(self, request: PendingRequest) -> None:
        """``begin``, then each of the request's steps in ``STEPS`` up to the batched ones, each journaled;
        a step an earlier run may have done is first looked up in Mautic (a notification)."""
        self.begin(request)
        actions = self.actions()
        for name in sequence(request.kind, self.setup.gdpr):
            if name in BATCHED:
                return
            if name == "verify":  # journals the send and the click itself, or waits for the person
                if not self.is_done(request, name):
                    self.verifier.check(request)
                continue
            if name == "delivered":  # the hand-over journals itself, or waits for the operator
                if not self.is_done(request, name):
                    actions[name](request)
                continue
            already = self.was_notified(request) if name == "notify" else None
            self.step(request, name, functools.partial(actions[name], request), already)

    def hand_over(self, request: PendingRequest, *, by_operator: bool = False) -> dict[str, Any]:
        """Record that the person has the export: SMTP delivered it, or the operator says so; else wait."""
        if by_operator or self.setup.gdpr.delivery.method != "folder":
            by = {"delivered_by": "operator" if by_operator else "smtp"}
            self.step(request, "delivered", lambda: by)
            return by
        raise Waiting(
            f"export in {self.folder(request)}; hand it to the person, then run `gdpr-as-code requests "
            f"delivered SPEC {request.request_id}{self.setup.command_args}` (the notification waits until "
            "then)"
        )

    def actions(self) -> Mapping[str, Callable[[PendingRequest], Mapping[str, Any]]]:
        """What each per-request step of ``STEPS`` does."""
        return {
            "export": self.do_export,
            "deliver": self.do_deliver,
            "delivered": self.hand_over,
            "notify": self.do_notify,
            "mark_done": self.do_mark_done,
            "receipt": self.do_receipt,
        }

    def access(self, request: PendingRequest) -> RequestOutcome:
        self.per_request(request)
        return self.finish(request)

    def prepare_erasure(self, request: PendingRequest) -> PendingRequest:
        """Everything that must be done before the delete (the receipt; the notification of an erasure)."""
        self.per_request(request)
        return request

    def delete(self, batch: Sequence[PendingRequest]) -> None:
        """Delete up to 200 contacts in one call; each is journaled ``start`` before and ``done`` after.

        A delete left at ``start`` by a killed run is simply repeated: Mautic skips ids that are already gone.
        """
        todo = [r for r in batch if not self.is_done(r, "delete")]
        for r in todo:
            self.journal.record(r.request_id, r.kind, r.contact_id, "delete", "start", durable=False)
        self.journal.sync()  # one fsync makes the whole batch's "about to delete" durable
        try:
            if todo:
                erasure.delete_batch(self.setup.client, [r.contact_id for r in todo])
        except GdprAsCodeError as err:
            for r in todo:
                self.log(r, "delete", "failed", str(err))
            raise
        for r in todo:
            self.log(r, "delete", "done")

    def confirm(self, batch: Sequence[PendingRequest]) -> list[RequestOutcome]:
        """Check Mautic no longer has the deleted contacts, then write their receipts and finish them."""
        todo = [r for r in batch if not self.is_done(r, "confirm")]
        present = erasure.still_present(self.setup.client, [r.contact_id for r in todo])
        outcomes: list[RequestOutcome] = []
        for r in todo:
            if r.contact_id in present:
                reason = (
                    f"Contact {r.contact_id} still exists in Mautic at {self.setup.instance} after the "
                    "delete. Check that the API user may delete contacts, then rerun."
                )
                self.log(r, "confirm", "failed", reason)
                outcomes.append(RequestOutcome(r.request_id, r.kind, r.contact_id, "failed", reason))
            else:
                self.log(r, "confirm", "done", "Mautic no longer has it")
        gone = [r for r in batch if self.is_done(r, "confirm")]
        self.write_receipts(gone)
        return outcomes + [self.finish(r) for r in gone]
