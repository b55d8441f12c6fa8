"""``init``, ``validate``, ``schema`` and ``sandbox``: the commands that need no Mautic."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from gdpr_as_code.cli.app import EXIT_ERROR, EXIT_OK, cli


def _assignments(_ctx: click.Context, _param: click.Parameter, items: tuple[str, ...]) -> dict[str, str]:
    """``NAME=VALUE`` options as a mapping; a missing ``=`` is a usage error, never an empty value."""
    if bad := [item for item in items if "=" not in item or not item.partition("=")[0]]:
        raise click.BadParameter(f"expected NAME=VALUE, got {bad[0]!r}", param_hint="--var")
    return dict(item.split("=", 1) for item in items)


@cli.command("validate")
@click.argument("spec_paths", metavar="SPEC|INVENTORY...", nargs=-1, required=True)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", callback=_assignments,
              help="Override a spec variable (as an inventory would); repeatable, wins over --var-file.")
@click.option("--var-file", "var_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Spec variables from a YAML file (NAME: value per line); repeatable, a later file wins.")
def validate_command(spec_paths: tuple[str, ...], variables: dict[str, str],
                     var_files: tuple[str, ...]) -> int:
    """Check specs and inventories: schema, then meaning; every problem as FILE:LINE:COL: what — fix. With
    one spec and its inventories, the spec is also checked with each instance's variables."""
    from gdpr_as_code.errors import SpecError
    from gdpr_as_code.rollout.inventory import is_inventory, validate_inventories, validate_overrides
    from gdpr_as_code.spec import validate
    from gdpr_as_code.spec.var_file import load_var_files

    try:
        from_files, origins = load_var_files(var_files)
    except SpecError as err:
        click.echo("\n".join(str(problem) for problem in err.problems))
        return EXIT_ERROR
    for name in variables:
        origins.pop(name, None)  # --var wins, and is named as such
    inventories = [path for path in spec_paths if is_inventory(path)]
    specs = [p for p in spec_paths if p not in inventories]
    lines, count = validate(specs, variables={**from_files, **variables}, origins=origins)
    inventory_lines, inventory_count = validate_inventories(inventories)
    override_lines, override_count = [], 0
    if len(specs) == 1:  # with several specs, which inventory goes with which is not said
        override_lines, override_count = validate_overrides(specs, inventories)
    elif specs and inventories:
        override_lines = ["(inventories not checked against the specs: give one spec with its inventories, "
                          "validate SPEC INVENTORY, to check the variables they override)"]
    click.echo("\n".join(inventory_lines + lines + override_lines))
    return EXIT_ERROR if count or inventory_count or override_count else EXIT_OK


SANDBOX_PORT = 8765  # off 8080, where a local real Mautic (and many web servers) listen


INIT_DEFAULTS = {"company": "Example Ltd", "privacy_url": "https://www.example.com/privacy",
                 "dpo_address": "privacy@example.com"}


@cli.command("init")
@click.argument("directory", metavar="[DIR]", default=".", type=click.Path(file_okay=False))
@click.option("--company", help=f"Your company's name (default on no terminal: {INIT_DEFAULTS['company']}).")
@click.option("--privacy-url", help="Your privacy notice's address.")
@click.option("--dpo-address", help="The privacy team's email address, the sender of the GDPR emails.")
@click.option("--language", type=click.Choice(["en", "de", "fr"]), default="en", show_default=True,
              help="Language of the texts people see (banner, form, emails).")
@click.option("--force", is_flag=True, help="Overwrite files that are already there.")
def init_command(directory: str, company: str | None, privacy_url: str | None, dpo_address: str | None,
                 language: str, force: bool) -> int:
    """Write a working spec, its email bodies, the schema for editors and a GitHub workflow into DIR; on a
    terminal, ask for what the options did not say (on none, take the defaults)."""
    from gdpr_as_code.spec import validate
    from gdpr_as_code.spec.scaffold import SPEC_NAME, Answers, write_project

    given = {"company": company, "privacy_url": privacy_url, "dpo_address": dpo_address}
    asked = sys.stdin.isatty()
    values = {
        name: value or (click.prompt(name.replace("_", " ").capitalize(), default=INIT_DEFAULTS[name])
                        if asked else INIT_DEFAULTS[name])
        for name, value in given.items()
    }
    written = write_project(Path(directory), Answers(**values, language=language), force=force)
    spec = Path(directory) / SPEC_NAME
    click.echo("Wrote " + ", ".join(str(path) for path in written) + ".")
    lines, count = validate([str(spec)])
    click.echo("\n".join(lines))
    if count:
        return EXIT_ERROR
    click.echo(f"Next: gdpr-as-code demo --spec {spec}   (plan → apply → plan on a throw-away sandbox),\n"
               "then set MAUTIC_URL and the credentials its target names (README, Connecting to Mautic) and "
               f"run gdpr-as-code plan {spec}.")
    return EXIT_OK


@cli.command("schema")
def schema_command() -> int:
    """Print the spec's JSON Schema (for editors: yaml-language-server, VS Code, IntelliJ)."""
    from gdpr_as_code.spec import spec_schema_text

    click.echo(spec_schema_text(), nl=False)
    return EXIT_OK


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=SANDBOX_PORT, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")
@click.option("--state", "state_file", type=click.Path(dir_okay=False), help="Keep the state in this file.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --host (others could reach it).")
@click.option("--mautic-version", type=click.Choice(["5.1", "7.0"]), default="5.1", show_default=True,
              help="Answer as this Mautic line (5.1.0 or 7.0.2, each as recorded).")
def sandbox_command(host: str, port: int, state_file: str | None, allow_remote: bool,
                    mautic_version: str) -> int:
    """Serve a Mautic-compatible API (5.1 or 7.0) for tests and trials, until Ctrl-C."""
    from gdpr_as_code.sandbox import Sandbox

    server = Sandbox(host, port, state_file=state_file, allow_remote=allow_remote,
                     mautic_version=mautic_version).start()
    click.echo(server.banner())
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("Sandbox stopped.", err=True)
    finally:
        server.stop()
    return EXIT_OK
