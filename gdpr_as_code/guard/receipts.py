"""Apply receipts: the evidence of what was applied where and when, and ``history`` over them.

Every apply writes one JSON file (atomically: a temporary file in the same directory, then a rename, so a
reader never sees half a receipt) with the instance, time, tool version, spec and plan hashes, the spec's git
commit, and the before/after of every object changed. Months later, ``history`` answers "which consent text
was live on that day, and who reviewed it" by pointing at a commit and a plan.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast, get_args

from gdpr_as_code import converge
from gdpr_as_code.converge import Outcome
from gdpr_as_code.converge.changes import Action, Plan
from gdpr_as_code.errors import ApplyError, GdprAsCodeError
from gdpr_as_code.mautic.client import instance_slug
from gdpr_as_code.redact import Redactor
from gdpr_as_code.render.json import plan_redactor
from gdpr_as_code.render.text import is_change_of

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

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


def receipt_changes(plan: Plan, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What apply did, object by object: the outcome's id (new objects have one now) and the planned
    before/after of each changed field."""
    planned = {(c.kind, c.key): c for c in plan.changes}
    return [
        {
            "action": outcome.action,
            "kind": outcome.kind,
            "key": outcome.key,
            "address": outcome.address,
            "mautic_id": outcome.mautic_id,
            "fields": [item.to_dict() for item in planned[(outcome.kind, outcome.key)].fields],
        }
        for outcome in outcomes
    ]


@dataclass(frozen=True)
class Run:
    """One apply, as a receipt records it."""

    plan: Plan
    spec_path: Path
    started: datetime
    finished: datetime
    outcomes: Sequence[Outcome]
    error: str = ""


def apply_with_receipt(
    plan: Plan, client: MauticClient, spec_path: Path, directory: Path, base: Redactor
) -> tuple[tuple[Outcome, ...], Path | None]:
    """``converge.apply`` and a receipt of what it did, also when it failed part-way: then the failure is
    raised again as an ``ApplyError`` that says where that receipt is.

    An apply with nothing to do writes no receipt: receipts are the evidence of changes, and a scheduled
    drift check must not bury them in no-op files.
    """
    if not plan.has_changes:
        return (), None
    redactor = plan_redactor(plan, base)
    started = datetime.now(UTC)
    try:
        outcomes = converge.apply(plan, client)
    except GdprAsCodeError as err:  # a write failed, or verification could not read or found a difference
        done = cast(tuple[Outcome, ...], err.outcomes if isinstance(err, ApplyError) else ())
        run = Run(plan, spec_path, started, datetime.now(UTC), done, str(err))
        receipt = write_receipt(directory, build_receipt(run, redactor))
        message = f"{err}\nReceipt of this failed apply ({len(done)} change(s) made): {receipt}"
        raise (type(err) if isinstance(err, ApplyError) else ApplyError)(message, outcomes=done) from err
    run = Run(plan, spec_path, started, datetime.now(UTC), outcomes)
    return outcomes, write_receipt(directory, build_receipt(run, redactor))


def build_receipt(run: Run, redactor: Redactor) -> dict[str, Any]:
    """The receipt of ``run``, redacted: ``changes`` are the changes actually made."""
    git = git_state(run.spec_path)
    changes = receipt_changes(run.plan, run.outcomes)
    receipt = {
        "format_version": RECEIPT_FORMAT_VERSION,
        "kind": RECEIPT_KIND,
        "status": "failed" if run.error else "applied",
        "instance": run.plan.instance,
        "mautic_version": run.plan.mautic_version,
        "started_at": run.started.astimezone(UTC).isoformat(),
        "finished_at": run.finished.astimezone(UTC).isoformat(),
        "tool_version": run.plan.tool_version,
        "spec": {
            "path": run.spec_path.name,
            "sha256": run.plan.spec_sha256,
            "git_commit": git.commit if git else None,
            "git_modified": git.spec_modified if git else None,
        },
        "plan_sha256": run.plan.to_dict()["plan_sha256"],
        "summary": {a: sum(c["action"] == a for c in changes) for a in get_args(Action)},
        "changes": changes,
        "error": run.error or None,
    }
    return redactor.data(receipt)


def receipt_name(receipt: Mapping[str, Any]) -> str:
    """A file name that sorts by time and says which instance, ``20261129T064512Z-host_8443-1a2b3c4d.json``
    (the same instance slug as the request folders)."""
    when = datetime.fromisoformat(receipt["finished_at"]).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{when}-{instance_slug(receipt['instance'])}-{receipt['plan_sha256'][:8]}.json"


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the whole new one, never half of it: a
    temporary file in the same directory (created with the usual permissions), synced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_receipt(directory: Path, receipt: Mapping[str, Any]) -> Path:
    """Write ``receipt`` into ``directory`` atomically and return its path."""
    path = directory / receipt_name(receipt)
    try:
        write_atomically(path, json.dumps(receipt, indent=2, sort_keys=True) + "\n")
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


def read_receipts(where: Path) -> list[ReceiptEntry]:
    """Every receipt in the directory ``where`` (or beside the spec ``where``, as apply writes them), oldest
    first; a file that is not a receipt is an error naming it."""
    directory = default_receipt_dir(where) if where.is_file() else where
    if not directory.is_dir():
        raise GdprAsCodeError(
            f"No receipts directory at {directory}. Receipts are written by apply beside the spec (or where "
            "--receipts DIR says); pass the spec (history configs/gdpr.yaml) or that directory to history."
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
    """The receipts whose apply changed the object ``key``: an address (``segment.newsletter``), or a bare
    spec key when only one kind has it (``newsletter`` naming a segment and a form is refused, not mixed)."""
    if "." not in key:
        addresses = sorted({c.get("address", "") for e in entries for c in e.receipt.get("changes", [])
                            if c.get("key") == key})
        if len(addresses) > 1:
            raise GdprAsCodeError(f"--key {key} names {len(addresses)} objects ({', '.join(addresses)}): "
                                  f"give one of them, e.g. history --key {addresses[0]}.")
    return [e for e in entries if any(is_change_of(c, key) for c in e.receipt.get("changes", []))]


def applied_before(directory: Path, plan_sha256: str) -> ReceiptEntry | None:
    """The receipt of an earlier, successful apply of this very plan, if the receipts directory has one."""
    if not directory.is_dir():
        return None
    receipts = (entry for entry in read_receipts(directory) if entry.receipt.get("status") == "applied")
    return next((entry for entry in receipts if entry.receipt.get("plan_sha256") == plan_sha256), None)
