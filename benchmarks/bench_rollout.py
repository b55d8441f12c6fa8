"""Wall time of plan and apply over an inventory of 100 sandboxes with 50 ms latency per request, against the
same for one instance and against a sequential loop. Run: ``python3 benchmarks/bench_rollout.py [--full]``.

Every sandbox runs on its own port, with the fault rule ``{"kind": "latency", "ms": 50}``, so each request
waits as on a distant Mautic. The sandboxes stand for 100 distant servers, so they run in child processes
(``--servers`` of them): in this process they would take the client's interpreter lock and CPU, and the
benchmark would time the stand-ins rather than the tool. ``--servers 0`` keeps them in this process. The
rollout runs as ``plan/apply --inventory`` do (``rollout`` library: prepare, plan concurrently, apply in
waves), at the default parallelism and at a higher one. The sequential loop is the same code at parallelism 1;
by default it covers a sample of the inventory and is scaled linearly to the whole (per-instance work is
independent, so it is linear), which keeps the run under about three minutes. ``--full`` loops over all
instances instead. Figures are printed as ratios: whole inventory / one instance, and sequential / concurrent.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

from gdpr_as_code.guard.apply import ApplyOptions
from gdpr_as_code.mautic.policy import RetryPolicy
from gdpr_as_code.rollout import runner as rollout
from gdpr_as_code.rollout import steps as rollout_steps
from gdpr_as_code.rollout.inventory import Inventory, load_inventory
from gdpr_as_code.sandbox import Sandbox

SPEC = Path(__file__).resolve().parents[1] / "configs" / "gdpr.yaml"
INSTANCES = 100
LATENCY_MS = 50
SEQUENTIAL_SAMPLE = 10


# A child process: start N sandboxes, print their URLs, serve until stdin closes.
SERVE = (
    "import sys; from gdpr_as_code.sandbox import Sandbox; "
    "boxes = [Sandbox().start() for _ in range(int(sys.argv[1]))]; "
    "print(*(box.url for box in boxes), sep='\\n', flush=True); sys.stdin.read(); "
    "[box.stop() for box in boxes]"
)


@contextmanager
def sandboxes(count: int, servers: int) -> Iterator[list[str]]:
    """The URLs of ``count`` sandboxes, served by ``servers`` child processes (0: by this one)."""
    if servers == 0:
        boxes = [Sandbox().start() for _ in range(count)]
        try:
            yield [box.url for box in boxes]
        finally:
            for box in boxes:
                box.stop()
        return
    shares = [share for index in range(servers) if (share := count // servers + (index < count % servers))]
    children = [subprocess.Popen([sys.executable, "-c", SERVE, str(share)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True) for share in shares]
    try:
        yield [child.stdout.readline().strip() for child, share in zip(children, shares, strict=True)
               for _ in range(share) if child.stdout]
    finally:
        for child in children:
            child.communicate("")


def control(url: str, method: str, path: str, body: Any = None) -> None:
    httpx.request(method, f"{url}/_sandbox{path}", json=body, timeout=10).raise_for_status()


def make_inventory(directory: Path, urls: list[str]) -> tuple[Inventory, dict[str, str]]:
    """An inventory of the sandboxes, each with its own credential variables, and the environment for it."""
    lines = ["version: 1", "instances:"]
    env = dict(os.environ)
    for index, url in enumerate(urls):
        lines.append(
            f"  - {{name: shop-{index:03d}, url: '{url}', username_env: SHOP{index}_USER, "
            f"password_env: SHOP{index}_PASSWORD, variables: {{company: 'Shop {index}'}}}}"
        )
        env[f"SHOP{index}_USER"], env[f"SHOP{index}_PASSWORD"] = "admin", "sandbox"
    path = directory / "inventory.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return load_inventory(path), env


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def reset(urls: list[str]) -> None:
    for url in urls:
        control(url, "POST", "/reset")


def plan_and_apply(
    inventory: Inventory, instances: list[Any], env: dict[str, str], parallelism: int, receipts: Path
) -> tuple[float, float]:
    """Seconds for planning these instances, then for applying them (fresh installs), at ``parallelism``."""
    options = rollout_steps.RolloutOptions(
        parallelism=parallelism,
        apply=ApplyOptions(receipts=receipts),
        client_options={"retry": RetryPolicy(attempts=1)},
    )
    plan_seconds, (ready, plans) = timed(lambda: rollout_steps.plan_inventory(SPEC, instances, env, options))
    assert all(result.status == "ok" for result in plans), [result.error for result in plans]
    apply_seconds, applied = timed(lambda: rollout_steps.apply_all(inventory, ready, plans, env, options))
    assert all(result.status == "ok" for result in applied), [result.error for result in applied]
    return plan_seconds, apply_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="Loop sequentially over all instances.")
    parser.add_argument("--instances", type=int, default=INSTANCES)
    parser.add_argument("--servers", type=int, default=2, help="Child processes serving the sandboxes.")
    args = parser.parse_args()
    with sandboxes(args.instances, args.servers) as boxes, TemporaryDirectory() as temporary:
        for box in boxes:
            control(box, "POST", "/faults", {"kind": "latency", "ms": LATENCY_MS})
        directory = Path(temporary)
        os.environ["GDPR_AS_CODE_LOCK_DIR"] = str(directory / "locks")  # apply locks, as in CI
        inventory, env = make_inventory(directory, boxes)
        everyone = list(inventory.instances)
        sample = everyone if args.full else everyone[:SEQUENTIAL_SAMPLE]
        receipts = directory / "receipts"

        one = plan_and_apply(inventory, everyone[:1], env, 1, receipts)
        reset(boxes)
        sequential = plan_and_apply(inventory, sample, env, 1, receipts)
        scale = len(everyone) / len(sample)
        sequential = (sequential[0] * scale, sequential[1] * scale)
        concurrent = {}
        for parallelism in (rollout.DEFAULT_PARALLELISM, 16):
            reset(boxes)
            concurrent[parallelism] = plan_and_apply(inventory, everyone, env, parallelism, receipts)

    n = len(everyone)
    how = "measured" if args.full else f"measured on {len(sample)}, scaled ×{scale:g}"
    where = f"in {args.servers} child processes" if args.servers else "in this process"
    print(f"{n} sandboxes {where}, {LATENCY_MS} ms latency per request, configs/gdpr.yaml, fresh instances")
    print(f"{'':46}{'plan':>10}{'apply':>10}")
    print(f"{'one instance':46}{one[0]:>9.2f}s{one[1]:>9.2f}s")
    print(f"{'sequential loop (' + how + ')':46}{sequential[0]:>9.2f}s{sequential[1]:>9.2f}s")
    for parallelism, (plan_s, apply_s) in concurrent.items():
        print(f"{f'inventory, parallelism {parallelism}':46}{plan_s:>9.2f}s{apply_s:>9.2f}s")
    print()
    for parallelism, (plan_s, apply_s) in concurrent.items():
        ideal = n / parallelism  # instances one after another in each of the parallel lanes
        print(
            f"parallelism {parallelism:>2}: whole inventory / one instance = plan {plan_s / one[0]:.1f}×, "
            f"apply {apply_s / one[1]:.1f}×, both {(plan_s + apply_s) / sum(one):.1f}× (ideal {ideal:.2f}×, "
            f"goal ≤ {1.25 * ideal:.2f}×); sequential / concurrent = plan {sequential[0] / plan_s:.1f}×, "
            f"apply {sequential[1] / apply_s:.1f}× faster"
        )


if __name__ == "__main__":
    main()
