"""The generic rollout machinery: bounded concurrency, failures kept per instance, waves, progress lines."""

from __future__ import annotations

import io
import re
import threading
import time
from types import MappingProxyType

import pytest

from gdpr_as_code.errors import MauticAuthError
from gdpr_as_code.rollout.inventory import Instance, Inventory
from gdpr_as_code.rollout.runner import InstanceResult, Progress, run, run_waves, waves
from gdpr_as_code.spec import Target


def inst(name: str, **labels: str) -> Instance:
    return Instance(name, Target(url=f"http://{name}.invalid"), MappingProxyType(labels))


def test_run_keeps_inventory_order_and_collects_failures_without_raising() -> None:
    instances = [inst(f"i{n}") for n in range(6)]

    def step(instance: Instance) -> str:
        if instance.name == "i2":
            raise MauticAuthError("Mautic at i2 refused the credentials — check I2_PASSWORD.")
        if instance.name == "i4":
            raise KeyError("secret-detail")
        return instance.name.upper()

    results = run(instances, step, parallelism=3)
    assert [r.instance.name for r in results] == [i.name for i in instances]
    assert [r.status for r in results] == ["ok", "ok", "failed", "ok", "failed", "ok"]
    assert results[0].value == "I0"
    assert results[2].error == "Mautic at i2 refused the credentials — check I2_PASSWORD."
    assert results[4].error.startswith("internal error (KeyError)")
    assert "secret-detail" not in results[4].error


def test_parallelism_is_bounded_and_used() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()

    def step(instance: Instance) -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    run([inst(f"i{n}") for n in range(12)], step, parallelism=4)
    assert peak == 4  # four steps were running at once: concurrent, and never more than asked


def test_parallelism_one_runs_inline_in_the_callers_thread() -> None:
    threads = set()
    run([inst("a"), inst("b")], lambda i: threads.add(threading.current_thread()), parallelism=1)
    assert threads == {threading.current_thread()}


def test_waves_follow_the_declared_order_then_unlabelled_in_batches() -> None:
    instances = [inst("a", wave="main"), inst("b"), inst("c", wave="canary"), inst("d"), inst("e"),
                 inst("f", wave="main")]
    inventory = Inventory("inv.yaml", tuple(instances), wave_order=("canary", "main"), batch_size=2)
    staged = waves(inventory, instances)
    assert [(w.name, [i.name for i in w.instances]) for w in staged] == [
        ("canary", ["c"]), ("main", ["a", "f"]), ("batch 1", ["b", "d"]), ("batch 2", ["e"]),
    ]


def test_without_wave_labels_the_first_instance_is_the_canary() -> None:
    instances = [inst(n) for n in "abcd"]
    staged = waves(Inventory("inv.yaml", tuple(instances)), instances)
    assert [(w.name, [i.name for i in w.instances]) for w in staged] == [
        ("canary", ["a"]), ("batch 1", ["b", "c", "d"]),
    ]


def test_a_failed_wave_stops_the_rollout_unless_continue_on_error() -> None:
    instances = [inst("c1", wave="canary"), inst("m1", wave="main"), inst("m2", wave="main")]
    staged = waves(Inventory("inv.yaml", tuple(instances), ("canary", "main")), instances)
    touched: list[str] = []

    def step(instance: Instance) -> None:
        touched.append(instance.name)
        if instance.name == "c1":
            raise MauticAuthError("refused")

    stops: list[tuple[str, str]] = []
    results = run_waves(staged, step, on_stop=lambda w, nxt: stops.append((w.name, nxt.name)))
    assert touched == ["c1"]
    assert [r.status for r in results] == ["failed", "skipped", "skipped"]
    assert "wave 'canary' failed on 1 instance(s)" in results[1].error
    assert stops == [("canary", "main")]

    touched.clear()
    results = run_waves(staged, step, continue_on_error=True)
    assert sorted(touched) == ["c1", "m1", "m2"]
    assert [r.status for r in results] == ["failed", "ok", "ok"]


def test_progress_writes_one_whole_line_per_instance_with_done_and_total() -> None:
    stream = io.StringIO()
    instances = [inst(f"i{n:02d}") for n in range(10)]
    progress: Progress[None] = Progress(len(instances), lambda r: r.status, stream)
    run(instances, lambda i: time.sleep(0.001), parallelism=5, on_result=progress)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 10
    assert all(re.fullmatch(r"\[ ?\d+/10\] i\d\d: ok \(\d+\.\ds\)", line) for line in lines)
    assert [line.split("]")[0] for line in lines] == [f"[{n:>2}/10" for n in range(1, 11)]
    assert sorted(line.split("] ")[1].split(":")[0] for line in lines) == [i.name for i in instances]


@pytest.mark.parametrize("parallelism", [1, 4])
def test_results_are_values_not_exceptions(parallelism: int) -> None:
    results = run([inst("x")], lambda i: 42, parallelism=parallelism)
    assert results == (InstanceResult(results[0].instance, "ok", 42, "", results[0].seconds),)


def test_the_clis_copies_of_library_constants_match_the_library() -> None:
    from gdpr_as_code import render
    from gdpr_as_code.cli import rollout as cli
    from gdpr_as_code.converge import walk
    from gdpr_as_code.rollout import runner

    assert cli.DEFAULT_PARALLELISM == runner.DEFAULT_PARALLELISM
    assert cli.DEFAULT_WRITES == walk.DEFAULT_PARALLELISM
    assert cli.PLAN_FORMATS == render.FORMATS
