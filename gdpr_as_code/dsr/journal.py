"""The request journal: an append-only JSONL file, each record written BEFORE the step it announces runs.

Why: a GDPR request has steps that cannot be repeated blindly (an email already sent, a contact already
deleted) or skipped (deleting before the export or the notification). Each step is written as ``start``
before it runs and as ``done`` (or ``failed``) after, so a run killed at any point leaves a journal that says
exactly what may have happened; the next run folds the records and resumes each request where it stopped.
Records are flushed to the OS at once (a killed process loses none) and fsynced before every step that
cannot simply be repeated, which also makes all earlier records durable (one fsync covers the whole file).

Records hold no personal data: request id, kind, contact id, step, status, time, and step data such as the
export folder or the keyed hash of an erasure receipt. One run at a time: the journal is held with an
exclusive ``flock`` while open (the kernel drops it if the process dies, so it never goes stale).

Test hooks: with ``GDPR_AS_CODE_TEST_CRASH_AT=N`` the process ``os._exit``s at the N-th step boundary (the
moments just before and just after each record is written), which is how the crash tests kill a run at
every boundary without racing a signal. ``GDPR_AS_CODE_TEST_NOW`` (ISO 8601) is the time ``now`` answers, so a
test on a real Mautic can let the days of a deadline or a verification's expiry pass.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal

from gdpr_as_code.errors import GdprAsCodeError, LockError

CRASH_ENV = "GDPR_AS_CODE_TEST_CRASH_AT"
NOW_ENV = "GDPR_AS_CODE_TEST_NOW"
CRASH_EXIT = 86
_BOUNDARIES: dict[str, int] = {}  # the crash hook's count: one process may open several journals in turn
Status = Literal["start", "done", "failed"]


def now() -> datetime:
    """The current time in UTC (one place, so records and ages agree), or the test hook's."""
    pinned = os.environ.get(NOW_ENV)
    if pinned:
        moment = datetime.fromisoformat(pinned)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.now(UTC)


@dataclass
class RequestState:
    """What the journal knows of one request: the status of each step and the data recorded with it."""

    request_id: str
    kind: str
    contact_id: int
    steps: dict[str, Status] = field(default_factory=dict)
    started: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)

    def status(self, step: str) -> Status | None:
        """``start`` (may or may not have happened), ``done``, ``failed``, or None (never begun)."""
        return self.steps.get(step)

    def is_done(self, step: str) -> bool:
        return self.steps.get(step) == "done"

    @property
    def finished(self) -> bool:
        """The request is complete: its final ``done`` step is recorded."""
        return self.is_done("finish")


class Journal:
    """The journal of one Mautic instance. Use as a context manager: it locks on enter, unlocks on exit."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.states: dict[str, RequestState] = {}
        self._handle: IO[str] | None = None
        self._write_lock = threading.Lock()
        crash_at = os.environ.get(CRASH_ENV, "")
        self._crash_at = int(crash_at) if crash_at.isdigit() else 0

    def __enter__(self) -> Journal:
        if self.read_only:
            if self.path.exists():
                self._fold(self.path.read_text(encoding="utf-8"))
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as err:
            raise GdprAsCodeError(
                f"Cannot write the request journal {self.path}: {err.strerror}. Choose a writable folder "
                "with --state-dir DIR (or $GDPR_AS_CODE_STATE_DIR) and rerun."
            ) from None
        os.chmod(self.path, 0o600)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise LockError(
                f"Another `requests fulfil` or `requests retention --erase` is working on the journal "
                f"{self.path}. Wait for it to finish and rerun; the lock is released when that process exits."
            ) from None
        handle.seek(0)
        text = handle.read()
        self._fold(text)
        if text and not text.endswith("\n"):  # drop a torn last record so the next append starts a line
            handle.truncate(len(text[: text.rfind("\n") + 1].encode("utf-8")))
        self._handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    def _fold(self, text: str) -> None:
        """Replay every record. A torn last line (died mid-write) is ignored: its step never began."""
        lines = text.splitlines()
        for number, line in enumerate(lines, start=1):
            try:
                record = json.loads(line)
            except ValueError:
                if number == len(lines):
                    continue
                raise GdprAsCodeError(
                    f"The request journal {self.path} is damaged at line {number} (not JSON). It is "
                    "append-only and written by gdpr-as-code alone; restore it from a backup, or move it "
                    "away to start a new one after checking the audit log for requests in progress."
                ) from None
            self._apply(record)

    def _apply(self, record: Mapping[str, Any]) -> None:
        state = self.states.get(record["request"])
        if state is None:
            state = RequestState(record["request"], record["kind"], int(record["contact"]))
            self.states[state.request_id] = state
        step, status = record["step"], record["status"]
        state.steps[step] = status
        if status == "start":
            state.started[step] = record["time"]
        state.data.update(record.get("data") or {})

    def state(self, request_id: str) -> RequestState | None:
        return self.states.get(request_id)

    def finished(self, request_id: str) -> bool:
        """Whether the request is complete here (it may stay in Mautic's segment until the next rebuild)."""
        state = self.states.get(request_id)
        return state is not None and state.finished

    def unfinished(self) -> Iterator[RequestState]:
        """Requests begun earlier and not finished: they resume even if Mautic no longer lists them."""
        return (state for state in self.states.values() if not state.finished)

    def record(
        self,
        request_id: str,
        kind: str,
        contact_id: int,
        step: str,
        status: Status,
        *,
        durable: bool = True,
        **data: Any,
    ) -> RequestState:
        """Append one record; only then may the caller run (``start``) or trust (``done``) its step.

        Every record is flushed to the OS at once, so a killed process loses none. ``durable`` also fsyncs
        it (and so every record before it) to survive a power cut: needed before a step that cannot simply be
        repeated (a notification, a delivery); a lost record of a repeatable step only means it is repeated.
        """
        if self._handle is None:
            raise RuntimeError("the journal is not open for writing")
        record = {
            "time": now().isoformat(timespec="milliseconds"),
            "request": request_id,
            "kind": kind,
            "contact": contact_id,
            "step": step,
            "status": status,
        }
        if data:
            record["data"] = data
        with self._write_lock:
            self._boundary()
            self._handle.write(json.dumps(record, separators=(",", ":")) + "\n")
            self._handle.flush()
            if durable:
                os.fsync(self._handle.fileno())
            self._apply(record)
            self._boundary()
            return self.states[request_id]

    def sync(self) -> None:
        """Make every record written so far survive a power cut (one fsync for a batch of records)."""
        if self._handle is not None:
            with self._write_lock:
                os.fsync(self._handle.fileno())

    def _boundary(self) -> None:
        """The crash-test hook: die here, without cleanup, when this is the boundary the test asked for."""
        pid, count = _BOUNDARIES.get("pid", 0), _BOUNDARIES.get("count", 0)
        count = count + 1 if pid == os.getpid() else 1  # counted per process, across its journals
        _BOUNDARIES.update(pid=os.getpid(), count=count)
        if count == self._crash_at:
            os._exit(CRASH_EXIT)
