"""Concurrency against the sandbox over HTTP: plan's reads and apply's writes overlap (the sandbox's ``peak``
of requests answered at once), bounded as asked; contact fields are written alone; the dependency walk keeps
apply's order and stops cleanly on a failure; one OAuth2 token serves concurrent requests; and a kill -9 in
the middle of a concurrent apply leaves nothing a rerun would duplicate."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from test_e2e_faults import assert_one_of_each
from test_e2e_plan_apply import SPEC_PATH, connect, writes

from gdpr_as_code import converge
from gdpr_as_code.converge.changes import Change, Create, Delete
from gdpr_as_code.converge.walk import StepFailed, order, walk
from gdpr_as_code.mautic.auth import OAuth2ClientCredentials
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.concurrent import gather
from gdpr_as_code.mautic.policy import RetryPolicy
from gdpr_as_code.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from gdpr_as_code.spec import Spec, load_spec


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})


def change(kind: str, key: str, action: str = "create", desired: Any = None) -> Change:
    if action == "delete":
        return Delete(kind=kind, key=key, name=f"#{key}", mautic_id=1, fingerprint="")
    return Create(kind=kind, key=key, name=f"#{key}", desired=desired or {})


def test_plan_reads_its_five_lists_at_once(spec: Spec, sandbox: Any, controls: Any) -> None:
    controls.fault(kind="latency", ms=150, methods=["GET"])
    with connect(sandbox.url) as client:
        controls.clear_requests()
        converge.plan(spec, client)
    logged = controls.requests()
    assert logged["total"] == 5 and logged["peak"] == 5


@pytest.mark.parametrize("parallelism", [1, 2, 4])
def test_apply_writes_at_most_parallelism_at_once_fields_one_by_one_and_before_what_names_them(
    parallelism: int, spec: Spec, sandbox: Any, controls: Any
) -> None:
    controls.fault(kind="latency", ms=120, methods=["POST", "PATCH"])
    with connect(sandbox.url) as client:
        plan = converge.plan(spec, client)
        events: list[tuple[str, str]] = []
        running: list[str] = []
        peak = {"all": 0, "fields": 0}
        lock = threading.Lock()
        original = MauticClient.create

        def watched(self: MauticClient, path: str, body: Any, **options: Any) -> dict[str, Any]:
            with lock:
                running.append(path)
                events.append(("start", path))
                peak["all"] = max(peak["all"], len(running))
                peak["fields"] = max(peak["fields"], sum(p.startswith("/fields") for p in running))
            try:
                return original(self, path, body, **options)
            finally:
                with lock:
                    running.remove(path)
                    events.append(("end", path))

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(MauticClient, "create", watched)
            controls.clear_requests()
            outcomes = converge.apply(plan, client, parallelism=parallelism)
        assert peak == {"all": parallelism, "fields": 1}
        fields = [n for n, (_, path) in enumerate(events) if path.startswith("/fields")]
        naming = [n for n, (what, path) in enumerate(events)  # after the field registry, made before fields
                  if what == "start" and path.startswith(("/segments/new", "/forms")) and n > fields[0]]
        assert max(fields) < min(naming)  # segment filters and form fields name the fields by alias
        assert [o.kind for o in outcomes] == [c.kind for c in plan.actionable]  # the serial order, still
        controls.clear_faults()
        controls.clear_requests()
        converge.apply(converge.plan(spec, client), client)
        assert writes(controls) == []  # a second apply still writes nothing
        assert_one_of_each(spec, client)


def test_order_writes_fields_one_by_one_and_waits_only_for_what_a_change_names() -> None:
    steps = order([
        change("forms", "f", desired={"actions": {"a": {"email": "@emails.e"}}}),
        change("emails", "e"),
        change("segments", "s"),
        change("fields", "x"),
        change("fields", "y"),
        change("focus", "old", "delete"),
        change("fields", "z", "delete"),
        change("segments", "gone", "delete"),
    ])
    assert [(s.change.kind, s.change.key) for s in steps] == [
        ("fields", "x"), ("fields", "y"), ("segments", "s"), ("emails", "e"), ("forms", "f"),
        ("focus", "old"), ("segments", "gone"), ("fields", "z"),
    ]
    assert [sorted(s.after) for s in steps] == [
        [], [0], [0, 1], [], [0, 1, 3],  # fields one by one; the rest as soon as what they name is made
        [0, 1, 2, 3, 4], [0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5, 6],  # deletes after, in reverse kind order
    ]


def test_a_failure_stops_new_writes_and_lets_running_ones_finish() -> None:
    steps = order([change("segments", f"s{i}") for i in range(6)])
    started, finished = [], []

    def do(c: Change) -> None:
        started.append(c.key)
        if c.key == "s0":
            raise RuntimeError("refused")
        time.sleep(0.1)
        finished.append(c.key)

    with pytest.raises(StepFailed) as failed:
        walk(steps, do, parallelism=3)
    assert failed.value.change.key == "s0" and str(failed.value) == "refused"
    assert started == ["s0", "s1", "s2"] and sorted(finished) == ["s1", "s2"]


def test_gather_keeps_the_order_and_raises_the_first_failure() -> None:
    assert gather([lambda n=n: n * n for n in range(7)], 4) == [0, 1, 4, 9, 16, 25, 36]

    def boom() -> int:
        raise ValueError("first")

    with pytest.raises(ValueError, match="first"):
        gather([lambda: 1, boom, lambda: 3], 2)


def test_one_oauth2_token_serves_concurrent_requests_and_is_renewed_once(
    spec: Spec, sandbox: Any, controls: Any
) -> None:
    auth = OAuth2ClientCredentials(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET)
    quick = RetryPolicy(base_delay=0.001, max_delay=0.01)
    controls.fault(kind="latency", ms=100, methods=["GET"])
    with MauticClient(sandbox.url, auth, retry=quick) as client:
        converge.plan(spec, client)
        assert client.stats.token_requests == 1
        controls.expire_tokens()
        converge.plan(spec, client)  # five requests refused at once: one new token
        assert client.stats.token_requests == 2


def test_kill_9_during_a_concurrent_apply_leaves_no_duplicate(
    spec: Spec, sandbox: Any, controls: Any, sandbox_env: dict[str, str], tmp_path: Any
) -> None:
    controls.fault(kind="latency", ms=250, methods=["POST", "PATCH"])
    command = [sys.executable, "-m", "gdpr_as_code.cli", "apply", str(SPEC_PATH), "--auto-approve",
               "--receipts", str(tmp_path)]
    child = subprocess.Popen(command, env={**os.environ, **sandbox_env}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while sum(r["method"] == "POST" for r in controls.requests()["requests"]) < 5:  # fields, then others
        assert time.monotonic() < deadline and child.poll() is None, "it never started writing"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    time.sleep(0.4)  # the writes in flight land after their latency
    controls.clear_faults()
    with connect(sandbox.url) as client:
        converge.apply(converge.plan(spec, client), client)
        assert_one_of_each(spec, client)
        controls.clear_requests()
        converge.apply(converge.plan(spec, client), client)
        assert writes(controls) == []


@pytest.mark.parametrize("parallelism", ["1", "3"])
def test_the_cli_passes_parallelism_to_apply_and_refuses_it_for_a_plan(
    parallelism: str, sandbox_env: dict[str, str], controls: Any, capsys: pytest.CaptureFixture[str],
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gdpr_as_code.cli import main

    assert main(["plan", str(SPEC_PATH), "--parallelism", "2"]) == 64  # a usage error
    assert "plan reads its 5 lists at once; --parallelism needs --inventory." in capsys.readouterr().err
    controls.fault(kind="latency", ms=80, methods=["POST"])
    running, peak, lock = [0], [0], threading.Lock()
    original = MauticClient.create

    def watched(self: MauticClient, path: str, body: Any, **options: Any) -> dict[str, Any]:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return original(self, path, body, **options)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(MauticClient, "create", watched)
    receipts = ["--receipts", str(tmp_path)]
    assert main(["apply", str(SPEC_PATH), "--auto-approve", "--parallelism", parallelism, *receipts]) == 0
    assert peak[0] == int(parallelism)
