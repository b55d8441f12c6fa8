"""``audit [SPEC]``: the live instance's GDPR findings; ``export``: a spec written from a live Mautic."""

from __future__ import annotations

import click

from gdpr_as_code.cli.app import EXIT_OK, cli, spec_and_client

AUDIT_FORMATS = ("text", "json", "markdown")


@cli.command("audit", short_help="GDPR findings of the live Mautic; exit 2 when there are any.")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "output", type=click.Choice(AUDIT_FORMATS), default="text", show_default=True,
              help="text, json or markdown (a ticket or pull-request comment).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def audit_command(spec_path: str | None, output: str, as_json: bool) -> int:
    """Check the live Mautic for GDPR gaps: against SPEC when given, else Mautic alone. Reads only; exit 0
    when clean, 2 with findings, 1 on error."""
    from gdpr_as_code.audit import audit
    from gdpr_as_code.guard.apply import spec_redactor
    from gdpr_as_code.mautic.client import client_from_env
    from gdpr_as_code.redact import Redactor

    spec, client = spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        report = audit(client, spec)
        requests = client.stats.total
    redactor = spec_redactor(spec) if spec is not None else Redactor.from_environ()
    output = "json" if as_json else output
    if output == "json":
        click.echo(redactor.text(report.as_json()))
    elif output == "markdown":
        click.echo(redactor.text(report.markdown()))
    else:
        click.echo(redactor.text(report.text()) + f"\n({requests} requests, all reads)")
    return report.exit_code or EXIT_OK
