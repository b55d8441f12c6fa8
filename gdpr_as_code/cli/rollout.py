"""``--inventory`` for plan and apply: the options, and the rollout each command runs with them."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import click

from gdpr_as_code.cli.app import EXIT_OK, approve


@dataclass(frozen=True)
class Rollout:
    """What ``--inventory`` and its options asked for: which instances, and how to work on them."""

    inventory: str
    select: tuple[str, ...]
    shard: str | None
    parallelism: int
    continue_on_error: bool

    def options(self) -> Any:
        from gdpr_as_code.rollout.steps import RolloutOptions

        return RolloutOptions(parallelism=self.parallelism, continue_on_error=self.continue_on_error)


def plan_rollout(selection: Rollout, *, spec_path: str, detailed_exitcode: bool, prune: bool,
                 out_path: str | None, output: str, as_json: bool) -> int:
    """``plan SPEC --inventory FILE``: plan every selected instance concurrently; one combined result."""
    from gdpr_as_code.rollout import report, steps
    from gdpr_as_code.rollout import runner as rollout

    options = selection.options()
    inventory, instances, redactor = _rollout_selection(selection)
    if not instances:
        return EXIT_OK
    progress = rollout.Progress(len(instances), report.describe_plan(redactor))
    ready, results = steps.plan_inventory(Path(spec_path), instances, os.environ,
                                            replace(options, prune=prune), progress)
    if out_path:
        results = steps.save_plans(results, Path(out_path), ready, redactor)
    click.echo(report.render_plan(inventory, results, "json" if as_json else output, redactor))
    _debug_tracebacks(results, redactor)
    return report.exit_code([report.plan_status(r) for r in results], detailed_exitcode)


def apply_rollout(selection: Rollout, *, spec_path: str, auto_approve: bool, prune: bool,
                  receipts_dir: str | None, lock_timeout: float, remote_lock: bool, allow_large_changes: bool,
                  as_json: bool) -> int:
    """``apply SPEC|PLANDIR --inventory FILE``: plan all, show, ask once, then apply wave by wave."""
    if as_json:
        raise click.UsageError("apply --json is for one instance; with --inventory, plan --json shows every "
                               "instance's plan and each apply writes its receipt (history --json).")
    from gdpr_as_code.rollout import report, steps
    from gdpr_as_code.rollout import runner as rollout

    options = selection.options()
    inventory, instances, redactor = _rollout_selection(selection)
    if not instances:
        return EXIT_OK
    from gdpr_as_code.guard.apply import ApplyOptions

    receipts = Path(receipts_dir) if receipts_dir else None
    options = replace(options, prune=prune, apply=ApplyOptions(receipts, lock_timeout, remote_lock,
                                                               allow_large_changes=allow_large_changes))
    progress = rollout.Progress(len(instances), report.describe_plan(redactor))
    progress.note(f"Planning {len(instances)} instance(s) of {inventory.path}")
    ready, plans = steps.plan_inventory(Path(spec_path), instances, os.environ, options, progress)
    click.echo(report.render_plan_text(plans, redactor))
    if not steps.any_changes(plans):
        return report.exit_code([report.plan_status(r) for r in plans], False)
    if not steps.blocked(plans, options):
        approve(auto_approve, rollout=True)
    progress = rollout.Progress(sum(r.value is not None for r in plans), report.describe_apply(redactor))
    results = steps.apply_all(inventory, ready, plans, os.environ, options, progress,
                              on_stop=lambda wave, after: progress.note(report.stop_note(wave, after)),
                              on_wave=lambda wave: progress.note(report.wave_note(wave)))
    click.echo(report.render_apply_text(results, redactor))
    _debug_tracebacks([*plans, *results], redactor)
    return report.exit_code([report.apply_status(r) for r in results], False)


def _debug_tracebacks(results: Any, redactor: Any) -> None:
    """With ``--debug``, tracebacks of instances that failed on a bug (hidden otherwise, as in ``main``)."""
    from gdpr_as_code.rollout.report import tracebacks

    shown = tracebacks(results, redactor) if click.get_current_context().find_root().obj.get("debug") else ""
    if shown:
        click.echo(shown, err=True)


def _rollout_selection(selection: Rollout) -> tuple[Any, Any, Any]:
    """The inventory, its selected instances (telling when a shard is empty) and the rollout's redactor."""
    from gdpr_as_code.rollout import report, steps

    inventory, instances = steps.selection(selection.inventory, selection.select, selection.shard)
    if not instances:
        click.echo(f"No instance of {inventory.path} is in shard {selection.shard}: nothing to do.", err=True)
    return inventory, instances, report.redactor_for(inventory)


def inventory_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add ``--inventory`` and its options to plan/apply; the command receives them as one ``rollout``
    argument (a ``Rollout``, or None without ``--inventory``) and calls its rollout runner itself."""

    @functools.wraps(command)
    def wrapper(*, inventory: str | None, select: tuple[str, ...], shard: str | None,
                parallelism: int | None, continue_on_error: bool, **kwargs: Any) -> int:
        if inventory is None and (select or shard or continue_on_error):
            raise click.UsageError("--select, --shard and --continue-on-error need --inventory FILE.")
        if inventory is None:  # one instance: --parallelism is apply's writes at once
            return command(rollout=None, parallelism=parallelism, **kwargs)
        chosen = Rollout(inventory, select, shard, parallelism or DEFAULT_PARALLELISM, continue_on_error)
        return command(rollout=chosen, parallelism=None, **kwargs)

    options = (
        *_selection_options(
            "Run on every instance of this inventory (see README, Rollout); apply then takes SPEC or the "
            "directory of plans that plan --inventory --out wrote.",
            f"With --inventory: instances worked on at once (default {DEFAULT_PARALLELISM}). Without, for "
            f"apply: writes to the instance at once (default {DEFAULT_WRITES})."),
        click.option("--continue-on-error", is_flag=True, help="With --inventory: go on with the next "
                     "wave (apply) even when an instance failed."),
    )
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _selection_options(inventory_help: str, parallelism_help: str) -> tuple[Callable[..., Any], ...]:
    """``--inventory`` and the options choosing its instances and how many run at once."""
    return (
        click.option("--inventory", type=click.Path(exists=True, dir_okay=False), help=inventory_help),
        click.option("--select", multiple=True, metavar="LABEL=VALUE",
                     help="With --inventory: only instances with this label; repeat to require several."),
        click.option("--shard", metavar="I/N", help="With --inventory: only shard I of N (a stable split "
                     "by a hash of the instance name, for CI; see examples/ci/README-sharding.md)."),
        click.option("--parallelism", type=click.IntRange(1, 64), help=parallelism_help),
    )


def requests_inventory_options(command: Callable[..., int]) -> Callable[..., int]:
    """Add ``--inventory``, ``--select``, ``--shard`` and ``--parallelism`` to a ``requests`` command; it
    receives them as one ``rollout`` argument (a ``Rollout``, or None for one instance)."""

    @functools.wraps(command)
    def wrapper(*, inventory: str | None, select: tuple[str, ...], shard: str | None,
                parallelism: int | None, **kwargs: Any) -> int:
        if inventory is None and (select or shard or parallelism):
            raise click.UsageError("--select, --shard and --parallelism need --inventory FILE.")
        chosen = None if inventory is None else Rollout(
            inventory, select, shard, parallelism or DEFAULT_PARALLELISM, continue_on_error=True)
        return command(rollout=chosen, **kwargs)

    options = _selection_options(
        "Every instance of this inventory (see README, GDPR requests): each with its own credentials and its "
        "own state folder, <state root>/<instance name>.",
        f"With --inventory: instances worked on at once (default {DEFAULT_PARALLELISM}).")
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def requests_rollout(selection: Rollout, work: Callable[[Any], Any], *, spec_path: str, state_dir: str | None,
                     workers: int, as_json: bool, member: str) -> int:
    """``requests list|fulfil|retention --inventory FILE``: ``work`` (what the command does with one
    instance's setup) on every selected instance; progress per instance on stderr, one combined result.
    ``member`` names what ``work`` answers: ``listing`` or ``summary``."""
    from gdpr_as_code.rollout import requests
    from gdpr_as_code.rollout import runner as rollout

    inventory, instances, redactor = _rollout_selection(selection)
    if not instances:
        return EXIT_OK
    fleet = requests.Fleet(Path(spec_path), os.environ, Path(state_dir) if state_dir else None, workers,
                           selection.options(), inventory_path=inventory.path)
    progress = rollout.Progress(len(instances), requests.describe(redactor))
    results = requests.run_requests(fleet, instances, work, progress)
    if as_json:
        click.echo(requests.render_json(inventory, results, redactor, member))
    elif member == "listing":
        click.echo(requests.render_listing(results, redactor))
    else:
        click.echo(requests.render_summaries(results, redactor))
    _debug_tracebacks(results, redactor)
    return requests.exit_code(results)


# Equal to rollout.runner.DEFAULT_PARALLELISM, converge.walk.DEFAULT_PARALLELISM and render.FORMATS (tests
# keep them so); importing those modules here would slow every command.
DEFAULT_PARALLELISM = 8
DEFAULT_WRITES = 4
PLAN_FORMATS = ("text", "markdown", "json")
