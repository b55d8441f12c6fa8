"""Benchmark: fulfilling 1,000 erasures and 200 access requests on a sandbox with network latency.

Prints API requests per contact (the figure that decides wall time on a real, distant Mautic) and wall time,
for access and erasure separately, and the speed-up the worker pool gives over one worker at a time.

    python3 benchmarks/bench_requests.py                      # 1,000 erasures + 200 access, 20 ms latency
    python3 benchmarks/bench_requests.py --erasures 100 --access 20 --latency-ms 5    # a quick look
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from browser import click, request_form_body, tracked_links  # noqa: E402

from gdpr_as_code import converge, dsr  # noqa: E402
from gdpr_as_code.dsr import cases  # noqa: E402
from gdpr_as_code.dsr.erasure import RECEIPT_KEY_ENV  # noqa: E402
from gdpr_as_code.mautic.connect import client_from_env  # noqa: E402
from gdpr_as_code.sandbox import Sandbox  # noqa: E402
from gdpr_as_code.spec.load import load_spec  # noqa: E402


def seed(api: httpx.Client, erasures: int, access: int) -> None:
    """File the requests as people do, through the public form (its confirmation is the verification email),
    let each erasure's requester click the link in it, then rebuild the segments (Mautic's cron)."""
    forms = api.get("/api/forms").json()["forms"]
    form = next(f for f in forms if f["name"] == "GDPR request")
    people = [("forget", i) for i in range(erasures)] + [("access", i) for i in range(access)]

    def submit(person: tuple[str, int]) -> None:
        kind, i = person
        body = request_form_body(form, f"P{i}", f"{kind}{i}@example.com", [kind])
        url = api.base_url.join("/form/submit")  # a new visitor each: no cookie jar
        posted = httpx.post(url, params={"formId": form["id"]}, data=body)
        assert posted.status_code == 302, posted.text[:200]

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(submit, people))
        pages = [m["body"] for m in api.get("/_sandbox/outbox").json()["messages"] if "forget" in m["to"]]
        list(pool.map(lambda page: click(tracked_links(page)[0]), pages))
    api.post("/_sandbox/segments/rebuild").raise_for_status()


def fulfil(setup: dsr.Setup, kind: str) -> tuple[int, float]:
    """Fulfil every request of ``kind``; an export left in the delivery folder is then handed over
    (``requests delivered``), which sends its notification: the whole answer to the person. Answers how
    many requests were done."""
    started = time.perf_counter()
    summary = dsr.fulfil(setup, dsr.Options(kinds=(kind,), yes=True))
    done = summary.count("done")
    for outcome in summary.outcomes:
        if outcome.status == "waiting":
            handed = cases.delivered(setup, outcome.request_id, lambda: [])
            done += handed.count("done")
    return done, time.perf_counter() - started


def run(erasures: int, access: int, latency_ms: int, workers: int, work: Path) -> dict[str, Any]:
    """One full run on a fresh sandbox; the figures of each phase."""
    with Sandbox() as sandbox:
        env = {
            "MAUTIC_URL": sandbox.url,
            "MAUTIC_USERNAME": "admin",
            "MAUTIC_PASSWORD": "sandbox",
            RECEIPT_KEY_ENV: "benchmark-receipt-key-0123456789",
        }
        shutil.copytree(ROOT / "configs", work, dirs_exist_ok=True)
        spec = load_spec(work / "gdpr.yaml", env=env)
        client = client_from_env(spec.target, env)
        converge.apply(converge.plan(spec, client), client)
        api = httpx.Client(base_url=sandbox.url, auth=("admin", "sandbox"), timeout=60)
        seed(api, erasures, access)
        api.post("/_sandbox/faults", json={"kind": "latency", "ms": latency_ms}).raise_for_status()
        setup = dsr.prepare(spec, client, state_dir=work / "state", env=env, workers=workers)
        figures: dict[str, Any] = {}
        for kind, count in (("access", access), ("erasure", erasures)):
            client.stats.reset()
            done, seconds = fulfil(setup, kind)
            assert done == count, f"{done} of {count} {kind} requests done"
            # Everything the commands send: the listing (segment pages, batched reads), work, hand-over.
            figures[kind] = {"contacts": count, "requests": client.stats.total, "seconds": seconds}
        api.close()
        client.close()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--erasures", type=int, default=1000)
    parser.add_argument("--access", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    print(
        f"{args.erasures} erasures + {args.access} access requests, {args.latency_ms} ms latency per API "
        f"call, {args.workers} workers"
    )
    with tempfile.TemporaryDirectory() as temp:
        figures = run(args.erasures, args.access, args.latency_ms, args.workers, Path(temp) / "ops")
        small = max(1, min(args.access, 20))
        serial = run(0, small, args.latency_ms, 1, Path(temp) / "serial")["access"]
    for kind, f in figures.items():
        per = f["requests"] / f["contacts"]
        print(
            f"{kind:8} {f['contacts']:5} contacts  {f['requests']:6} API requests  {per:5.2f} "
            f"requests/contact  {f['seconds']:6.1f} s  {1000 * f['seconds'] / f['contacts']:6.1f} ms/contact"
        )
    total = sum(f["seconds"] for f in figures.values())
    print(f"total    {total:.1f} s wall time")
    one = serial["seconds"] / serial["contacts"]
    many = figures["access"]["seconds"] / max(1, figures["access"]["contacts"])
    print(f"access with {args.workers} workers vs 1 worker: {one / many:.1f}x faster per contact")
    latency_floor = figures["erasure"]["requests"] * args.latency_ms / 1000
    ratio = figures["erasure"]["seconds"] / latency_floor
    print(f"erasure wall time / (its requests × latency, one at a time): {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
