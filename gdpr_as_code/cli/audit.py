"""``audit [SPEC]``: the live instance's GDPR findings; ``export``: a spec written from a live Mautic."""

from __future__ import annotations

import click

from gdpr_as_code.cli.app import EXIT_OK, cli, spec_and_client

AUDIT_FORMATS = ("text", "json", "markdown")


@cli.command("audit")
@click.argument("spec_path", metavar="[SPEC]", required=False, type=click.Path(exists=True, dir_okay=False))
@click.option("--format", "output", type=click.Choice(AUDIT_FORMATS), default="text", show_default=True,
              help="text, json or markdown (a ticket or pull-request comment).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--state-dir", type=click.Path(file_okay=False),
              help="The requests state folder (as requests --state-dir): its journal and erasure receipts "
                   "(default: gdpr-state/<instance> beside SPEC, or under $GDPR_AS_CODE_STATE_DIR).")
def audit_command(spec_path: str | None, output: str, as_json: bool, state_dir: str | None) -> int:
    """Check the live Mautic for GDPR gaps: against SPEC when given, else Mautic alone. Reads only; exit 0
    when clean, 2 with findings, 1 on error."""
    from pathlib import Path

    from gdpr_as_code.audit import audit
    from gdpr_as_code.guard.apply import spec_redactor
    from gdpr_as_code.mautic.connect import client_from_env
    from gdpr_as_code.redact import Redactor

    spec, client = spec_and_client(spec_path) if spec_path else (None, client_from_env())
    with client:
        report = audit(client, spec, state=Path(state_dir) if state_dir else None)
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


@cli.command("export")
@click.argument("objects", metavar="[KIND:ID|KIND:NAME]...", nargs=-1)
@click.option("--all", "everything", is_flag=True, help="Every object the spec can declare.")
@click.option("--out", "out_path", type=click.Path(dir_okay=False), help="Write the spec here (email bodies "
              "beside it, under emails/); default: print it.")
def export_command(objects: tuple[str, ...], everything: bool, out_path: str | None) -> int:
    """Write a spec of the live Mautic: fields, segments, emails, forms and the consent banner, with the
    seed's GDPR setup recognised as gdpr:, and an adopt: map so the first plan takes them over. Reads only."""
    import os
    from pathlib import Path

    from gdpr_as_code.generate import export, parse_selection
    from gdpr_as_code.mautic.connect import client_from_env
    from gdpr_as_code.redact import Redactor

    if bool(objects) == everything:
        raise click.UsageError("Name the objects to export (form:3 segment:'Data Requested') or give --all.")
    selection = parse_selection(objects)
    auth = "oauth2" if os.environ.get("MAUTIC_CLIENT_ID") else "basic"  # as client_from_env chooses
    with client_from_env() as client:
        exported = export(client, selection, auth)
        requests = client.stats.total
    if out_path is None:
        click.echo(Redactor.from_environ().text(exported.text(not exported.gdpr_problems)))
        return EXIT_OK
    written = exported.write(Path(out_path))
    objects_written = sum(len(v) if k != "consent" else 1 for k, v in exported.entries.items())
    click.echo(f"Wrote {written} ({objects_written} objects, {len(exported.adopt)} to adopt, "
               f"{len(exported.bodies)} email bodies, {len(exported.skipped)} left out; {requests} requests, "
               "all reads). Next: gdpr-as-code plan " + str(written))
    return EXIT_OK
