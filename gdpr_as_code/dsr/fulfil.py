"""Fulfilling requests: which requests run, in what order, how many at a time (each one's steps: ``steps``).

The order is the safety: nothing is deleted before its receipt and notification are ``done``, and an erasure
waits while the same contact has an access request not yet finished, so an export is never lost to a delete.
Requests the journal left unfinished come first, even when Mautic no longer lists them.

Access requests run ``workers`` at a time. Erasures are notified the same way, then deleted 200 per call and
confirmed gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, get_args

from gdpr_as_code.dsr import erasure
from gdpr_as_code.dsr.audit import AuditLog
from gdpr_as_code.dsr.journal import Journal, RequestState
from gdpr_as_code.dsr.pending import Listed, PendingRequest, parse_time
from gdpr_as_code.dsr.steps import DESTRUCTIVE, RequestOutcome, Runner, Setup, Status, sequence
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.redact import Redactor


@dataclass(frozen=True)
class Options:
    """How to run: which kinds, how many, and whether to touch anything."""

    kinds: tuple[str, ...] = ("access", "erasure")
    limit: int | None = None
    dry_run: bool = False
    yes: bool = False


@dataclass(frozen=True)
class Summary:
    """The end of a run: every request's outcome, and the Mautic requests it took."""

    instance: str
    outcomes: tuple[RequestOutcome, ...]
    api_requests: int = 0
    dry_run: bool = False

    def count(self, status: Status) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def exit_code(self) -> int:
        """1 when a request failed or an erasure was refused (a scheduled job must notice), else 0."""
        return 1 if self.count("failed") or self.count("refused") else 0

    def as_dict(self) -> dict[str, Any]:
        counts = {status: self.count(status) for status in get_args(Status)}
        return {
            "instance": self.instance,
            "dry_run": self.dry_run,
            "counts": counts,
            "api_requests": self.api_requests,
            "requests": [outcome.as_dict() for outcome in self.outcomes],
        }

    def text(self) -> str:
        """The summary an operator reads: one line of counts, then a line per request that needs attention."""
        if self.dry_run:
            head = f"Dry run on {self.instance}: {len(self.outcomes)} request(s) to work on; nothing changed."
            lines = [f"  {o.kind:9} {o.request_id}: {o.detail}" for o in self.outcomes]
            return "\n".join([head, *lines])
        head = (
            f"Requests on {self.instance}: {self.count('done')} done, {self.count('failed')} failed, "
            f"{self.count('skipped') + self.count('refused')} skipped"
            + (f", {self.count('waiting')} waiting for hand-over" if self.count("waiting") else "")
            + (f", {self.count('unverified')} waiting for verification" if self.count("unverified") else "")
            + (f", {self.count('expired')} expired unverified" if self.count("expired") else "")
            + f" ({self.api_requests} API requests)."
        )
        lines = [f"  {o.status:8} {o.request_id}: {o.detail}" for o in self.outcomes if o.status != "done"]
        lines += [f"  warning  {o.request_id}: {o.warning}" for o in self.outcomes if o.warning]
        return "\n".join([head, *lines])


Confirm = Callable[[str], bool]
Progress = Callable[[RequestOutcome, int, int], None]


def _steps_left(setup: Setup, kind: str, state: RequestState | None) -> list[str]:
    return [step for step in sequence(kind, setup.gdpr) if state is None or not state.is_done(step)]


def resumed(state: RequestState) -> PendingRequest:
    """A request begun in an earlier run, rebuilt from the journal (Mautic may no longer list it)."""
    return PendingRequest(
        state.kind,  # type: ignore[arg-type]
        state.contact_id,
        parse_time(state.data["received"]),
        state.data.get("segment_id"),
    )


def work_list(
    found: Iterable[PendingRequest], journal: Journal, kinds: Sequence[str], limit: int | None
) -> list[PendingRequest]:
    """Unfinished requests from the journal first (oldest first), then new ones; finished ones never again."""
    carried = [
        resumed(state) for state in journal.unfinished() if state.kind in kinds and "received" in state.data
    ]
    known = {request.request_id for request in carried}
    fresh = [
        request
        for request in found
        if request.kind in kinds
        and request.request_id not in known
        and not journal.finished(request.request_id)
    ]
    # Resumed requests need the contact the segment list already returned, when it is still listed.
    listed = {request.request_id: request for request in found}
    ordered = [listed.get(r.request_id, r) for r in sorted(carried, key=lambda r: r.received)] + fresh
    return ordered[:limit] if limit is not None else ordered


def _redactor(setup: Setup) -> Redactor:
    """Masks the environment's secrets, the SMTP password and the receipt key in audit reasons."""
    names = (erasure.RECEIPT_KEY_ENV, setup.gdpr.delivery.smtp_password_env)
    return Redactor.from_environ(setup.env, extra_names=names)


def run(
    setup: Setup,
    found: Sequence[PendingRequest],
    options: Options,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Work ``found`` (plus whatever the journal left unfinished) through their steps; see the module doc.

    ``confirm`` asks the operator before erasing (None: nobody to ask, so erasures are refused unless
    ``options.yes``); ``progress`` hears of each request as it completes.
    """
    before = setup.client.stats.total
    if options.dry_run:
        with Journal(setup.journal_path, read_only=True) as journal:
            work = work_list(found, journal, options.kinds, options.limit)
            planned = tuple(
                RequestOutcome(
                    r.request_id,
                    r.kind,
                    r.contact_id,
                    "planned",
                    "would run: " + ", ".join(_steps_left(setup, r.kind, journal.state(r.request_id))),
                )
                for r in work
            )
        return Summary(setup.instance, planned, setup.client.stats.total - before, dry_run=True)

    with Journal(setup.journal_path) as journal, AuditLog(setup.audit_path, _redactor(setup)) as audit:
        work = work_list(found, journal, options.kinds, options.limit)
        destructive = [r for r in work if r.kind in DESTRUCTIVE]
        key = erasure.receipt_key(setup.env) if destructive else None
        unread = found.unreadable if isinstance(found, Listed) else []
        outcomes = [
            RequestOutcome(f"{u.kind}-{u.contact_id}", u.kind, u.contact_id, "failed", u.reason)
            for u in unread
            if u.kind in options.kinds
        ]
        if destructive and not options.yes:
            question = (
                f"Erase {len(destructive)} contact(s) from {setup.instance}? They are deleted from Mautic "
                "after their notification; this cannot be undone."
            )
            if confirm is None or not confirm(question):
                reason = (
                    "not confirmed"
                    if confirm is not None
                    else "erasure deletes contacts and there is no terminal to ask: rerun with --yes"
                )
                for r in destructive:
                    audit.write(r.request_id, r.kind, r.contact_id, "approval", "refused", reason)
                    outcomes.append(RequestOutcome(r.request_id, r.kind, r.contact_id, "refused", reason))
                destructive = []
        runner = Runner(setup, journal, audit, key)
        access = [r for r in work if r.kind == "access"]
        total, refused = len(access) + len(destructive), len(outcomes)
        runner.read_ahead(access, destructive)

        def report(outcome: RequestOutcome) -> None:
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome, len(outcomes) - refused, total)

        with ThreadPoolExecutor(max_workers=max(1, setup.workers)) as pool:
            for outcome in pool.map(lambda r: runner.guarded(r, lambda: runner.access(r)), access):
                report(outcome)
            for outcome in _erase(runner, journal, found, destructive, pool):
                report(outcome)
    return Summary(setup.instance, tuple(outcomes), setup.client.stats.total - before)


def _erase(
    runner: Runner,
    journal: Journal,
    found: Sequence[PendingRequest],
    requests: Sequence[PendingRequest],
    pool: ThreadPoolExecutor,
) -> Iterable[RequestOutcome]:
    """Erasures in waves: receipt and notification each (``workers`` at a time), then per 200: one delete,
    one check that Mautic no longer lists them, one fsynced write of their receipts."""

    blocked = {r.contact_id for r in found if r.kind == "access" and not journal.finished(r.request_id)} | {
        state.contact_id for state in journal.unfinished() if state.kind == "access"
    }
    ready: list[PendingRequest] = []
    for request in requests:
        if request.contact_id in blocked:
            yield RequestOutcome(
                request.request_id,
                request.kind,
                request.contact_id,
                "skipped",
                f"contact {request.contact_id} also has an access request that is not finished; it is erased "
                "after that export is delivered (rerun without --type, or with --type access first)",
            )
    prepared = pool.map(
        lambda r: runner.guarded(r, lambda: runner.prepare_erasure(r)),
        [r for r in requests if r.contact_id not in blocked],
    )
    for result in prepared:
        if isinstance(result, PendingRequest):
            ready.append(result)
        else:
            yield result
    for batch in erasure.batches(ready):
        try:
            runner.delete(batch)
            yield from runner.confirm(batch)
        except GdprAsCodeError as err:
            yield from (RequestOutcome(r.request_id, r.kind, r.contact_id, "failed", str(err)) for r in batch)
