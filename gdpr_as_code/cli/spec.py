"""``validate``, ``schema`` and ``sandbox``: the commands that need no Mautic."""

from __future__ import annotations

import click

from gdpr_as_code.cli.app import EXIT_ERROR, EXIT_OK, cli


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


@cli.command("sandbox", short_help="Serve a Mautic-compatible API (5.1 or 7.0) locally.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (loopback by default).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
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
