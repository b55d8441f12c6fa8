"""A lock against two applies to the same Mautic instance at once. Mautic has none, so we bring two.

- ``local_lock``: an OS file lock (``flock``) on a file named after the instance URL, in
  ``GDPR_AS_CODE_LOCK_DIR`` (default ``~/.cache/gdpr-as-code/locks``). It covers every run on one machine
  that shares that directory. The kernel releases it when the process dies, so it never goes stale.
- ``remote_lock``: a lock object inside Mautic itself, for CI runners on different machines: an
  unpublished, filterless segment whose alias is ``gdpr-as-code-lock`` and whose description carries a
  marker, a random holder id and an expiry. It is acquired by create-then-verify (create ours, list all lock
  objects, the lowest id that has not expired wins; a loser deletes its own and fails), and deleted on
  release. A holder that died leaves it behind until it expires; the next run then removes it.

Neither lock stops a person editing Mautic by hand, another tool writing to Mautic, or a run that skips the
lock; the remote lock also assumes runner clocks agree within a small fraction of its lifetime.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gdpr_as_code.errors import LockError
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import instance_key

LOCK_DIR_ENV = "GDPR_AS_CODE_LOCK_DIR"
REMOTE_ALIAS = "gdpr-as-code-lock"
REMOTE_MARKER = "gdpr-as-code lock v1"
DEFAULT_TTL = timedelta(minutes=30)
_POLL_SECONDS = 0.1


def lock_path(instance_url: str, lock_dir: Path | None = None) -> Path:
    """The lock file of ``instance_url``: one per instance, named by a hash so any URL makes a valid name."""
    base = lock_dir or Path(os.environ.get(LOCK_DIR_ENV) or Path.home() / ".cache" / "gdpr-as-code" / "locks")
    digest = hashlib.sha256(instance_key(instance_url).encode()).hexdigest()[:24]
    return base / f"{digest}.lock"


def _holder() -> dict[str, Any]:
    """Who holds a lock, for the message the next run shows: host and process, never a user name."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": datetime.now(UTC).isoformat()}


def _describe(holder: Mapping[str, Any]) -> str:
    if not holder:
        return "another run"
    return f"process {holder.get('pid', '?')} on {holder.get('host', '?')} since {holder.get('since', '?')}"


@contextmanager
def local_lock(instance_url: str, lock_dir: Path | None = None, timeout: float = 0.0) -> Iterator[Path]:
    """Hold this machine's lock on ``instance_url`` in the ``with`` block; wait up to ``timeout`` seconds."""
    path = lock_path(instance_url, lock_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        opened = path.open("a+", encoding="utf-8")
    except OSError as err:  # e.g. a read-only home directory in a CI container
        raise LockError(
            f"Cannot create the apply lock file {path}: {err.strerror}. Set GDPR_AS_CODE_LOCK_DIR to a "
            "writable directory (e.g. /tmp/gdpr-as-code-locks) and rerun."
        ) from None
    deadline = time.monotonic() + timeout
    with opened as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise LockError(
                        f"Another apply to {instance_key(instance_url)} is running on this machine "
                        f"({_describe(_read_json(handle.read()))}; lock file {path}). Wait for it to finish, "
                        "or pass --lock-timeout SECONDS to wait for it."
                    ) from None
                time.sleep(_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder()))
        handle.flush()
        try:
            yield path
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class RemoteHolder:
    """One lock object found in Mautic."""

    segment_id: int
    token: str
    expires: datetime
    holder: dict[str, Any]


def _parse_remote(segment: Mapping[str, Any]) -> RemoteHolder | None:
    """The lock held by ``segment``, or None if it is not a lock object (merely a look-alike)."""
    description = segment.get("description") or ""
    if not description.startswith(REMOTE_MARKER):
        return None
    data = _read_json(description[len(REMOTE_MARKER) :])
    try:
        expires = datetime.fromisoformat(data["expires"])
        return RemoteHolder(int(segment["id"]), str(data["token"]), expires, dict(data.get("holder") or {}))
    except (KeyError, TypeError, ValueError):
        return None


def _list_remote(client: MauticClient) -> list[RemoteHolder]:
    """Every lock object in the instance, oldest first. One list call over all segments, filtered here by
    the marker: Mautic's ``search`` parses its own syntax, which a literal alias should not depend on."""
    segments = client.list_all("/segments", "lists")
    return sorted(
        (lock for lock in map(_parse_remote, segments) if lock is not None), key=lambda lock: lock.segment_id
    )


@contextmanager
def remote_lock(client: MauticClient, instance: str, ttl: timedelta = DEFAULT_TTL) -> Iterator[RemoteHolder]:
    """Hold the lock object in Mautic for the ``with`` block; see the module docstring for what it covers."""
    now = datetime.now(UTC)
    for lock in _list_remote(client):
        if lock.expires <= now:
            client.delete(f"/segments/{lock.segment_id}/delete")
        else:
            raise _held_error(instance, lock)
    token = secrets.token_hex(16)
    expires = now + ttl
    holder = _holder()
    marker = {"token": token, "expires": expires.isoformat(), "holder": holder}
    body = {
        "name": "gdpr-as-code apply lock (do not edit)",
        "alias": REMOTE_ALIAS,
        "description": REMOTE_MARKER + json.dumps(marker),
        "isPublished": False,
        "filters": [],
    }

    def find_ours() -> dict[str, Any] | None:
        """After a lost answer: our lock object if the create reached Mautic after all."""
        ours = [lock for lock in _list_remote(client) if lock.token == token]
        return {"id": ours[0].segment_id} if ours else None

    created = client.create("/segments/new", body, find_existing=find_ours)
    ours = RemoteHolder(int(created["id"]), token, expires, holder)
    try:
        alive = [lock for lock in _list_remote(client) if lock.expires > datetime.now(UTC)]
        winner = alive[0] if alive else None
        if winner is None or winner.token != token:
            raise _held_error(instance, winner)
        yield ours
    finally:
        client.delete(f"/segments/{ours.segment_id}/delete")


def _held_error(instance: str, lock: RemoteHolder | None) -> LockError:
    holder = "a run that started at the same moment"
    if lock is not None:
        holder = f"{_describe(lock.holder)}, segment {lock.segment_id}, until {lock.expires.isoformat()}"
    return LockError(
        f"Another apply holds the lock on {instance} ({holder}). Wait for it to finish and rerun. If that "
        "run died, its lock expires by itself; to clear it now, delete the unpublished segment with alias "
        f"{REMOTE_ALIAS} in Mautic."
    )


@contextmanager
def apply_lock(client: MauticClient, *, remote: bool = False, timeout: float = 0.0) -> Iterator[None]:
    """What every apply holds: this machine's lock on the client's instance, and with ``remote`` the lock
    object in Mautic too (for runners on different machines)."""
    with local_lock(client.base_url, timeout=timeout):
        if not remote:
            yield
            return
        with remote_lock(client, client.name):
            yield
