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

# --- spec ---


@cli.command("validate")
@click.argument("spec_paths", metavar="SPEC...", nargs=-1, required=True)
@click.option("--var", "assignments", multiple=True, metavar="NAME=VALUE",
              help="Override a spec variable (as an inventory would); repeatable.")
def validate_command(spec_paths: tuple[str, ...], assignments: tuple[str, ...]) -> int:
    """Check specs: schema, then meaning; every problem as FILE:LINE:COL: what — fix. Exit 1 on any."""
    from gdpr_as_code.spec import validate

    variables = dict(item.partition("=")[::2] for item in assignments)
    lines, count = validate(list(spec_paths), variables=variables)
    click.echo("\n".join(lines))
    return EXIT_ERROR if count else EXIT_OK


@cli.command("schema")
def schema_command() -> int:
    """Print the spec's JSON Schema (for editors: yaml-language-server, VS Code, IntelliJ)."""
    from gdpr_as_code.spec import spec_schema_text

    click.echo(spec_schema_text(), nl=False)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
