"""The local apply lock: one apply per instance per machine, released even when the holder dies."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdpr_as_code.errors import LockError
from gdpr_as_code.guard.lock import REMOTE_ALIAS, REMOTE_MARKER, local_lock, lock_path, remote_lock
from gdpr_as_code.mautic.auth import BasicAuth
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import EnvTarget, client_from_env, instance_key

URL = "https://mautic.example.org"


def test_instance_key_ignores_credentials_case_and_final_slash() -> None:
    assert instance_key("HTTPS://user:pw@Mautic.Example.org/") == "https://mautic.example.org"
    assert instance_key("http://127.0.0.1:8080/m/") == "http://127.0.0.1:8080/m"


def test_second_apply_to_the_same_instance_is_refused_with_the_holder(tmp_path: Path) -> None:
    with local_lock(URL, tmp_path):
        with pytest.raises(LockError) as err, local_lock(URL + "/", tmp_path):
            pass
        message = str(err.value)
        assert "Another apply to https://mautic.example.org is running on this machine" in message
        assert "--lock-timeout" in message
    with local_lock(URL, tmp_path):  # released: the next run takes it
        pass


def test_other_instances_are_not_blocked(tmp_path: Path) -> None:
    with local_lock(URL, tmp_path), local_lock("https://other.example.org", tmp_path):
        assert lock_path(URL, tmp_path) != lock_path("https://other.example.org", tmp_path)


def test_timeout_waits_for_the_holder(tmp_path: Path) -> None:
    held = threading.Event()

    def hold_briefly() -> None:
        with local_lock(URL, tmp_path):
            held.set()
            time.sleep(0.3)

    worker = threading.Thread(target=hold_briefly)
    worker.start()
    held.wait(5)
    started = time.monotonic()
    with local_lock(URL, tmp_path, timeout=5):
        assert time.monotonic() - started >= 0.1
    worker.join()


def test_lock_of_a_killed_process_is_free(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from gdpr_as_code.guard.lock import local_lock\n"
        f"with local_lock({URL!r}, Path({str(tmp_path)!r})):\n"
        "    print('held', flush=True); time.sleep(60)\n"
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with pytest.raises(LockError), local_lock(URL, tmp_path):
            pass
    finally:
        child.kill()
        child.wait()
    with local_lock(URL, tmp_path):
        pass


# --- the remote lock, in Mautic itself (over HTTP against the sandbox) ---


def sandbox_client(url: str) -> MauticClient:
    return client_from_env(
        EnvTarget(url=url, auth="basic"), env={"MAUTIC_USERNAME": "admin", "MAUTIC_PASSWORD": "sandbox"}
    )


def lock_segments(api: httpx.Client) -> list[dict[str, Any]]:
    lists = api.get("/api/segments", params={"limit": 0}).json()["lists"]
    found = lists.values() if isinstance(lists, dict) else lists
    return [s for s in found if (s.get("description") or "").startswith(REMOTE_MARKER)]


def plant_lock(api: httpx.Client, expires: datetime) -> int:
    """A lock object as another runner would have left it."""
    marker = {"token": "other", "expires": expires.isoformat(), "holder": {"host": "runner-2", "pid": 7}}
    description = REMOTE_MARKER + json.dumps(marker)
    body = {"name": "lock", "alias": REMOTE_ALIAS, "isPublished": False, "description": description}
    answer = api.post("/api/segments/new", json=body)
    answer.raise_for_status()
    return int(answer.json()["list"]["id"])


def test_remote_lock_is_an_unpublished_segment_held_for_the_block(sandbox: Any, api: httpx.Client) -> None:
    with sandbox_client(sandbox.url) as client:
        with remote_lock(client, "https://mautic.example.org") as held:
            (segment,) = lock_segments(api)
            assert segment["id"] == held.segment_id and not segment["isPublished"]
        assert lock_segments(api) == []


def test_remote_lock_held_elsewhere_is_refused_and_leaves_nothing(sandbox: Any, api: httpx.Client) -> None:
    theirs = plant_lock(api, datetime.now(UTC) + timedelta(minutes=10))
    with sandbox_client(sandbox.url) as client, pytest.raises(LockError) as err, remote_lock(client, "X"):
        pass
    assert "process 7 on runner-2" in str(err.value) and f"segment {theirs}" in str(err.value)
    assert [s["id"] for s in lock_segments(api)] == [theirs]


def test_an_expired_remote_lock_is_cleared(sandbox: Any, api: httpx.Client) -> None:
    plant_lock(api, datetime.now(UTC) - timedelta(minutes=1))
    with sandbox_client(sandbox.url) as client, remote_lock(client, "X") as held:
        assert [s["id"] for s in lock_segments(api)] == [held.segment_id]
    assert lock_segments(api) == []


def test_two_runs_creating_locks_at_once_the_older_wins(sandbox: Any, api: httpx.Client) -> None:
    class RacingClient(MauticClient):
        """A real client; another runner's create lands just before ours: the race verify settles."""

        def create(self, path: str, body: Any, **options: Any) -> dict[str, Any]:
            plant_lock(api, datetime.now(UTC) + timedelta(minutes=10))
            return super().create(path, body, **options)

    racing = RacingClient(sandbox.url, BasicAuth("admin", "sandbox"))
    with racing, pytest.raises(LockError, match="Another apply holds the lock"), remote_lock(racing, "X"):
        pass
    (survivor,) = lock_segments(api)
    assert json.loads(survivor["description"][len(REMOTE_MARKER):])["token"] == "other"
