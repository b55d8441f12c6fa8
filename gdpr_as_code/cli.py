"""The command line: a few lines per command that call the library, and the one place mapping errors to exits.

Exit codes (documented in README.md):
    0   success (and, with --detailed-exitcode, nothing to change)
    1   an expected error: the message says what and how to fix it
    2   success with changes pending (plan --detailed-exitcode) or overdue requests (requests list)
    64  usage error: unknown option, missing argument
    70  internal error: a bug; rerun with --debug for the traceback
    130 interrupted (Ctrl-C)
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.redact import redact_text

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_USAGE = 64
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130
INTERRUPTED = (
    "Interrupted. Rerun the same command to finish: apply continues from what Mautic now holds (plan shows "
    "what is left), and requests fulfil resumes each request from its journal."
)


def _show_version(ctx: click.Context, _param: click.Parameter, wanted: bool) -> None:
    """``--version``, also from a source tree that was never installed (click's own option fails there)."""
    if not wanted:
        return
    from gdpr_as_code.converge.changes import tool_version

    click.echo(f"gdpr-as-code, version {tool_version()}")
    ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, envvar="GDPR_AS_CODE_DEBUG", help="Show tracebacks of errors.")
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Make a Mautic instance GDPR-ready from a declarative YAML spec, and keep it that way."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn every outcome into an exit code; never let an expected error show a traceback."""
    args = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in args or bool(os.environ.get("GDPR_AS_CODE_DEBUG"))
    if "--debug" in args[1:]:  # "rerun with --debug" is often typed at the end: it belongs to the group
        args = ["--debug", *(arg for arg in args if arg != "--debug")]
    try:
        result = cli.main(args=args, prog_name="gdpr-as-code", standalone_mode=False)
    except click.exceptions.Abort as err:
        if isinstance(err.__cause__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            click.echo(INTERRUPTED, err=True)
            return EXIT_INTERRUPTED
        if isinstance(err.__context__, KeyboardInterrupt):  # Ctrl-C at a question (click.confirm)
            click.echo("\nInterrupted at the question: nothing was done after it. Rerun when ready.",
                       err=True)
            return EXIT_INTERRUPTED
        click.echo("Aborted.", err=True)
        return EXIT_ERROR
    except click.exceptions.UsageError as err:
        err.show()
        return EXIT_USAGE
    except click.exceptions.ClickException as err:
        err.show()
        return EXIT_ERROR
    except click.exceptions.Exit as err:
        return err.exit_code
    except GdprAsCodeError as err:
        click.echo(f"Error: {redact_text(str(err))}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        return EXIT_INTERRUPTED
    except Exception:  # the one place that turns bugs into an exit code
        if debug:
            click.echo(redact_text(traceback.format_exc()), err=True, nl=False)
        else:
            click.echo(
                "Internal error: this is a bug in gdpr-as-code. Rerun with --debug to see the traceback, "
                "and report it.",
                err=True,
            )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


# Commands follow, one short function each, grouped by concept (spec, sandbox, plan/apply, rollout, requests).

# --- spec ---


def _assignments(_ctx: click.Context, _param: click.Parameter, items: tuple[str, ...]) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping; a missing ``=`` is a usage error, never an empty value."""
    if bad := [item for item in items if "=" not in item or not item.partition("=")[0]]:
        raise click.BadParameter(f"expected NAME=VALUE, got {bad[0]!r}", param_hint="--var")
    return dict(item.split("=", 1) for item in items)


@cli.command("validate", short_help="Check specs and inventories; every problem at once.")
@click.argument("spec_paths", metavar="SPEC|INVENTORY...", nargs=-1, required=True)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", callback=_assignments,
              help="Override a spec variable (as an inventory would); repeatable.")
def validate_command(spec_paths: tuple[str, ...], variables: dict[str, str]) -> int:
    """Check specs and inventories: schema, then meaning; every problem as FILE:LINE:COL: what — fix."""
    from gdpr_as_code.rollout.inventory import is_inventory, validate_inventories
    from gdpr_as_code.spec import validate

    inventories = [path for path in spec_paths if is_inventory(path)]
    lines, count = validate([p for p in spec_paths if p not in inventories], variables=variables)
    inventory_lines, inventory_count = validate_inventories(inventories)
    click.echo("\n".join(inventory_lines + lines))
    return EXIT_ERROR if count or inventory_count else EXIT_OK


@cli.command("schema", short_help="Print the spec's JSON Schema (for editors).")
def schema_command() -> int:
    """Print the spec's JSON Schema (for editors: yaml-language-server, VS Code, IntelliJ)."""
    from gdpr_as_code.spec import spec_schema_text

    click.echo(spec_schema_text(), nl=False)
    return EXIT_OK


# --- sandbox ---


@cli.command("sandbox", short_help="Serve a Mautic-5.1-compatible API locally.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Keep the state in this file.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (others could reach it).")
def sandbox_command(host: str, port: int, state_file: str | None, allow_remote: bool) -> int:
    """Serve a Mautic-5.1-compatible API for tests and trials, until Ctrl-C."""
    from gdpr_as_code.sandbox import Sandbox

    server = Sandbox(host, port, state_file=state_file, allow_remote=allow_remote).start()
    click.echo(server.banner())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Sandbox stopped.", err=True)
    finally:
        server.stop()
    return EXIT_OK


# --- rollout ---


def _plan_rollout(selection: tuple[str, tuple[str, ...], str | None], options: Any, *, spec_path: str,
                  detailed_exitcode: bool, prune: bool, out_path: str | None, output: str,
                  as_json: bool) -> int:
    """``plan SPEC --inventory FILE``: plan every selected instance concurrently; one combined result."""
    from gdpr_as_code.rollout import report, steps
    from gdpr_as_code.rollout import runner as rollout

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


def _apply_rollout(selection: tuple[str, tuple[str, ...], str | None], options: Any, *, spec_path: str,
                   auto_approve: bool, prune: bool, receipts_dir: str | None, lock_timeout: float,
                   remote_lock: bool) -> int:
    """``apply SPEC|PLANDIR --inventory FILE``: plan all, show, ask once, then apply wave by wave."""
    from gdpr_as_code.rollout import report, steps
    from gdpr_as_code.rollout import runner as rollout

    inventory, instances, redactor = _rollout_selection(selection)
    if not instances:
        return EXIT_OK
    options = replace(options, prune=prune, receipts=Path(receipts_dir) if receipts_dir else None,
                      lock_timeout=lock_timeout, remote_lock=remote_lock)
    progress = rollout.Progress(len(instances), report.describe_plan(redactor))
    progress.note(f"Planning {len(instances)} instance(s) of {inventory.path}")
    ready, plans = steps.plan_inventory(Path(spec_path), instances, os.environ, options, progress)
    click.echo(report.render_plan_text(plans, redactor))
    if not steps.any_changes(plans):
        return report.exit_code([report.plan_status(r) for r in plans], False)
    if not steps.blocked(plans, options):
        _approve(auto_approve, rollout=True)
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


def _rollout_selection(selection: tuple[str, tuple[str, ...], str | None]) -> tuple[Any, Any, Any]:
    """The inventory, its selected instances (telling when a shard is empty) and the rollout's redactor."""
    from gdpr_as_code.rollout import report, steps

    inventory, instances = steps.selection(*selection)
    if not instances:
        click.echo(f"No instance of {inventory.path} is in shard {selection[2]}: nothing to do.", err=True)
    return inventory, instances, report.redactor_for(inventory)


def _approve(auto_approve: bool, *, rollout: bool = False) -> None:
    """Ask once before writing (once for a whole rollout); refuse without a terminal unless
    ``--auto-approve``."""
    from gdpr_as_code.errors import NotApproved

    if auto_approve:
        return
    shown = "plans" if rollout else "plan"
    if not sys.stdin.isatty():
        raise NotApproved(f"Not applying: there is no terminal to ask for approval. Review the {shown} "
                          "above, rerun with --auto-approve (e.g. in CI), or run apply in a terminal.")
    question = "Apply these changes to the instances above?" if rollout else "Apply these changes?"
    if not click.confirm(question, default=False):
        were = "were" if rollout else "was"
        raise NotApproved(f"Not applying: the {shown} {were} not approved. Nothing was changed.")


def _inventory_options(runner: Callable[..., int]) -> Callable[[Callable[..., int]], Callable[..., int]]:
    """Add ``--inventory`` and its options to plan/apply; without ``--inventory`` the single-instance
    command runs exactly as before, with it ``runner`` does the rollout."""

    def decorate(command: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(command)
        def wrapper(*, inventory: str | None, select: tuple[str, ...], shard: str | None, parallelism: int,
                    continue_on_error: bool, **kwargs: Any) -> int:
            if inventory is None:
                if select or shard or continue_on_error:
                    raise click.UsageError("--select, --shard and --continue-on-error need --inventory FILE.")
                return command(**kwargs)
            from gdpr_as_code.rollout.steps import RolloutOptions

            options = RolloutOptions(parallelism=parallelism, continue_on_error=continue_on_error)
            return runner((inventory, select, shard), options, **kwargs)

        for option in reversed((
            click.option("--inventory", type=click.Path(exists=True, dir_okay=False),
                         help="Run on every instance of this inventory (see README, Rollout); apply then "
                         "takes SPEC or the directory of plans that plan --inventory --out wrote."),
            click.option("--select", multiple=True, metavar="LABEL=VALUE",
                         help="With --inventory: only instances with this label; repeat to require several."),
            click.option("--shard", metavar="I/N", help="With --inventory: only shard I of N (a stable split "
                         "by a hash of the instance name, for CI; see examples/ci/README-sharding.md)."),
            click.option("--parallelism", type=click.IntRange(1, 64), default=DEFAULT_PARALLELISM,
                         show_default=True, help="With --inventory: instances worked on at the same time."),
            click.option("--continue-on-error", is_flag=True, help="With --inventory: go on with the next "
                         "wave (apply) even when an instance failed."),
        )):
            wrapper = option(wrapper)
        return wrapper

    return decorate


# Equal to rollout.runner.DEFAULT_PARALLELISM and render.FORMATS (tests keep them so); importing those modules
# here would slow every command.
DEFAULT_PARALLELISM = 8
PLAN_FORMATS = ("text", "markdown", "json")


# --- plan / apply ---


def _spec_and_client(spec_path: str) -> tuple[Any, Any]:
    """Load the spec and connect to its target (``MAUTIC_*`` variables unless the spec names others)."""
    from gdpr_as_code.mautic.client import client_from_env
    from gdpr_as_code.spec import load_spec

    spec = load_spec(Path(spec_path))
    return spec, client_from_env(spec.target)


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
@_inventory_options(_plan_rollout)
def plan_command(spec_path: str, detailed_exitcode: bool, prune: bool, out_path: str | None, output: str,
                 as_json: bool) -> int:
    """Show what apply would change in Mautic (reads only)."""
    from gdpr_as_code import converge
    from gdpr_as_code.guard.apply import spec_redactor
    from gdpr_as_code.guard.planfile import save_plan
    from gdpr_as_code.render import render

    spec, client = _spec_and_client(spec_path)
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
@_inventory_options(_apply_rollout)
def apply_command(spec_path: str, auto_approve: bool, prune: bool, receipts_dir: str | None,
                  lock_timeout: float, remote_lock: bool) -> int:
    """Make Mautic match the spec: show the plan, ask, apply, verify. A PLANFILE is applied as saved."""
    from gdpr_as_code.guard.apply import ApplyOptions, apply_saved, apply_spec, spec_redactor
    from gdpr_as_code.guard.planfile import is_plan_file
    from gdpr_as_code.redact import Redactor
    from gdpr_as_code.render import render
    from gdpr_as_code.render.text import describe

    if Path(spec_path).is_dir():
        raise click.UsageError(
            f"{spec_path} is a directory: the saved plans of a rollout are applied with --inventory FILE "
            f"(apply {spec_path} --inventory inventory.yaml); otherwise give a spec or a plan file."
        )
    options = ApplyOptions(Path(receipts_dir) if receipts_dir else None, lock_timeout, remote_lock)
    if is_plan_file(Path(spec_path)):
        saved, outcomes, receipt = apply_saved(Path(spec_path), options)
        shown = render(saved, "text", Redactor.from_environ())
        click.echo(shown + "\n" + describe(outcomes) + _receipt_line(receipt))
        return EXIT_OK
    spec, client = _spec_and_client(spec_path)

    def review(planned: Any) -> None:
        click.echo(render(planned, "text", spec_redactor(spec)))
        if planned.has_changes:
            _approve(auto_approve)

    with client:
        planned, outcomes, receipt = apply_spec(spec, Path(spec_path), client, options, prune=prune,
                                                review=review)
    if planned.has_changes:
        click.echo(describe(outcomes) + _receipt_line(receipt))
    return EXIT_OK


@cli.command("import", short_help="Adopt an existing Mautic object as a spec object.")
@click.argument("address", metavar="KEY")
@click.argument("mautic_id", metavar="ID", type=int)
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False),
              help="Check KEY is in this spec and connect to its target.")
def import_command(address: str, mautic_id: int, spec_path: str | None) -> int:
    """Adopt an existing Mautic object as spec object KEY (e.g. segment.forget): writes its marker."""
    from gdpr_as_code import converge
    from gdpr_as_code.mautic.client import client_from_env
    from gdpr_as_code.resources import BY_NAME

    spec, client = _spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        outcome = converge.adopt(client, address, mautic_id, spec)
    label = BY_NAME[outcome.kind].label
    click.echo(
        f"Imported Mautic {label} #{outcome.mautic_id} as {outcome.address} ({outcome.detail}). "
        "Run plan to see what apply would change to match the spec."
    )
    return EXIT_OK


@cli.command("demo", short_help="Plan, apply and plan again on a throw-away sandbox.")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
def demo_command(spec_path: str | None) -> int:
    """Start a sandbox and run plan → apply → plan of configs/gdpr.yaml (or SPEC) on it."""
    from gdpr_as_code.demo import DEFAULT_SPEC, run_demo

    return run_demo(Path(spec_path) if spec_path else DEFAULT_SPEC, click.echo)


# --- saved plans and receipts ---


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


@cli.command("history", short_help="List apply receipts: what was applied, when, from where.")
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


# --- requests ---


def _requests_setup(spec_path: str, state_dir: str | None, workers: int) -> Any:
    """The spec, its Mautic, and the request state folder (``--state-dir`` or beside the spec)."""
    from gdpr_as_code import dsr

    spec, client = _spec_and_client(spec_path)
    state = Path(state_dir) if state_dir else None
    return dsr.prepare(spec, client, state_dir=state, workers=workers)


def _requests_options(command: Any) -> Any:
    """Options every ``requests`` command shares."""
    command = click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 32),
                           help="Contacts worked on at the same time.")(command)
    command = click.option("--state-dir", type=click.Path(file_okay=False),
                           help="Journal, audit log and receipts (default: gdpr-state/<instance> beside "
                                "the spec, or $GDPR_AS_CODE_STATE_DIR).")(command)
    command = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(command)
    return click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))(command)


def _ask_or_refuse() -> Any:
    """On a terminal, ask before erasing; without one there is nobody to ask (None: erasures need --yes)."""
    if not sys.stdin.isatty():
        return None
    return lambda question: click.confirm(question, default=False, err=True)


def _progress(outcome: Any, done: int, total: int) -> None:
    """A progress line on stderr: every request in a small run, about every 5% in a long one."""
    if total <= 20 or done == total or done % max(1, total // 20) == 0:
        click.echo(f"  [{done}/{total}] {outcome.status:7} {outcome.request_id}", err=True)


@cli.group("requests", short_help="GDPR requests: list, fulfil, retention.")
def requests_group() -> None:
    """GDPR requests: list what is pending, fulfil access and erasure requests, enforce retention."""


@requests_group.command("list", short_help="Pending requests; exit 2 when one is overdue.")
@_requests_options
def requests_list(spec_path: str, as_json: bool, state_dir: str | None, workers: int) -> int:
    """Pending requests with masked email, age and deadline; exit 2 when any is overdue."""
    from gdpr_as_code import dsr

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        listing = dsr.listing(setup, dsr.pending(setup))
    click.echo(listing.as_json() if as_json else listing.text())
    return listing.exit_code


@requests_group.command("fulfil", short_help="Answer access and erasure requests (resumable).")
@_requests_options
@click.option("--type", "kind", type=click.Choice(["access", "erasure"]), help="Only this type of request.")
@click.option("--limit", type=click.IntRange(min=1), help="Work on at most this many requests.")
@click.option("--dry-run", is_flag=True, help="Show what would be done; touch nothing.")
@click.option("--yes", is_flag=True, help="Erase without asking (needed when not on a terminal).")
def requests_fulfil(spec_path: str, as_json: bool, state_dir: str | None, workers: int, kind: str | None,
                    limit: int | None, dry_run: bool, yes: bool) -> int:
    """Export, deliver, notify and mark done (access); notify, delete and confirm (erasure). Resumable."""
    from gdpr_as_code import dsr

    options = dsr.Options((kind,) if kind else ("access", "erasure"), limit, dry_run, yes)
    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        summary = dsr.fulfil(setup, options, _ask_or_refuse(), None if as_json else _progress)
    click.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
    return summary.exit_code


@requests_group.command("retention", short_help="Contacts past retention; exit 2 when there are any.")
@_requests_options
@click.option("--erase", is_flag=True, help="Erase them (receipt, delete, confirm), journaled like erasures.")
@click.option("--limit", type=click.IntRange(min=1), help="Erase at most this many.")
@click.option("--dry-run", is_flag=True, help="With --erase: show what would be done; touch nothing.")
@click.option("--yes", is_flag=True, help="Erase without asking (needed when not on a terminal).")
def requests_retention(spec_path: str, as_json: bool, state_dir: str | None, workers: int, erase: bool,
                       limit: int | None, dry_run: bool, yes: bool) -> int:
    """Contacts past the data inventory's retention (by last activity); exit 2 when there are any."""
    from gdpr_as_code import dsr

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        found = dsr.retention(setup)
        if not erase:
            listing = dsr.listing(setup, found, retention=True)
            click.echo(listing.as_json() if as_json else listing.text())
            return listing.exit_code
        options = dsr.Options(("retention",), limit, dry_run, yes)
        summary = dsr.erase(setup, found, options, _ask_or_refuse(), None if as_json else _progress)
    click.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
