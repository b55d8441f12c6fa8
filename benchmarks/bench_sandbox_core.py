"""The sandbox's own costs: start/stop of many in one process, request throughput, and the price of --state.

Run: ``python3 benchmarks/bench_sandbox_core.py [SEGMENTS]``. Prints per-sandbox start and stop times (the
issue asks for "well under a second"), keep-alive requests per second for a single GET and for a list of
SEGMENTS segments, concurrent creates with 8 threads, and writes with the state persisted (atomic JSON writes
by a saver thread, a burst of writes saved once) as a ratio to in-memory writes.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from gdpr_as_code.sandbox import Sandbox

AUTH = ("admin", "sandbox")


def timed(action: object, repeat: int) -> float:
    """Seconds per call of ``action`` over ``repeat`` calls."""
    started = time.perf_counter()
    for _ in range(repeat):
        action()  # type: ignore[operator]
    return (time.perf_counter() - started) / repeat


def writes_per_second(sandbox: Sandbox, count: int) -> float:
    with httpx.Client(base_url=sandbox.url, auth=AUTH) as client:
        started = time.perf_counter()
        for n in range(count):
            client.post("/api/segments/new", json={"name": f"Write {n}"}).raise_for_status()
        return count / (time.perf_counter() - started)


def main(segments: int) -> None:
    started = time.perf_counter()
    many = [Sandbox().start() for _ in range(50)]
    start_each = (time.perf_counter() - started) / 50
    started = time.perf_counter()
    for server in many:
        server.stop()
    stop_each = (time.perf_counter() - started) / 50
    print(f"start: {start_each * 1000:.1f} ms each (50 in one process), stop {stop_each * 1000:.0f} ms")

    with Sandbox() as sandbox, httpx.Client(base_url=sandbox.url, auth=AUTH) as client:
        for n in range(segments):
            client.post("/api/segments/new", json={"name": f"Segment {n}"})
        one = timed(lambda: client.get("/api/users/self"), 300)
        listed = timed(lambda: client.get("/api/segments", params={"limit": 0}), 30)
        print(f"GET /api/users/self: {1 / one:.0f}/s; GET all {segments} segments: {1 / listed:.0f}/s")

        def create(n: int) -> None:
            with httpx.Client(base_url=sandbox.url, auth=AUTH) as own:
                for i in range(25):
                    own.post("/api/segments/new", json={"name": f"Parallel {n}-{i}"}).raise_for_status()

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(create, range(8)))
        print(f"concurrent creates (8 threads): {200 / (time.perf_counter() - started):.0f}/s")

    with Sandbox() as memory:
        in_memory = writes_per_second(memory, 200)
    with tempfile.TemporaryDirectory() as folder, Sandbox(state_file=Path(folder) / "s.json") as persisted:
        on_disk = writes_per_second(persisted, 200)
    ratio = in_memory / on_disk
    print(f"writes: {in_memory:.0f}/s in memory, {on_disk:.0f}/s with --state (in memory is {ratio:.1f}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
