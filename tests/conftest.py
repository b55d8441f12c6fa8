"""Shared fixtures: one sandbox per test session on port 0, reset before each test.

``sandbox`` yields the running ``Sandbox`` (``sandbox.url``; Basic auth ``admin`` / ``sandbox``) in a fresh
state: data reset, request log cleared, no faults, rate limiter off. After the test, any exception a handler
raised inside the server thread is re-raised, so a sandbox bug cannot hide behind a 500 the client tolerated.
``controls`` drives the ``/_sandbox/`` endpoints over HTTP, as a test or benchmark of a client would.
``sandbox_env`` sets the variables a user would to point the CLI at it; apply locks always go to ``tmp_path``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sandbox_controls import SandboxControls

from gdpr_as_code.sandbox import Sandbox

SANDBOX_AUTH = ("admin", "sandbox")



# The acceptance suite needs a real Mautic (tests/acceptance/conftest.py); without one it is left out, once.
ACCEPTANCE_URL = "GDPR_AS_CODE_TEST_MAUTIC_URL"
collect_ignore = [] if os.environ.get(ACCEPTANCE_URL) else ["acceptance"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if collect_ignore:
        terminalreporter.write_line(
            f"acceptance suite skipped: {ACCEPTANCE_URL} is not set (it needs a real Mautic; README, Testing)"
        )


@pytest.fixture(autouse=True)
def _locks_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test's apply locks live in its own temporary directory, never in the user's ~/.cache."""
    monkeypatch.setenv("GDPR_AS_CODE_LOCK_DIR", str(tmp_path / "locks"))


@pytest.fixture
def sandbox_env(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The connection variables a user sets to point the CLI at the sandbox (Basic auth); set and returned."""
    env = {"MAUTIC_URL": sandbox.url, "MAUTIC_USERNAME": SANDBOX_AUTH[0], "MAUTIC_PASSWORD": SANDBOX_AUTH[1]}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def _sandbox_session() -> Iterator[Sandbox]:
    with Sandbox() as server:
        yield server


@pytest.fixture(scope="session")
def _controls_session(_sandbox_session: Sandbox) -> Iterator[SandboxControls]:
    controls = SandboxControls(_sandbox_session.url)
    yield controls
    controls.close()


@pytest.fixture
def sandbox(_sandbox_session: Sandbox, _controls_session: SandboxControls) -> Iterator[Sandbox]:
    """The session's sandbox, fresh: reset data, empty request log, no faults, no rate limit."""
    _sandbox_session.check_errors()
    _controls_session.clear_faults()
    _controls_session.rate_limit(0)
    _controls_session.reset()
    _controls_session.clear_requests()
    yield _sandbox_session
    _controls_session.clear_faults()
    _sandbox_session.check_errors()


@pytest.fixture
def controls(sandbox: Sandbox, _controls_session: SandboxControls) -> SandboxControls:
    """Controls of the (fresh) session sandbox."""
    return _controls_session


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """An httpx client on the sandbox with Basic auth, as a test of the raw API needs."""
    with httpx.Client(base_url=sandbox.url, auth=SANDBOX_AUTH, timeout=10) as client:
        yield client
