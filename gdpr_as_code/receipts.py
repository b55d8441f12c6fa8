"""Apply receipts: the evidence of what was applied where and when, and ``history`` over them.

Every apply writes one JSON file (atomically: a temporary file in the same directory, then a rename, so a
reader never sees half a receipt) with the instance, time, tool version, spec and plan hashes, the spec's git
commit, and the before/after of every object changed. Months later, ``history`` answers "which consent text
was live on that day, and who reviewed it" by pointing at a commit and a plan.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.lock import instance_key
from gdpr_as_code.redact import Redactor

RECEIPT_FORMAT_VERSION = 1
RECEIPT_KIND = "gdpr-as-code/apply-receipt"
DEFAULT_DIR_NAME = "receipts"


def default_receipt_dir(spec_path: Path) -> Path:
    """Receipts go beside the spec by default, so they can be committed with it."""
    return spec_path.resolve().parent / DEFAULT_DIR_NAME


@dataclass(frozen=True)
class GitState:
    """The commit checked out where the spec lives, and whether the spec differs from it."""

    commit: str
    spec_modified: bool


def git_state(spec_path: Path) -> GitState | None:
    """The spec's git commit, or None when it is not in a git work tree (or git is not installed)."""
    where = spec_path.resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if not commit:
        return None
    status = git("status", "--porcelain", "--", spec_path.resolve().name)
    return GitState(commit=commit, spec_modified=bool(status))


def build_receipt(
    *,
    plan: Mapping[str, Any],
    spec_path: Path,
    status: str,
    started: datetime,
    finished: datetime,
    changes: Sequence[Mapping[str, Any]],
    error: str = "",
    redactor: Redactor,
) -> dict[str, Any]:
    """The receipt of one apply of ``plan`` (its JSON form): ``changes`` are the changes actually made."""
    git = git_state(spec_path)
    receipt = {
        "format_version": RECEIPT_FORMAT_VERSION,
        "kind": RECEIPT_KIND,
        "status": status,
        "instance": plan["instance"],
        "started_at": started.astimezone(UTC).isoformat(),
        "finished_at": finished.astimezone(UTC).isoformat(),
        "tool_version": plan["tool_version"],
        "spec": {
            "path": spec_path.name,
            "sha256": plan["spec_sha256"],
            "git_commit": git.commit if git else None,
            "git_modified": git.spec_modified if git else None,
        },
        "plan_sha256": plan["plan_sha256"],
        "summary": _summary(changes),
        "changes": [dict(change) for change in changes],
        "error": error or None,
    }
    return redactor.data(receipt)


def _summary(changes: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    counts = {"create": 0, "update": 0, "delete": 0}
    for change in changes:
        if change.get("action") in counts:
            counts[change["action"]] += 1
    return counts


def receipt_name(receipt: Mapping[str, Any]) -> str:
    """A file name that sorts by time and says which instance: ``20261129T064512Z-host-1a2b3c4d.json``."""
    when = datetime.fromisoformat(receipt["finished_at"]).strftime("%Y%m%dT%H%M%S%fZ")
    host = re.sub(r"[^a-z0-9.-]+", "-", instance_key(receipt["instance"]).split("://", 1)[-1]).strip("-")
    return f"{when}-{host}-{receipt['plan_sha256'][:8]}.json"


def write_receipt(directory: Path, receipt: Mapping[str, Any]) -> Path:
    """Write ``receipt`` into ``directory`` atomically and return its path."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / receipt_name(receipt)
        fd, temporary = tempfile.mkstemp(prefix=".receipt-", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(receipt, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as err:
        raise GdprAsCodeError(
            f"Could not write the apply receipt to {directory}: {err.strerror}. The apply itself is done; "
            "pass --receipts DIR to choose a writable directory for the next run."
        ) from err
    return path


@dataclass(frozen=True)
class ReceiptEntry:
    """One receipt as ``history`` lists it."""

    path: Path
    receipt: dict[str, Any]


def read_receipts(directory: Path) -> list[ReceiptEntry]:
    """Every receipt in ``directory``, oldest first; a file that is not a receipt is an error naming it."""
    if not directory.is_dir():
        raise GdprAsCodeError(
            f"No receipts directory at {directory}. Receipts are written by apply beside the spec (or where "
            "--receipts DIR says); pass that directory to history."
        )
    entries = []
    for path in sorted(directory.glob("*.json")):
        try:
            receipt = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise GdprAsCodeError(
                f"{path} is not a readable receipt ({err}); move it out of {directory}."
            ) from err
        if not isinstance(receipt, dict) or receipt.get("kind") != RECEIPT_KIND:
            continue
        entries.append(ReceiptEntry(path, receipt))
    return entries


def touching(entries: Sequence[ReceiptEntry], key: str) -> list[ReceiptEntry]:
    """The receipts whose apply changed the object with spec key ``key``."""
    return [e for e in entries if any(c.get("key") == key for c in e.receipt.get("changes", []))]


def render_history(entries: Sequence[ReceiptEntry], key: str | None = None) -> str:
    """A table of receipts, oldest first; with ``key``, each row also shows that object's new values."""
    if not entries:
        return "No apply receipts." if key is None else f"No apply receipt changed {key}."
    lines = [f"{'finished (UTC)':<20} {'status':<8} {'+/~/-':<9} {'commit':<8} {'plan':<8} instance"]
    for entry in entries:
        r = entry.receipt
        counts = r.get("summary", {})
        tally = f"{counts.get('create', 0)}/{counts.get('update', 0)}/{counts.get('delete', 0)}"
        commit = ((r.get("spec") or {}).get("git_commit") or "-")[:7]
        if (r.get("spec") or {}).get("git_modified"):
            commit += "*"
        when = datetime.fromisoformat(r["finished_at"]).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{when:<20} {r.get('status', '?'):<8} {tally:<9} {commit:<8} {r['plan_sha256'][:8]:<8} "
            f"{r['instance']}  ({entry.path.name})"
        )
        if key is not None:
            for change in r.get("changes", []):
                if change.get("key") == key:
                    after = json.dumps(change.get("after"), sort_keys=True, ensure_ascii=False)
                    lines.append(f"    {change.get('action')} {key}: {after}")
    if any((e.receipt.get("spec") or {}).get("git_modified") for e in entries):
        lines.append("* the spec had uncommitted changes when it was applied")
    return "\n".join(lines)
