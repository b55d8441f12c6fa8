"""Requests made by plan and apply for specs of 10, 100 and 1,000 objects, against a naive client that reads
one object per GET. Run: ``python3 benchmarks/bench_plan_apply.py [SIZES...]``.

Both sides run for real against a sandbox over HTTP and count requests in the client (``client.stats``). The
naive reader looks every desired object up by its alias or name with one GET each (what a client does when it
treats Mautic like a key-value store); our reader makes one list call per kind, all pages. Writes are the same
for both on a fresh instance (one per object); on a converged instance ours makes none. Figures are printed as
ratios, naive / ours.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from gdpr_as_code import converge
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import EnvTarget, client_from_env
from gdpr_as_code.resources import BY_NAME
from gdpr_as_code.sandbox import Sandbox
from gdpr_as_code.spec import (
    ContactField,
    Email,
    Form,
    FormAction,
    FormField,
    Segment,
    SegmentFilter,
    Spec,
    Target,
)

SIZES = (10, 100, 1000)


def make_spec(size: int) -> Spec:
    """A spec of ``size`` objects: 10 % contact fields, 40 % segments, 30 % emails, 20 % forms (3 fields and
    2 actions each, referring to a segment and an email)."""
    n_fields, n_segments, n_emails = size // 10, size * 4 // 10, size * 3 // 10
    n_forms = size - n_fields - n_segments - n_emails
    fields = tuple(
        ContactField(f"f{i}", f"bench_{i}", f"Bench {i}", "select", (("Yes", "yes"), ("No", "no")))
        for i in range(n_fields)
    )
    segments = tuple(
        Segment(
            f"s{i}",
            f"Bench segment {i}",
            f"bench-segment-{i}",
            filters=(SegmentFilter(fields[i % n_fields].alias, "select", "=", "yes"),) if i % 2 else (),
        )
        for i in range(n_segments)
    )
    emails = tuple(
        Email(f"e{i}", f"Bench email {i}", f"Subject {i}", f"<p>Body {i}</p>") for i in range(n_emails)
    )
    forms = tuple(
        Form(
            f"form{i}",
            f"Bench form {i}",
            fields=(
                FormField("email", "Email", "email", True, contact_field="email"),
                FormField("choice", "Choice", "select", False, (("Yes", "yes"),), fields[i % n_fields].alias),
                FormField("submit", "Send", "button"),
            ),
            actions=(
                FormAction("collect", "add_to_segments", "Collect", segments=(f"s{i % n_segments}",)),
                FormAction("confirm", "send_email", "Confirm", email=f"e{i % n_emails}"),
            ),
            message="Thanks",
        )
        for i in range(n_forms)
    )
    return Spec(Path("bench.yaml"), "0" * 64, Target(), {}, None, fields, segments, emails, forms, None)


def naive_read(client: MauticClient, spec: Spec) -> None:
    """One GET per desired object, looking it up by alias or name (``search``), as a naive client would."""
    for kind_name, objects in converge.desired_state(spec).items():
        kind = BY_NAME[kind_name]
        for desired in objects.values():
            client.get(kind.path, params={"search": desired.data[kind.identity]})


def count(client: MauticClient) -> tuple[int, int]:
    """(requests, writes) since the last reset, then reset."""
    figures = client.stats.total, client.stats.writes
    client.stats.reset()
    return figures


def measure(size: int) -> dict[str, float]:
    spec = make_spec(size)
    with (
        Sandbox() as sandbox,
        client_from_env(
            EnvTarget(url=sandbox.url, auth="basic"),
            env={"MAUTIC_USERNAME": "admin", "MAUTIC_PASSWORD": "sandbox"},
        ) as client,
    ):
        started = time.perf_counter()
        naive_read(client, spec)
        naive_seconds = time.perf_counter() - started
        naive_plan, _ = count(client)
        started = time.perf_counter()
        plan = converge.plan(spec, client)
        plan_seconds = time.perf_counter() - started
        ours_plan, _ = count(client)
        converge.apply(plan, client)
        ours_apply, ours_writes = count(client)
        converge.apply(converge.plan(spec, client), client)
        again, again_writes = count(client)
        naive_read(client, spec)
        naive_again, _ = count(client)
    return {
        "size": size,
        "plan_ours": ours_plan,
        "plan_naive": naive_plan,
        "apply_ours": ours_apply,
        "apply_naive": naive_plan + ours_writes,  # naive reads, then the same writes
        "writes": ours_writes,
        "again_ours": again,
        "again_writes": again_writes,
        "again_naive": naive_again + ours_writes,  # a naive client that cannot diff rewrites everything
        "plan_seconds": plan_seconds,
        "naive_seconds": naive_seconds,
    }


def main(sizes: tuple[int, ...]) -> None:
    print("requests per run against a sandbox (naive = one GET per object); ratio = naive / ours")
    print(
        f"{'objects':>8} {'plan':>14} {'ratio':>7} {'apply fresh':>16} {'ratio':>7} "
        f"{'apply converged':>18} {'ratio':>7} {'plan time (naive read)':>24}"
    )
    for size in sizes:
        m = measure(size)
        print(
            f"{m['size']:>8} {m['plan_ours']:>5} vs {m['plan_naive']:>5}"
            f" {m['plan_naive'] / m['plan_ours']:>6.0f}x"
            f" {m['apply_ours']:>6} vs {m['apply_naive']:>6} {m['apply_naive'] / m['apply_ours']:>6.1f}x"
            f" {m['again_ours']:>5} ({m['again_writes']} w) vs {m['again_naive']:>5}"
            f" {m['again_naive'] / m['again_ours']:>6.0f}x"
            f" {m['plan_seconds']:>13.2f}s ({m['naive_seconds']:.2f}s)"
        )


if __name__ == "__main__":
    main(tuple(int(arg) for arg in sys.argv[1:]) or SIZES)
