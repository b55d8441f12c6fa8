"""Configuration: ``plan``, ``apply``, ``import``, ``list``, and saved plans and receipts (``show``,
``history``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from gdpr_as_code.cli.app import EXIT_CHANGES, EXIT_OK, approve, cli, spec_and_client
from gdpr_as_code.cli.rollout import (
    DEFAULT_WRITES,
    PLAN_FORMATS,
    Rollout,
    apply_rollout,
    inventory_options,
    plan_rollout,
)


def _output_options(command: Any) -> Any:
    """``--format`` and ``--json``, shared by plan and show."""
    command = click.option("--json", "as_json", is_flag=True, help="Same as --format json.")(command)
    return click.option("--format", "output", type=click.Choice(PLAN_FORMATS), default="text",
                        show_default=True, help="text, markdown (a pull-request comment) or json.")(command)


@cli.command("plan")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing would change, 2 when it would.")
@click.option("--prune", is_flag=True, help="Plan to delete managed objects that are no longer in the spec.")
@click.option("--out", "out_path", type=click.Path(),
              help="Save the plan for apply PLANFILE (with --inventory: a directory, one plan per instance).")
@_output_options
@inventory_options
def plan_command(spec_path: str, detailed_exitcode: bool, prune: bool, out_path: str | None, output: str,
                 as_json: bool, rollout: Rollout | None, parallelism: int | None) -> int:
    """Show what apply would change in Mautic (reads only)."""
    if parallelism is not None:
        raise click.UsageError("plan reads its 5 lists at once; --parallelism needs --inventory.")
    if rollout:
        return plan_rollout(rollout, spec_path=spec_path, detailed_exitcode=detailed_exitcode, prune=prune,
                            out_path=out_path, output=output, as_json=as_json)
    from gdpr_as_code import converge
    from gdpr_as_code.guard.apply import spec_redactor
    from gdpr_as_code.guard.planfile import save_plan
    from gdpr_as_code.render import render

    spec, client = spec_and_client(spec_path)
    with client:
        result = converge.plan(spec, client, prune=prune)
    redactor = spec_redactor(spec)
    if out_path:
        save_plan(result, Path(out_path), Path(spec_path), redactor)
    click.echo(render(result, "json" if as_json else output, redactor, out_path))
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


@cli.command("apply")
@click.argument("spec_path", metavar="SPEC|PLANFILE", type=click.Path(exists=True))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed when not on a terminal).")
@click.option("--prune", is_flag=True, help="Also delete managed objects that are no longer in the spec.")
@click.option("--receipts", "receipts_dir", type=click.Path(file_okay=False),
              help="Write the apply receipt here (default: receipts/ beside the spec).")
@click.option("--lock-timeout", type=click.FloatRange(min=0), default=0, show_default=True,
              help="Seconds to wait for another apply to the same instance to finish.")
@click.option("--remote-lock", is_flag=True, help="Also lock in Mautic itself (runners on other machines).")
@click.option("--allow-large-changes", is_flag=True,
              help="Apply a plan that deletes objects or updates more than 30% (and at least 4) of them.")
@click.option("--json", "as_json", is_flag=True,
              help="Print what was done as JSON (schemas/apply.schema.json); the plan goes to stderr.")
@inventory_options
def apply_command(spec_path: str, auto_approve: bool, prune: bool, receipts_dir: str | None,
                  lock_timeout: float, remote_lock: bool, allow_large_changes: bool, as_json: bool,
                  rollout: Rollout | None, parallelism: int | None) -> int:
    """Make Mautic match the spec: show the plan, ask, apply, verify. A PLANFILE is applied as saved."""
    if rollout:
        return apply_rollout(rollout, spec_path=spec_path, auto_approve=auto_approve, prune=prune,
                             receipts_dir=receipts_dir, lock_timeout=lock_timeout, remote_lock=remote_lock,
                             allow_large_changes=allow_large_changes, as_json=as_json)
    from gdpr_as_code.guard.apply import ApplyOptions, apply_saved, plan_and_apply, spec_redactor
    from gdpr_as_code.guard.planfile import is_plan_file
    from gdpr_as_code.redact import Redactor
    from gdpr_as_code.render import render
    from gdpr_as_code.render.json import render_apply_json
    from gdpr_as_code.render.text import describe

    def report(applied: Any, redactor: Redactor) -> None:
        if as_json:
            click.echo(render_apply_json(applied.plan, applied.outcomes, applied.receipt, redactor))
        elif applied.plan.has_changes:
            click.echo(describe(applied.outcomes) + _receipt_line(applied.receipt))

    if Path(spec_path).is_dir():
        raise click.UsageError(
            f"{spec_path} is a directory: the saved plans of a rollout are applied with --inventory FILE "
            f"(apply {spec_path} --inventory inventory.yaml); otherwise give a spec or a plan file."
        )
    options = ApplyOptions(Path(receipts_dir) if receipts_dir else None, lock_timeout, remote_lock,
                           allow_large_changes=allow_large_changes, parallelism=parallelism or DEFAULT_WRITES)
    if is_plan_file(Path(spec_path)):
        applied = apply_saved(Path(spec_path), options)
        click.echo(render(applied.plan, "text", Redactor.from_environ()), err=as_json)
        report(applied, Redactor.from_environ())
        return EXIT_OK
    spec, client = spec_and_client(spec_path)

    def show(planned: Any) -> None:
        click.echo(render(planned, "text", spec_redactor(spec)), err=as_json)

    with client:
        applied = plan_and_apply(spec, client, options, prune=prune, show=show,
                                 approve=lambda _: approve(auto_approve))
    report(applied, spec_redactor(spec))
    return EXIT_OK


@cli.command("import")
@click.argument("address", metavar="KEY")
@click.argument("mautic_id", metavar="ID", type=int)
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False),
              help="Check KEY is in this spec and connect to its target.")
def import_command(address: str, mautic_id: int, spec_path: str | None) -> int:
    """Adopt an existing Mautic object as spec object KEY (e.g. segment.forget): writes its marker."""
    from gdpr_as_code import converge
    from gdpr_as_code.mautic.connect import client_from_env
    from gdpr_as_code.resources import BY_NAME

    spec, client = spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        outcome = converge.adopt(client, address, mautic_id, spec)
    label = BY_NAME[outcome.kind].label
    click.echo(
        f"Imported Mautic {label} #{outcome.mautic_id} as {outcome.address} ({outcome.detail}). "
        "Run plan to see what apply would change to match the spec."
    )
    return EXIT_OK


@cli.command("list")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="A JSON array of {kind, key, address, id, name}.")
def list_command(spec_path: str | None, as_json: bool) -> int:
    """List the Mautic objects that carry the tool's marker (reads only); with SPEC, connect to its target
    and say which are no longer in it."""
    from gdpr_as_code.converge import desired_state, read_live
    from gdpr_as_code.mautic.connect import client_from_env
    from gdpr_as_code.redact import Redactor
    from gdpr_as_code.render.text import managed_rows, render_managed

    spec, client = spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        live = read_live(client)
    rows = managed_rows(live, desired_state(spec) if spec else None)
    redactor = Redactor.from_environ()
    click.echo(redactor.text(json.dumps(rows, indent=2, ensure_ascii=False) if as_json
                             else render_managed(rows, client.name)))
    return EXIT_OK


def _receipt_line(receipt: Path | None) -> str:
    return f"\nReceipt: {receipt}" if receipt else ""


@cli.command("show")
@click.argument("plan_path", metavar="PLANFILE", type=click.Path(exists=True, dir_okay=False))
@_output_options
def show_command(plan_path: str, output: str, as_json: bool) -> int:
    """Show a plan saved by plan --out (reads no Mautic)."""
    from gdpr_as_code.guard.planfile import read_plan
    from gdpr_as_code.redact import Redactor
    from gdpr_as_code.render import render

    saved, _ = read_plan(Path(plan_path))
    click.echo(render(saved, "json" if as_json else output, Redactor.from_environ(), plan_path))
    return EXIT_OK


@cli.command("history")
@click.argument("where", metavar="[DIR|SPEC]", default="receipts", type=click.Path(exists=False))
@click.option("--key", help="Only applies that changed this object (its spec key), with its new values.")
@click.option("--json", "as_json", is_flag=True, help="The receipts themselves, as a JSON array.")
def history_command(where: str, key: str | None, as_json: bool) -> int:
    """List apply receipts, oldest first: what was applied where, when, from which commit."""
    from gdpr_as_code.guard.receipts import read_receipts, touching
    from gdpr_as_code.render.text import render_history

    entries = read_receipts(Path(where))
    entries = touching(entries, key) if key else entries
    if as_json:
        click.echo(json.dumps([e.receipt for e in entries], indent=2))
    else:
        click.echo(render_history(entries, key))
    return EXIT_OK
