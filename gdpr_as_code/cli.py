"""The command line: a few lines per command that call the library, and the one place that maps errors to exits.

Exit codes (documented in README.md):
    0   success (and, with --detailed-exitcode, nothing to change)
    1   an expected error: the message says what and how to fix it
    2   success with changes pending (plan --detailed-exitcode) or overdue requests (requests list)
    64  usage error: unknown option, missing argument
    70  internal error: a bug; rerun with --debug for the traceback
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from gdpr_as_code.errors import GdprAsCodeError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_USAGE = 64
EXIT_INTERNAL = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, envvar="GDPR_AS_CODE_DEBUG", help="Show tracebacks of internal errors.")
@click.version_option(package_name="gdpr-as-code")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Make a Mautic instance GDPR-ready from a declarative YAML spec, and keep it that way."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn every outcome into an exit code; never let an expected error show a traceback."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:]) or bool(os.environ.get("GDPR_AS_CODE_DEBUG"))
    try:
        result = cli.main(args=argv, prog_name="gdpr-as-code", standalone_mode=False)
    except click.exceptions.Abort:
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
        click.echo(f"Error: {err}", err=True)
        return err.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return 130
    except Exception:  # noqa: BLE001 - the one place that turns bugs into an exit code
        if debug:
            traceback.print_exc()
        else:
            click.echo(
                "Internal error: this is a bug in gdpr-as-code. Rerun with --debug to see the traceback, "
                "and report it.",
                err=True,
            )
        return EXIT_INTERNAL
    return result if isinstance(result, int) else EXIT_OK


# Commands follow, one short function each, grouped by concept (spec, sandbox, plan/apply, rollout, requests).

# --- plan / apply ---


def _spec_and_client(spec_path: str) -> tuple[Any, Any]:
    """Load the spec and connect to its target (``MAUTIC_*`` variables unless the spec names others)."""
    from gdpr_as_code.client import client_from_env
    from gdpr_as_code.spec import load_spec

    spec = load_spec(Path(spec_path))
    return spec, client_from_env(spec.target)


@cli.command("plan")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing would change, 2 when it would.")
@click.option("--prune", is_flag=True, help="Plan to delete managed objects that are no longer in the spec.")
def plan_command(spec_path: str, detailed_exitcode: bool, prune: bool) -> int:
    """Show what apply would change in Mautic (reads only)."""
    from gdpr_as_code import engine
    from gdpr_as_code.plan import render_text

    spec, client = _spec_and_client(spec_path)
    with client:
        result = engine.plan(spec, client, prune=prune)
    click.echo(render_text(result))
    return EXIT_CHANGES if detailed_exitcode and result.has_changes else EXIT_OK


@cli.command("apply")
@click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))
@click.option("--auto-approve", is_flag=True, help="Apply without asking (needed when not on a terminal).")
@click.option("--prune", is_flag=True, help="Also delete managed objects that are no longer in the spec.")
def apply_command(spec_path: str, auto_approve: bool, prune: bool) -> int:
    """Make Mautic match the spec: show the plan, ask, apply, verify."""
    from gdpr_as_code import engine
    from gdpr_as_code.errors import NotApproved
    from gdpr_as_code.plan import render_text

    spec, client = _spec_and_client(spec_path)
    with client:
        planned = engine.plan(spec, client, prune=prune)
        click.echo(render_text(planned))
        if not planned.has_changes:
            return EXIT_OK
        if not auto_approve and not sys.stdin.isatty():
            raise NotApproved(
                "Not applying: there is no terminal to ask for approval. Review the plan above, rerun with "
                "--auto-approve (e.g. in CI), or run apply in a terminal."
            )
        if not auto_approve and not click.confirm("Apply these changes?", default=False):
            raise NotApproved("Not applying: the plan was not approved. Nothing was changed.")
        click.echo(engine.describe(engine.apply(planned, client)))
    return EXIT_OK


@cli.command("import")
@click.argument("address", metavar="KEY")
@click.argument("mautic_id", metavar="ID", type=int)
@click.option("--spec", "spec_path", type=click.Path(exists=True, dir_okay=False),
              help="Check KEY is in this spec and connect to its target.")
def import_command(address: str, mautic_id: int, spec_path: str | None) -> int:
    """Adopt an existing Mautic object as spec object KEY (e.g. segment.forget): writes its marker."""
    from gdpr_as_code import engine
    from gdpr_as_code.client import client_from_env

    spec, client = _spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        outcome = engine.adopt(client, address, mautic_id, spec)
    label = engine.BY_NAME[outcome.kind].label
    click.echo(
        f"Imported Mautic {label} #{outcome.mautic_id} as {outcome.address} ({outcome.detail}). "
        "Run plan to see what apply would change to match the spec."
    )
    return EXIT_OK


@cli.command("demo")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
def demo_command(spec_path: str | None) -> int:
    """Start a sandbox and run plan → apply → plan of configs/gdpr.yaml (or SPEC) on it."""
    from gdpr_as_code.demo import DEFAULT_SPEC, run_demo

    return run_demo(Path(spec_path) if spec_path else DEFAULT_SPEC, click.echo)


if __name__ == "__main__":
    sys.exit(main())
