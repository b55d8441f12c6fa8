"""The audit log: one JSON line per step of every request, for the record of what was done and when.

Why separate from the journal: the journal is machine state (it may be rotated once every request in it is
finished); the audit log is the operator's evidence and is only ever appended to. Lines carry time, request
id, type, contact id, step and outcome, plus a reason on failure; never an email address or a name (the reason
texts are built from ids and step names, and pass through the redactor as a last line of defence)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import IO

from gdpr_as_code.dsr.journal import now
from gdpr_as_code.redact import Redactor


class AuditLog:
    """An append-only JSONL file; lines are flushed, not fsynced (crash safety rests on the journal)."""

    def __init__(self, path: Path, redactor: Redactor | None = None) -> None:
        self.path = path
        self.redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._handle: IO[str] | None = None

    def __enter__(self) -> AuditLog:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._handle = self.path.open("a", encoding="utf-8")
        os.chmod(self.path, 0o600)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def write(
        self, request_id: str, kind: str, contact_id: int, step: str, outcome: str, reason: str = ""
    ) -> None:
        """Append one step's outcome (``started``, ``done``, ``failed``, ``skipped``, ``resumed`` ...)."""
        line = {
            "time": now().isoformat(timespec="milliseconds"),
            "request": request_id,
            "type": kind,
            "contact": contact_id,
            "step": step,
            "outcome": outcome,
        }
        if reason:
            line["reason"] = self.redactor.text(reason)
        if self._handle is None:
            raise RuntimeError("the audit log is not open")
        with self._lock:
            self._handle.write(json.dumps(line, separators=(",", ":")) + "\n")
            self._handle.flush()
