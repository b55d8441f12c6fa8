"""``requests list|fulfil|retention``: GDPR requests from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from gdpr_as_code.cli.app import cli, spec_and_client
from gdpr_as_code.cli.rollout import Rollout, requests_inventory_options, requests_rollout


def _requests_setup(spec_path: str, state_dir: str | None, workers: int) -> Any:
    """The spec, its Mautic, and the request state folder (``--state-dir`` or beside the spec); with
    ``--inventory FILE --instance NAME``, that instance's credentials, variables and own state folder."""
    from gdpr_as_code import dsr

    state = Path(state_dir) if state_dir else None
    meta = click.get_current_context().meta
    if meta.get(INVENTORY) or meta.get(INSTANCE):
        if not (meta.get(INVENTORY) and meta.get(INSTANCE)):
            raise click.UsageError("--inventory FILE and --instance NAME go together: name the instance.")
        import os

        from gdpr_as_code.rollout.requests import Fleet, one_instance

        fleet = Fleet(Path(spec_path), os.environ, state, workers, inventory_path=meta[INVENTORY])
        return one_instance(fleet, meta[INVENTORY], meta[INSTANCE])
    spec, client = spec_and_client(spec_path)
    return dsr.prepare(spec, client, state_dir=state, workers=workers)


INVENTORY, INSTANCE = "gdpr_as_code.inventory", "gdpr_as_code.instance"


def _one_instance_options(command: Any) -> Any:
    """``--inventory FILE --instance NAME``: a command on one instance of an inventory (read by
    ``_requests_setup``, so the commands' own parameters stay as they are)."""

    def keep(key: str) -> Any:
        return lambda ctx, _param, value: ctx.meta.__setitem__(key, value)

    command = click.option("--instance", metavar="NAME", expose_value=False, callback=keep(INSTANCE),
                           help="With --inventory: the instance (its credentials and state folder).")(command)
    return click.option("--inventory", type=click.Path(exists=True, dir_okay=False), expose_value=False,
                        callback=keep(INVENTORY),
                        help="With --instance: an instance of this inventory, as requests fulfil --inventory "
                             "works on it (--state-dir is then the root of the instances' folders).")(command)


def _requests_options(command: Any) -> Any:
    """Options every ``requests`` command shares."""
    command = click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 32),
                           help="Contacts worked on at the same time.")(command)
    command = click.option("--state-dir", type=click.Path(file_okay=False),
                           help="Journal, audit log and receipts (default: gdpr-state/<instance> beside "
                                "the spec, or $GDPR_AS_CODE_STATE_DIR); with --inventory the root holding "
                                "one folder per instance, named after it.")(command)
    command = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(command)
    return click.argument("spec_path", metavar="SPEC", type=click.Path(exists=True, dir_okay=False))(command)


def _ask_or_refuse() -> Any:
    """On a terminal, ask before erasing; without one there is nobody to ask (None: erasures need --yes)."""
    if not sys.stdin.isatty():
        return None
    return lambda question: click.confirm(question, default=False, err=True)


def _one_at_a_time() -> Any:
    """The question before erasing, for many instances: asked once per instance, never two at a time."""
    from gdpr_as_code.rollout.requests import one_at_a_time

    return one_at_a_time(_ask_or_refuse())


def _progress(outcome: Any, done: int, total: int) -> None:
    """A progress line on stderr: every request in a small run, about every 5% in a long one."""
    if total <= 20 or done == total or done % max(1, total // 20) == 0:
        click.echo(f"  [{done}/{total}] {outcome.status:7} {outcome.request_id}", err=True)


@cli.group("requests")
def requests_group() -> None:
    """GDPR requests: list what is pending, fulfil access and erasure requests, enforce retention."""


@requests_group.command("list", short_help="Pending requests; exit 2 when one is overdue.")
@_requests_options
@click.option("--format", "output", type=click.Choice(["text", "json", "html"]), default="text",
              show_default=True, help="html: one self-contained page for the privacy officer (print it).")
@requests_inventory_options
def requests_list(spec_path: str, as_json: bool, state_dir: str | None, workers: int, output: str,
                  rollout: Rollout | None) -> int:
    """Pending requests with masked email, age and deadline; exit 2 when any is overdue. Warns when the
    request form has submissions Mautic's segment cron has not sorted into a request segment yet."""
    from gdpr_as_code import dsr

    if rollout is not None:
        if output == "html":
            raise click.UsageError("--format html is one instance's page: run it per instance (--select).")
        return requests_rollout(rollout, dsr.overview, spec_path=spec_path, state_dir=state_dir,
                                workers=workers, as_json=as_json or output == "json", member="listing")
    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        listing = dsr.overview(setup)
        if output == "html" and not as_json:
            click.echo(_html_report(spec_path, setup, listing), nl=False)
            return listing.exit_code
    click.echo(listing.as_json() if as_json or output == "json" else listing.text())
    return listing.exit_code


def _html_report(spec_path: str, setup: Any, listing: Any) -> str:
    """The page: the pending requests against their deadline, and the consent text live in Mautic."""
    from gdpr_as_code.dsr.consent import read_consent_texts
    from gdpr_as_code.dsr.journal import now
    from gdpr_as_code.guard.apply import spec_redactor
    from gdpr_as_code.render import html
    from gdpr_as_code.spec import load_spec

    spec = load_spec(Path(spec_path))
    sections = [html.requests_section(listing.rows, listing.deadline_days),
                html.consent_section(read_consent_texts(spec, setup.client))]
    when = now().strftime("%Y-%m-%d %H:%M UTC")
    return html.page("GDPR requests", f"{listing.instance}, as of {when}", sections, spec_redactor(spec))


@requests_group.command("fulfil", short_help="Answer access and erasure requests (resumable).")
@_requests_options
@click.option("--type", "kind", type=click.Choice(["access", "erasure"]), help="Only this type of request.")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many requests (per instance).")
@click.option("--dry-run", is_flag=True, help="Show what would be done; touch nothing.")
@click.option("--yes", is_flag=True, help="Erase without asking (needed when not on a terminal).")
@requests_inventory_options
def requests_fulfil(spec_path: str, as_json: bool, state_dir: str | None, workers: int, kind: str | None,
                    limit: int | None, dry_run: bool, yes: bool, rollout: Rollout | None) -> int:
    """Export, deliver, notify and mark done (access); notify, delete and confirm (erasure). Resumable."""
    from gdpr_as_code import dsr

    options = dsr.Options((kind,) if kind else ("access", "erasure"), limit, dry_run, yes)
    if rollout is not None:
        confirm = _one_at_a_time()
        return requests_rollout(rollout, lambda setup: dsr.fulfil(setup, options, confirm),
                                spec_path=spec_path, state_dir=state_dir, workers=workers, as_json=as_json,
                                member="summary")
    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        summary = dsr.fulfil(setup, options, _ask_or_refuse(), None if as_json else _progress)
    click.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
    return summary.exit_code


@requests_group.command("retention", short_help="Contacts past retention; exit 2 when there are any.")
@_requests_options
@click.option("--erase", is_flag=True, help="Erase them (receipt, delete, confirm), journaled like erasures.")
@click.option("--limit", type=click.IntRange(min=1), help="Erase at most this many (per instance).")
@click.option("--dry-run", is_flag=True, help="With --erase: show what would be done; touch nothing.")
@click.option("--yes", is_flag=True, help="Erase without asking (needed when not on a terminal).")
@requests_inventory_options
def requests_retention(spec_path: str, as_json: bool, state_dir: str | None, workers: int, erase: bool,
                       limit: int | None, dry_run: bool, yes: bool, rollout: Rollout | None) -> int:
    """Contacts past the data inventory's retention (by last activity); exit 2 when there are any."""
    from gdpr_as_code import dsr

    options = dsr.Options(("retention",), limit, dry_run, yes)
    confirm = _one_at_a_time() if rollout is not None else _ask_or_refuse()

    def work(setup: Any) -> Any:
        found = dsr.retention(setup)
        if not erase:
            return dsr.listing(setup, found, retention=True)
        return dsr.erase(setup, found, options, confirm, None if as_json or rollout else _progress)

    if rollout is not None:
        return requests_rollout(rollout, work, spec_path=spec_path, state_dir=state_dir, workers=workers,
                                as_json=as_json, member="summary" if erase else "listing")
    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        answer = work(setup)
    if not erase:
        click.echo(answer.as_json() if as_json else answer.text())
    else:
        click.echo(json.dumps(answer.as_dict(), indent=2) if as_json else answer.text())
    return int(answer.exit_code)


def _pending(setup: Any) -> Any:
    from gdpr_as_code import dsr

    return lambda: dsr.pending(setup)


def _case_command(name: str, short: str) -> Any:
    """A ``requests`` command that acts on one request by its id (``requests list`` shows the ids)."""

    def decorate(function: Any) -> Any:
        command = click.argument("request_id", metavar="ID")(function)
        command = _one_instance_options(_requests_options(command))
        return requests_group.command(name, short_help=short)(command)

    return decorate


@_case_command("delivered", "The person has the export: notify, close.")
def requests_delivered(spec_path: str, request_id: str, as_json: bool, state_dir: str | None,
                       workers: int) -> int:
    """Record that the person has the export of access request ID (folder delivery), then send the "your
    data" notification and take the request out of its segment."""
    from gdpr_as_code.dsr import cases

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        summary = cases.delivered(setup, request_id, _pending(setup))
    click.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
    return summary.exit_code


@_case_command("extend", "Extend the deadline (Art. 12(3)).")
@click.option("--reason", required=True, help="Why more time is needed; sent to the person as {reason}.")
@click.option("--days", type=click.IntRange(1, 61), default=61, show_default=True,
              help="Days added to the deadline (at most two months).")
def requests_extend(spec_path: str, request_id: str, as_json: bool, state_dir: str | None, workers: int,
                    reason: str, days: int) -> int:
    """Extend request ID's deadline, within its first month, and send the spec's extension email."""
    from gdpr_as_code.dsr import cases

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        message = cases.extend(setup, request_id, reason, _pending(setup), days)
    click.echo(json.dumps({"request": request_id, "message": message}) if as_json else message)
    return 0


@_case_command("refuse", "Refuse a request (Art. 12(4)), close it.")
@click.option("--reason", required=True,
              help="Why; sent to the person as {reason}, with the right to complain.")
def requests_refuse(spec_path: str, request_id: str, as_json: bool, state_dir: str | None, workers: int,
                    reason: str) -> int:
    """Send the spec's refusal email for request ID, take it out of its segment and close the case."""
    from gdpr_as_code.dsr import cases

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        message = cases.refuse(setup, request_id, reason, _pending(setup))
    click.echo(json.dumps({"request": request_id, "message": message}) if as_json else message)
    return 0


@_case_command("show", "One request's timeline.")
def requests_show(spec_path: str, request_id: str, as_json: bool, state_dir: str | None, workers: int) -> int:
    """Received, extended, exported, delivered, notified, erased: request ID's timeline (masked address)."""
    from gdpr_as_code.dsr import cases

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        case = cases.show(setup, request_id)
    click.echo(json.dumps(case, indent=2) if as_json else cases.show_text(case))
    return 0


@requests_group.command("verify-erasure", short_help="Was this address erased? (receipts).")
@_requests_options
@_one_instance_options
@click.argument("email", metavar="EMAIL")
def requests_verify_erasure(spec_path: str, email: str, as_json: bool, state_dir: str | None,
                            workers: int) -> int:
    """When and where EMAIL was erased, and the receipt ids; exit 1 when there is no receipt."""
    from gdpr_as_code.dsr import receipts

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        found = receipts.verify_erasure(setup, email)
    click.echo(json.dumps(found, indent=2) if as_json else receipts.verify_text(setup, email, found))
    return 0 if found else 1


@requests_group.command("reimported", short_help="Erased people back in Mautic.")
@_requests_options
@_one_instance_options
@click.option("--erase", is_flag=True,
              help="Erase them again (receipt, delete, confirm), journaled as reimport.")
@click.option("--yes", is_flag=True, help="Erase without asking (needed when not on a terminal).")
def requests_reimported(spec_path: str, as_json: bool, state_dir: str | None, workers: int, erase: bool,
                        yes: bool) -> int:
    """Live contacts whose address matches an erasure receipt; exit 2 when there are any (without --erase)."""
    from gdpr_as_code import dsr
    from gdpr_as_code.dsr import receipts

    setup = _requests_setup(spec_path, state_dir, workers)
    with setup.client:
        found = receipts.reimported(setup)
        if not erase:
            rows = [c.as_dict() for c in found]
            click.echo(json.dumps(rows, indent=2) if as_json else receipts.reimported_text(setup, found))
            return 2 if found else 0
        options = dsr.Options(("reimport",), None, False, yes)
        summary = dsr.erase(setup, [c.request() for c in found], options, _ask_or_refuse(),
                            None if as_json else _progress)
    click.echo(json.dumps(summary.as_dict(), indent=2) if as_json else summary.text())
    return summary.exit_code
