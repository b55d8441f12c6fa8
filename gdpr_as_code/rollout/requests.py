"""GDPR requests on every instance of an inventory: ``requests list|fulfil|retention --inventory FILE``.

Each instance is handled exactly as the single-instance command handles it (``dsr``): a client from its own
credential variables (``steps.prepare`` checks them all before any request), the spec loaded with its
variables, and its own state and delivery folders named after the instance (``dsr.state_folder``), so its
journal, journal lock, audit log, receipts and exports are its own and every single-instance guarantee
(resume, nothing sent twice, dry run) holds per instance. ``runner.run`` works on ``parallelism`` instances at
once; one that fails (unreachable, refused, 5xx) is that instance's result and the others go on. Everything
printed passes the inventory's redactor; addresses appear masked only, as the single-instance output has them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, TypeVar

from gdpr_as_code import dsr
from gdpr_as_code.dsr.fulfil import Confirm
from gdpr_as_code.errors import GdprAsCodeError, SelectionError
from gdpr_as_code.redact import Redactor
from gdpr_as_code.rollout import steps
from gdpr_as_code.rollout.inventory import Instance, Inventory, load_inventory
from gdpr_as_code.rollout.report import EXIT_ERROR, EXIT_OK, ROLLOUT_FORMAT_VERSION, first_line, table
from gdpr_as_code.rollout.runner import InstanceResult, run

R = TypeVar("R", dsr.Listing, dsr.Summary)
Work = Callable[[dsr.Setup], R]


@dataclass(frozen=True)
class Fleet:
    """What every instance's run shares: the spec, the environment, where the state folders go."""

    spec_path: Path
    env: Mapping[str, str]
    state_root: Path | None = None  # --state-dir: one folder per instance under it
    workers: int = 4  # requests worked on at once within one instance
    options: steps.RolloutOptions = field(default_factory=steps.RolloutOptions)
    inventory_path: str | None = None  # named in the commands a request's outcome tells the operator to run


@dataclass(frozen=True)
class Answer(Generic[R]):
    """One instance's answer (a listing or a run's summary), the Mautic version it named, and its folder."""

    value: R
    mautic_version: str | None
    state_dir: Path


def run_requests(
    fleet: Fleet,
    instances: Sequence[Instance],
    work: Work[R],
    on_result: Callable[[InstanceResult[Answer[R]]], None] | None = None,
) -> tuple[InstanceResult[Answer[R]], ...]:
    """Run ``work`` (what the single-instance command does with its ``Setup``) on every instance, at most
    ``parallelism`` at once; results in inventory order. Instances whose credentials are missing fail before
    any request, each on its own."""
    ready = steps.prepare(fleet.spec_path, instances, fleet.env)
    for failure in ready.failed:
        if on_result is not None:
            on_result(failure)

    def step(instance: Instance) -> Answer[R]:
        setup = _setup(fleet, ready, instance)
        with setup.client:
            return Answer(work(setup), setup.client.mautic_version, setup.state_dir)

    done = run(ready.ready(instances), step, parallelism=fleet.options.parallelism, on_result=on_result)
    return steps.in_order(instances, ready.failed, done)


def _setup(fleet: Fleet, ready: steps.Prepared, instance: Instance) -> dsr.Setup:
    """The instance's ``Setup``: the spec with its variables, its own client (the caller closes it), its own
    folders."""
    spec = ready.spec(instance)
    client = steps.client_for(instance, fleet.env, fleet.options)
    try:
        setup = dsr.prepare(spec, client, state_dir=fleet.state_root, env=fleet.env, workers=fleet.workers,
                            folder=instance.name)
    except BaseException:
        client.close()
        raise
    if fleet.inventory_path is None:
        return setup
    return replace(setup, command_args=f" --inventory {fleet.inventory_path} --instance {instance.name}")


def one_instance(fleet: Fleet, inventory_path: str, name: str) -> dsr.Setup:
    """Instance ``name`` of the inventory as a command on one request needs it (``requests delivered ID
    --inventory FILE --instance NAME``): its credentials, its variables, its state folder."""
    inventory = load_inventory(inventory_path)
    chosen = [instance for instance in inventory.instances if instance.name == name]
    if not chosen:
        names = ", ".join(instance.name for instance in inventory.instances)
        raise SelectionError(f"--instance {name!r} is not in {inventory.path} — use one of: {names}.")
    ready = steps.prepare(fleet.spec_path, chosen, fleet.env)
    if ready.failed:
        raise GdprAsCodeError(ready.failed[0].error)
    return _setup(fleet, ready, chosen[0])


def one_at_a_time(confirm: Confirm | None) -> Confirm | None:
    """The operator's question before erasing, asked for one instance at a time (each names its instance)."""
    if confirm is None:
        return None
    lock = threading.Lock()

    def ask(question: str) -> bool:
        with lock:
            return confirm(question)

    return ask


# --- what is printed ---


def status(result: InstanceResult[Answer[Any]]) -> str:
    """``failed`` (the instance), ``incomplete`` (a request failed or was refused), ``overdue``, ``dry run``
    or ``ok``."""
    if result.value is None:
        return result.status
    value = result.value.value
    if isinstance(value, dsr.Summary):
        return "incomplete" if value.exit_code else "dry run" if value.dry_run else "ok"
    return "overdue" if value.overdue and not value.retention else "ok"


def describe(redactor: Redactor) -> Callable[[InstanceResult[Answer[Any]]], str]:
    """The progress line of a finished instance."""

    def line(result: InstanceResult[Answer[Any]]) -> str:
        if result.value is None:
            return f"{result.status}: {redactor.text(first_line(result.error))}"
        value = result.value.value
        if isinstance(value, dsr.Summary):
            return f"{status(result)} ({_counts(value)})"
        if value.retention:
            return f"{len(value.rows)} past retention"
        return f"{status(result)} ({len(value.rows)} pending, {value.overdue} overdue)"

    return line


def _counts(summary: dsr.Summary) -> str:
    if summary.dry_run:
        return f"{len(summary.outcomes)} to work on"
    counts = {name: summary.count(name) for name in ("done", "failed", "waiting")}
    skipped = summary.count("skipped") + summary.count("refused")
    return (f"{counts['done']} done, {counts['failed']} failed, {skipped} skipped, {counts['waiting']} "
            f"waiting; {summary.api_requests} API requests")


def _version(result: InstanceResult[Answer[Any]]) -> str:
    return (result.value.mautic_version or "?") if result.value is not None else "-"


def _tally(results: Sequence[InstanceResult[Answer[Any]]]) -> str:
    statuses = [status(r) for r in results]
    order = ("ok", "overdue", "dry run", "incomplete", "failed")
    parts = [f"{statuses.count(name)} {name}" for name in order if name in statuses]
    return f"{len(results)} instance(s): " + ", ".join(parts) + "."


def render_listing(results: Sequence[InstanceResult[Answer[dsr.Listing]]], redactor: Redactor) -> str:
    """``list --inventory`` / ``retention --inventory``: every instance's rows in one table with an INSTANCE
    column, then a row per instance (its count, or its error), the cron warnings, then the tally."""
    answered = [(r.instance.name, r.value.value) for r in results if r.value is not None]
    retention = any(listing.retention for _, listing in answered)
    parts = []
    listed = [_listed_row(name, row, retention) for name, listing in answered for row in listing.rows]
    if listed:
        header = ["INSTANCE", "TYPE", "CONTACT", "EMAIL", "RECEIVED", "AGE", "STATUS"]
        if retention:
            header = ["INSTANCE", "CONTACT", "EMAIL", "RETENTION ENDED", "DAYS PAST"]
        parts.append(table(header, listed))
    counts = {name: [str(len(listing.rows)), str(listing.overdue)] for name, listing in answered}
    rows = [[r.instance.name, _version(r), status(r), *counts.get(r.instance.name, ["-", "-"]),
             first_line(r.error)] for r in results]
    parts.append(table(["INSTANCE", "MAUTIC", "RESULT", "PAST" if retention else "PENDING", "OVERDUE",
                        "NOTE"], rows))
    parts += [f"{name}: {dsr.expired_line(row)}" for name, listing in answered for row in listing.expired]
    parts += [f"{name}: {listing.warning}" for name, listing in answered if listing.warning]
    parts += [f"=== {r.instance.name} ({r.status}) ===\n{r.error}" for r in results if r.error]
    total = sum(len(listing.rows) for _, listing in answered)
    if retention:
        tail = f"{total} past retention."
    else:
        tail = f"{total} pending, {sum(listing.overdue for _, listing in answered)} overdue."
    parts.append(f"Requests: {_tally(results)} {tail}")
    return redactor.text("\n\n".join(parts))


def _listed_row(name: str, row: Mapping[str, Any], retention: bool) -> list[str]:
    received = str(row["received"])[:19]
    if retention:
        return [name, str(row["contact"]), row["email"], received, str(row["age_days"])]
    return [name, row["type"], str(row["contact"]), row["email"], received, f"{row['age_days']}d",
            dsr.status_cell(row)]


def render_summaries(results: Sequence[InstanceResult[Answer[dsr.Summary]]], redactor: Redactor) -> str:
    """``fulfil --inventory`` (and ``retention --erase``): each instance's summary as the single-instance
    command prints it, with its state folder, then a row per instance and the tally."""
    parts = []
    for r in results:
        if r.value is not None:
            parts.append(f"=== {r.instance.name} ===\n{r.value.value.text()}\nState: {r.value.state_dir}")
        else:
            parts.append(f"=== {r.instance.name} ({r.status}) ===\n{r.error}")
    rows = [[r.instance.name, _version(r), status(r), *_numbers(r), first_line(r.error)] for r in results]
    header = ["INSTANCE", "MAUTIC", "RESULT", "DONE", "FAILED", "SKIPPED", "WAITING", "API", "NOTE"]
    parts.append(table(header, rows))
    tail = f"Requests: {_tally(results)}"
    if any(r.value is not None and r.value.value.count("waiting") for r in results):
        tail += ("\nHand an export over on its instance: gdpr-as-code requests delivered SPEC ID --inventory "
                 "FILE --instance NAME (with the same --state-dir).")
    parts.append(tail)
    return redactor.text("\n\n".join(parts))


def _numbers(result: InstanceResult[Answer[dsr.Summary]]) -> list[str]:
    if result.value is None:
        return ["-"] * 5
    summary = result.value.value
    skipped = summary.count("skipped") + summary.count("refused")
    return [str(summary.count("done")), str(summary.count("failed")), str(skipped),
            str(summary.count("waiting")), str(summary.api_requests)]


def render_json(inventory: Inventory, results: Sequence[InstanceResult[Answer[Any]]], redactor: Redactor,
                member: str) -> str:
    """One document: ``{"rollout_format_version", "inventory", "summary", "instances": [{"name", "labels",
    "status", "error", "mautic_version", "state_dir", member}]}``; ``member`` (``listing`` or ``summary``)
    is the single-instance ``--json`` document."""
    statuses = [status(r) for r in results]
    document = {
        "rollout_format_version": ROLLOUT_FORMAT_VERSION,
        "inventory": inventory.path,
        "summary": {name: statuses.count(name) for name in sorted(set(statuses))},
        "instances": [
            {
                "name": r.instance.name,
                "labels": dict(r.instance.labels),
                "status": status(r),
                "error": r.error or None,
                "mautic_version": r.value.mautic_version if r.value else None,
                "state_dir": str(r.value.state_dir) if r.value else None,
                member: _document(r.value.value) if r.value else None,
            }
            for r in results
        ],
    }
    return redactor.text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False))


def _document(value: dsr.Listing | dsr.Summary) -> Any:
    """The single-instance ``--json`` document, exactly as that command prints it."""
    return value.as_dict() if isinstance(value, dsr.Summary) else json.loads(value.as_json())


def exit_code(results: Sequence[InstanceResult[Answer[Any]]]) -> int:
    """1 when an instance failed (or a request on one did); else 2 when a request is overdue (or a contact
    is past retention), as the single-instance command says; else 0."""
    codes = [EXIT_ERROR if r.value is None else r.value.value.exit_code for r in results]
    return EXIT_ERROR if EXIT_ERROR in codes else max(codes, default=EXIT_OK)
