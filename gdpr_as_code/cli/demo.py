"""``gdpr-as-code demo``: the whole story in seconds, on a throw-away sandbox: plan → apply → plan.

A new user sees what the tool would create in a fresh Mautic, watches it being applied, and sees the second
plan come back empty, with the number of requests each step made (the second plan only reads).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

from gdpr_as_code.cli.app import cli

SANDBOX_USER = "admin"
SANDBOX_PASSWORD = "sandbox"  # the sandbox's own well-known password, not a secret


def run_demo(spec_path: Path, echo: Callable[[str], None]) -> int:
    """Start a sandbox on a free port, run plan, apply and plan again of ``spec_path`` on it, stop it."""
    from gdpr_as_code import converge
    from gdpr_as_code.mautic.auth import BasicAuth
    from gdpr_as_code.mautic.client import MauticClient
    from gdpr_as_code.render.text import describe, render_text
    from gdpr_as_code.sandbox import Sandbox
    from gdpr_as_code.spec import load_spec

    spec = load_spec(spec_path)
    with Sandbox(port=0, username=SANDBOX_USER, password=SANDBOX_PASSWORD) as sandbox:
        echo(f"Started a Mautic sandbox at {sandbox.url} (stopped when the demo ends).")
        with MauticClient(sandbox.url, BasicAuth(SANDBOX_USER, SANDBOX_PASSWORD), name="sandbox") as client:
            echo(f"\n$ gdpr-as-code plan {spec_path.name}")
            first = converge.plan(spec, client)
            echo(render_text(first))
            echo(f"({client.stats.total} requests, all reads)")

            echo(f"\n$ gdpr-as-code apply {spec_path.name} --auto-approve")
            client.stats.reset()
            outcomes = converge.apply(first, client)
            echo(describe(outcomes))
            reads = client.stats.total - client.stats.writes
            echo(f"({client.stats.writes} writes, {reads} reads including the verification)")

            echo(f"\n$ gdpr-as-code plan {spec_path.name}")
            client.stats.reset()
            second = converge.plan(spec, client)
            echo(render_text(second))
            echo(f"({client.stats.total} requests, {client.stats.writes} writes)")
    return 0


@cli.command("demo")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--spec", "spec_option", type=click.Path(exists=True, dir_okay=False),
              help="The spec to run (the same as giving SPEC).")
def demo_command(spec_path: str | None, spec_option: str | None) -> int:
    """Start a sandbox and run plan → apply → plan of configs/gdpr.yaml (or SPEC) on it."""
    from gdpr_as_code.spec.shipped import template_spec

    if spec_path and spec_option and spec_path != spec_option:
        raise click.UsageError("give the spec once: as SPEC or as --spec SPEC.")
    chosen = spec_path or spec_option
    return run_demo(Path(chosen) if chosen else template_spec(), click.echo)
