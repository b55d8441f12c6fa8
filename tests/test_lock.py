"""The local apply lock: one apply per instance per machine, released even when the holder dies."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from gdpr_as_code.errors import LockError
from gdpr_as_code.lock import instance_key, local_lock, lock_path

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
        "import sys, time; from pathlib import Path; from gdpr_as_code.lock import local_lock\n"
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
