"""What a rollout prints: progress lines, the per-instance table, the details, JSON and Markdown of it all.

Per-instance plans are rendered by the single-instance renderers (``plan.render_text``, ``report``) so an
instance looks the same in a rollout as on its own; this module only adds the table, the combined documents
and the exit code. Everything passes the redactor, which knows every credential variable of the inventory.
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.guard.apply import Applied
from gdpr_as_code.redact import Redactor
from gdpr_as_code.render.json import plan_document, plan_redactor
from gdpr_as_code.render.markdown import render_markdown
from gdpr_as_code.render.text import describe, render_text
from gdpr_as_code.rollout.inventory import Inventory
from gdpr_as_code.rollout.runner import InstanceResult, Wave

R = TypeVar("R")
ROLLOUT_FORMAT_VERSION = 1
NOTE_WIDTH = 100
MARKDOWN_BUDGET = 60_000  # GitHub refuses comments over 65,536 characters
EXIT_OK, EXIT_ERROR, EXIT_CHANGES = 0, 1, 2
PLAN_STATUSES = ("changes", "no changes", "failed", "skipped")


def redactor_for(inventory: Inventory) -> Redactor:
    """The environment's secrets plus every credential variable the inventory names."""
    names = [name for instance in inventory.instances for name in instance.credential_env]
    return Redactor.from_environ(extra_names=names)


def first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= NOTE_WIDTH else line[: NOTE_WIDTH - 1] + "…"


def _counts(plan: Plan) -> str:
    counts = plan.counts()
    return f"+{counts['add']} ~{counts['change']} -{counts['destroy']}"


def plan_status(result: InstanceResult[Plan]) -> str:
    """``changes``, ``no changes``, ``failed`` or ``skipped``."""
    if result.value is None:
        return result.status
    return "changes" if result.value.has_changes else "no changes"


def apply_status(result: InstanceResult[Applied]) -> str:
    """``applied``, ``no changes``, ``failed`` or ``skipped``."""
    if result.value is None:
        return result.status
    return "applied" if result.value.outcomes else "no changes"


def describe_plan(redactor: Redactor) -> Callable[[InstanceResult[Plan]], str]:
    """The progress text of a planned instance."""
    return _describer(redactor, plan_status, lambda plan: plan)


def describe_apply(redactor: Redactor) -> Callable[[InstanceResult[Applied]], str]:
    """The progress text of an applied instance."""
    return _describer(redactor, apply_status, lambda applied: applied.plan)


def _describer(
    redactor: Redactor, status: Callable[[InstanceResult[R]], str], plan_of: Callable[[R], Plan]
) -> Callable[[InstanceResult[R]], str]:
    def describe(result: InstanceResult[R]) -> str:
        if result.value is None:
            return f"{result.status}: {redactor.text(first_line(result.error))}"
        return f"{status(result)} ({_counts(plan_of(result.value))})"

    return describe


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]
    return "\n".join(lines)


def _numbers(plan: Plan | None) -> list[str]:
    if plan is None:
        return ["-", "-", "-"]
    counts = plan.counts()
    return [str(counts["add"]), str(counts["change"]), str(counts["destroy"])]


def _mautic(plan: Plan | None) -> str:
    """The instance's Mautic version for the tables (a mixed-version fleet reads at a glance)."""
    return (plan.mautic_version or "?") if plan is not None else "-"


def _tally(statuses: Sequence[str]) -> str:
    order = ("changes", "applied", "no changes", "failed", "skipped")
    parts = [f"{statuses.count(status)} {status}" for status in order if status in statuses]
    return f"{len(statuses)} instance(s): " + ", ".join(parts) + "."


def render_plan_text(results: Sequence[InstanceResult[Plan]], redactor: Redactor) -> str:
    """The combined plan: one table row per instance, then each instance's plan or error, then the tally."""
    rows = [
        [r.instance.name, _mautic(r.value), plan_status(r), *_numbers(r.value),
         redactor.text(first_line(r.error))]
        for r in results
    ]
    parts = [table(["INSTANCE", "MAUTIC", "RESULT", "ADD", "CHANGE", "DESTROY", "NOTE"], rows)]
    for result in results:
        if result.value is not None and result.value.changes:
            body = plan_redactor(result.value, redactor).text(render_text(result.value))
            parts.append(f"=== {result.instance.name} ===\n{body}")
        elif result.error:
            parts.append(f"=== {result.instance.name} ({result.status}) ===\n{redactor.text(result.error)}")
    parts.append("Rollout plan: " + _tally([plan_status(r) for r in results]))
    return "\n\n".join(parts)


def render_apply_text(results: Sequence[InstanceResult[Applied]], redactor: Redactor) -> str:
    """What apply did: each instance's outcomes or error, then one table row per instance, then the tally."""
    parts = []
    for result in results:
        if result.value is not None and result.value.outcomes:
            receipt = f"\nReceipt: {result.value.receipt}" if result.value.receipt else ""
            done = redactor.text(describe(result.value.outcomes))
            parts.append(f"=== {result.instance.name} ===\n{done}{receipt}")
        elif result.error:
            made = getattr(result.exception, "outcomes", ())
            before = f"\n{redactor.text(describe(made))}" if made else ""
            parts.append(
                f"=== {result.instance.name} ({result.status}) ===\n{redactor.text(result.error)}{before}"
            )
    rows = [
        [r.instance.name, _mautic(r.value.plan if r.value else None), r.wave or "-", apply_status(r),
         *_numbers(r.value.plan if r.value else None), redactor.text(first_line(r.error))]
        for r in results
    ]
    header = ["INSTANCE", "MAUTIC", "WAVE", "RESULT", "ADDED", "CHANGED", "DESTROYED", "NOTE"]
    parts.append(table(header, rows))
    parts.append("Rollout apply: " + _tally([apply_status(r) for r in results]))
    return "\n\n".join(parts)


def plan_json(inventory: Inventory, results: Sequence[InstanceResult[Plan]], redactor: Redactor) -> str:
    """``plan --inventory --json``: every instance's status, its plan in the ``plan --json`` format, or its
    error."""
    statuses = [plan_status(r) for r in results]
    document: dict[str, Any] = {
        "rollout_format_version": ROLLOUT_FORMAT_VERSION,
        "inventory": inventory.path,
        "summary": {status: statuses.count(status) for status in PLAN_STATUSES},
        "instances": [
            {
                "name": r.instance.name,
                "labels": dict(r.instance.labels),
                "status": plan_status(r),
                "error": redactor.text(r.error) or None,
                "plan": plan_document(r.value, redactor) if r.value is not None else None,
            }
            for r in results
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)


def plan_markdown(results: Sequence[InstanceResult[Plan]], redactor: Redactor) -> str:
    """``plan --inventory --format markdown``: a summary line, a table, then each instance's plan comment
    (the single-instance Markdown) folded, within GitHub's comment size."""
    statuses = [plan_status(r) for r in results]
    lines = [
        f"**Rollout plan: {_tally(statuses)}**",
        "",
        "| instance | mautic | result | add | change | destroy | note |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for result, status in zip(results, statuses, strict=True):
        note = redactor.text(first_line(result.error)).replace("|", "&#124;")
        cells = [f"`{result.instance.name}`", _mautic(result.value), status, *_numbers(result.value), note]
        lines.append(f"| {' | '.join(cells)} |")
    text = "\n".join(lines) + "\n"
    left_out = []
    for result in results:
        if result.value is None or not result.value.changes:
            continue
        section = (
            f"\n<details><summary><code>{result.instance.name}</code>: {_counts(result.value)}</summary>\n\n"
            f"{render_markdown(result.value, redactor).rstrip()}\n\n</details>\n"
        )
        if len(text) + len(section) > MARKDOWN_BUDGET:
            left_out.append(result.instance.name)
            continue
        text += section
    if left_out:
        text += (
            f"\n…and the plans of {len(left_out)} more instance(s) with changes, left out to fit a comment: "
            f"{', '.join(f'`{name}`' for name in left_out)}. Run `gdpr-as-code plan` with `--select` "
            "for them.\n"
        )
    return text


def wave_note(wave: Wave) -> str:
    """The line that opens a wave in the apply progress."""
    return f"Applying wave {wave.name!r}: {len(wave.instances)} instance(s)"


def stop_note(failed: Wave, following: Wave) -> str:
    """The line that says why the rollout stopped early."""
    return (
        f"Stopping: wave {failed.name!r} failed on at least one instance, so wave {following.name!r} and the "
        "later ones are not started (pass --continue-on-error to go on regardless)."
    )


def render_plan(
    inventory: Inventory, results: Sequence[InstanceResult[Plan]], output: str, redactor: Redactor
) -> str:
    """The combined plan in ``text``, ``markdown`` or ``json``: what ``plan --inventory`` prints."""
    if output == "json":
        return plan_json(inventory, results, redactor)
    if output == "markdown":
        return plan_markdown(results, redactor).rstrip("\n")
    return render_plan_text(results, redactor)


def tracebacks(results: Sequence[InstanceResult[Any]], redactor: Redactor) -> str:
    """For ``--debug``: the traceback of each instance that failed on a bug (not on an expected error)."""
    parts = [
        f"=== {r.instance.name}: traceback ===\n" + "".join(traceback.format_exception(r.exception))
        for r in results
        if r.exception is not None and not isinstance(r.exception, GdprAsCodeError)
    ]
    return redactor.text("\n".join(parts))


def exit_code(statuses: Sequence[str], detailed: bool) -> int:
    """1 when any instance failed or was skipped; with ``detailed``, 2 when any has changes; else 0."""
    if "failed" in statuses or "skipped" in statuses:
        return EXIT_ERROR
    if detailed and "changes" in statuses:
        return EXIT_CHANGES
    return EXIT_OK
