"""The CLI as a new user or an operator meets it, mistakes included: what they see and the exit code.

Each test pins one behaviour found by using the commands by hand (README's first commands, then every command
with the usual mistakes) and fixed where the message originates. They assert what the user reads: one
paragraph naming where and the fix, the README's exit code, no traceback.
"""

from __future__ import annotations

import importlib.metadata
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code import plan as plan_module
from gdpr_as_code.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "configs" / "gdpr.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``gdpr-as-code ARGS`` in-process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def user_env(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of a user pointed at the sandbox, with locks kept out of ~/.cache."""
    env = {
        "MAUTIC_URL": sandbox.url,
        "MAUTIC_USERNAME": "admin",
        "MAUTIC_PASSWORD": "sandbox",
        "GDPR_AS_CODE_LOCK_DIR": str(tmp_path / "locks"),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **env, "PYTHONPATH": str(ROOT)}


def test_version_works_from_a_source_tree_never_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python3 -m gdpr_as_code.cli --version`` from a checkout used to be an internal error (exit 70)."""

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.setattr(plan_module, "version", not_installed)
    code, out, err = run(capsys, "--version")
    assert (code, err) == (0, "")
    assert out == "gdpr-as-code, version 0+unknown\n"


def test_ctrl_c_during_apply_exits_130_and_says_how_to_finish(
    user_env: dict[str, str], controls: Any, tmp_path: Path
) -> None:
    """A real SIGINT while apply writes: exit 130 as the README's table says (it was "Aborted.", exit 1)."""
    controls.fault(kind="latency", ms=300, methods=["POST", "PATCH", "PUT"])
    receipts = tmp_path / "receipts"
    command = [sys.executable, "-m", "gdpr_as_code.cli", "apply", str(SPEC_PATH), "--auto-approve",
               "--receipts", str(receipts)]
    child = subprocess.Popen(command, env=user_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not any(r["method"] == "POST" for r in controls.requests()["requests"]):
        assert time.monotonic() < deadline and child.poll() is None, "apply never started writing"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    assert child.returncode == 130
    assert "Traceback" not in err
    assert "Interrupted. Rerun the same command to finish" in err
