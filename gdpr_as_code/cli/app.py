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

import os
import sys
import traceback
from importlib import import_module
from pathlib import Path
from typing import Any

import click

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


# Each command: the module that defines it, and its line in ``--help``. The group imports a module only when
# one of its commands runs (or completes), so ``--help`` reads this table and imports no command module.
COMMANDS: dict[str, tuple[str, str]] = {
    "apply": ("config", "Make Mautic match the spec: show the plan, ask, apply, verify."),
    "audit": ("audit", "GDPR findings of the live Mautic; exit 2 when there are any."),
    "demo": ("demo", "Plan, apply and plan again on a throw-away sandbox."),
    "export": ("audit", "Write a spec from the live Mautic (adopting what it holds)."),
    "history": ("config", "List apply receipts: what was applied, when, from where."),
    "import": ("config", "Adopt an existing Mautic object as a spec object."),
    "init": ("spec", "Start a project: a spec, its email bodies and a CI workflow."),
    "list": ("config", "The objects the tool manages on the instance: kind, key, id, name."),
    "plan": ("config", "Show what apply would change in Mautic (reads only)."),
    "requests": ("dsr", "GDPR requests: list, fulfil, extend, refuse, show, retention."),
    "sandbox": ("spec", "Serve a Mautic-compatible API (5.1 or 7.0) locally."),
    "schema": ("spec", "Print the spec's JSON Schema (for editors)."),
    "show": ("config", "Show a plan saved by plan --out (reads no Mautic)."),
    "validate": ("spec", "Check specs and inventories; every problem at once."),
}


class LazyGroup(click.Group):
    """A group whose commands live in modules imported on first use (click's lazy-loading pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import_module(f"gdpr_as_code.cli.{COMMANDS[cmd_name][0]}")  # its decorators register it here
        return self.commands.get(cmd_name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Every command's short help comes from ``COMMANDS``, so ``--help`` and the command agree."""
        cmd.short_help = COMMANDS[name or cmd.name or ""][1]
        super().add_command(cmd, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in sorted(COMMANDS.items())])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
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
    except KeyboardInterrupt:
        click.echo(INTERRUPTED, err=True)
        return EXIT_INTERRUPTED
    except Exception as err:  # expected errors, and the one place that turns bugs into an exit code
        from gdpr_as_code.errors import GdprAsCodeError  # imported here: --help needs neither
        from gdpr_as_code.redact import redact_text

        if isinstance(err, GdprAsCodeError):
            click.echo(f"Error: {redact_text(str(err))}", err=True)
            return err.exit_code
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


def spec_and_client(spec_path: str) -> tuple[Any, Any]:
    """Load the spec and connect to its target (``MAUTIC_*`` variables unless the spec names others)."""
    from gdpr_as_code.mautic.connect import client_from_env
    from gdpr_as_code.spec import load_spec

    spec = load_spec(Path(spec_path))
    return spec, client_from_env(spec.target)


def approve(auto_approve: bool, *, rollout: bool = False) -> None:
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
