"""Wall time of plan and apply as ratios to one GET: on a real Mautic when the acceptance environment names
one, else on a sandbox with latency. Run: ``python3 benchmarks/bench_wall_time.py [--latency MS] [--serial]``.

Real Mautic: ``GDPR_AS_CODE_TEST_MAUTIC_URL`` with ``_USERNAME``/``_PASSWORD`` (Basic) and/or
``_CLIENT_ID``/``_CLIENT_SECRET`` (OAuth2), and ``_RESET``, a shell command that empties it (fresh applies
need one). Without them, a sandbox in this process answers after ``--latency`` ms (default 50).

For each auth, in one run: one GET (``/api/segments`` on a warm client, the median of GETs taken between
the other figures, so a machine shared with other work moves both sides alike); a fresh apply of
``configs/gdpr.yaml`` (``plan_and_apply``, the path of ``apply SPEC``: lock, plan, writes, verification,
receipt); its converged plan (median of 3); a second apply (must write nothing); a fresh apply of a
200-object spec (``bench_plan_apply.make_spec``). ``--serial`` adds the same at read concurrency 1 and
``--parallelism 1``, how the tool ran before. Seconds depend on the machine's load: compare the ratios, and
only within one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_plan_apply, beside this file

from bench_plan_apply import make_spec

from gdpr_as_code import converge
from gdpr_as_code.guard.apply import ApplyOptions, plan_and_apply
from gdpr_as_code.mautic.auth import Auth, BasicAuth, OAuth2ClientCredentials
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox
from gdpr_as_code.spec import Spec, load_spec

PREFIX = "GDPR_AS_CODE_TEST_MAUTIC"
SPEC = Path(__file__).resolve().parents[1] / "configs" / "gdpr.yaml"


class Target:
    """Where the benchmark runs: the auths it can use, and how to empty the instance."""

    def __init__(self, url: str, auths: dict[str, Callable[[], Auth]], reset: Callable[[], None]) -> None:
        self.url, self.auths, self.reset = url, auths, reset


@contextmanager
def target(latency_ms: int) -> Iterator[Target]:
    """The real Mautic the environment names, else a sandbox answering after ``latency_ms``."""
    env = os.environ
    if env.get(f"{PREFIX}_URL"):
        auths: dict[str, Callable[[], Auth]] = {}
        if env.get(f"{PREFIX}_USERNAME"):
            auths["Basic"] = lambda: BasicAuth(env[f"{PREFIX}_USERNAME"], env[f"{PREFIX}_PASSWORD"])
        if env.get(f"{PREFIX}_CLIENT_ID"):
            auths["OAuth2"] = lambda: OAuth2ClientCredentials(env[f"{PREFIX}_CLIENT_ID"],
                                                              env[f"{PREFIX}_CLIENT_SECRET"])
        command = env.get(f"{PREFIX}_RESET")
        if not command:
            sys.exit(f"{PREFIX}_RESET is not set: fresh applies need a command that empties the instance.")

        def reset() -> None:
            subprocess.run(command, shell=True, check=True, capture_output=True, timeout=300)

        yield Target(env[f"{PREFIX}_URL"], auths, reset)
        return
    with Sandbox() as box:
        def control(method: str, path: str, body: Any = None) -> None:
            httpx.request(method, f"{box.url}/_sandbox{path}", json=body, timeout=10).raise_for_status()

        def reset_box() -> None:
            control("POST", "/reset")
            control("POST", "/faults", {"kind": "latency", "ms": latency_ms})

        yield Target(box.url, {"Basic": lambda: BasicAuth("admin", "sandbox"),
                               "OAuth2": lambda: OAuth2ClientCredentials(DEFAULT_CLIENT_ID,
                                                                         DEFAULT_CLIENT_SECRET)}, reset_box)


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def measure(where: Target, auth: str, spec: Spec, receipts: Path, *, serial: bool) -> dict[str, Any]:
    """Seconds of each figure of ``spec`` for one auth; ``serial``: one read and one write at a time."""
    options = ApplyOptions(receipts=receipts, parallelism=1 if serial else ApplyOptions().parallelism)
    gets: list[float] = []

    def client() -> MauticClient:
        one_by_one = {"read_concurrency": 1} if serial else {}
        return MauticClient(where.url, where.auths[auth](), timeout=300, **one_by_one)

    def one_get(c: MauticClient) -> None:
        for _ in range(2):
            gets.append(timed(lambda: c.get("/segments", params={"limit": 1}))[0])

    where.reset()
    with client() as c:
        c.get("/segments", params={"limit": 1})  # a warm client: its token (OAuth2) and connection
        one_get(c)
        fresh, applied = timed(lambda: plan_and_apply(spec, c, options))
        one_get(c)
        plans = [timed(lambda: converge.plan(spec, c))[0] for _ in range(3)]
        one_get(c)
        before = c.stats.writes
        plan_and_apply(spec, c, options)
        again_writes = c.stats.writes - before
        made = len(applied.outcomes)
    return {
        "get": statistics.median(gets),
        "plan": statistics.median(plans),
        "fresh": fresh,
        "made": made,
        "again_writes": again_writes,
    }


def measure_big(where: Target, auth: str, big: Spec, receipts: Path) -> dict[str, Any]:
    """Seconds of a fresh apply of ``big`` (concurrent), with the GETs around it."""
    gets = []
    where.reset()
    with MauticClient(where.url, where.auths[auth](), timeout=300) as c:
        c.get("/segments", params={"limit": 1})
        gets.append(timed(lambda: c.get("/segments", params={"limit": 1}))[0])
        seconds, applied = timed(lambda: plan_and_apply(big, c, ApplyOptions(receipts=receipts)))
        gets.append(timed(lambda: c.get("/segments", params={"limit": 1}))[0])
    return {"big_get": statistics.median(gets), "big": seconds, "big_made": len(applied.outcomes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=50, help="Sandbox only: ms per request.")
    parser.add_argument("--serial", action="store_true", help="Also measure one request at a time.")
    parser.add_argument("--objects", type=int, default=200, help="Size of the big spec (0: leave it out).")
    args = parser.parse_args()
    spec = load_spec(SPEC, env={"MAUTIC_URL": "http://127.0.0.1"})
    big = make_spec(args.objects) if args.objects else None
    rows = []
    with target(args.latency) as where, TemporaryDirectory() as receipts:
        real = bool(os.environ.get(f"{PREFIX}_URL"))
        for auth in where.auths:  # first every figure of configs/gdpr.yaml, then the big spec
            for serial in (False, True) if args.serial else (False,):
                figures = measure(where, auth, spec, Path(receipts), serial=serial)
                rows.append((auth, serial, figures))
                print(f"  measured {auth}, serial={serial}: {figures}", file=sys.stderr, flush=True)
        for auth, serial, figures in rows:
            if big is not None and not serial:
                figures.update(measure_big(where, auth, big, Path(receipts)))
                print(f"  measured {auth}, {args.objects} objects: {figures}", file=sys.stderr, flush=True)
    print(("real Mautic " + os.environ.get(f"{PREFIX}_URL", "")) if real
          else f"sandbox, {args.latency} ms latency per request")
    print(f"{'':28}{'one GET':>9}{'converged plan':>18}{'fresh apply gdpr.yaml':>24}"
          f"{f'fresh apply {args.objects} objects' if big else '':>26}{'2nd apply writes':>18}")
    for auth, serial, m in rows:
        name, get = f"{auth}, {'one at a time' if serial else 'concurrent'}", m["get"]
        big = (f"{m['big']:>9.1f}s ={m['big'] / m['big_get']:>6.1f}× ({m['big_made']} made)" if "big" in m
               else f"{'-':>26}")
        print(f"{name:28}{get:>8.2f}s{m['plan']:>8.2f}s ={m['plan'] / get:>5.1f}×"
              f"{m['fresh']:>9.2f}s ={m['fresh'] / get:>5.1f}× ({m['made']:>2} made){big}"
              f"{m['again_writes']:>10}")

if __name__ == "__main__":
    main()
