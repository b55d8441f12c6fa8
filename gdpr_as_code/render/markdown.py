"""The plan for reviewers: Markdown, a pull-request comment, through the redactor (``json.plan_redactor``).

The Markdown is written for privacy officers: a one-line summary first, then one collapsible section per
object with its field changes as a table. It stays readable (and under GitHub's 65,536-character comment
limit) at any size: beyond ``DETAILED_CHANGES`` objects or ``CHARACTER_BUDGET`` characters, the rest is
summarised by kind and action, with the full plan one command away.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from gdpr_as_code.converge.changes import Change, Plan
from gdpr_as_code.converge.threshold import large_change
from gdpr_as_code.redact import Redactor
from gdpr_as_code.render.json import plan_redactor
from gdpr_as_code.render.text import SYMBOLS, around_difference, cut
from gdpr_as_code.resources import BY_NAME

DETAILED_CHANGES = 50
FIELD_ROWS = 60
CELL_WIDTH = 600
LISTED_CHANGES = 300
CHARACTER_BUDGET = 50_000


def _cell(value: Any, redactor: Redactor) -> str:
    """One table cell: strings as text, other values as JSON code; cut, escaped, on one line."""
    if value is None:
        return "—"
    as_code = not isinstance(value, str)
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if as_code else value
    text = redactor.text(text)
    text = cut(text, CELL_WIDTH)
    text = html.escape(text, quote=False).replace("|", "&#124;").replace("\r", "").replace("\n", "<br>")
    return f"<code>{text}</code>" if as_code else text


def _summary_line(plan: Plan) -> str:
    counts = plan.counts()
    where = f"`{plan.instance}`"
    if plan.has_changes:
        adopting = f"{counts['adopt']} to adopt, " if counts["adopt"] else ""
        running = f" ({plan.mautic_label})" if plan.mautic_version else ""
        line = (
            f"**Plan for {where}{running}: {adopting}{counts['add']} to add, {counts['change']} to change, "
            f"{counts['destroy']} to destroy.**"
        )
    else:
        line = f"**No changes.** {plan.mautic_label} at {where} matches the spec."
    if counts["suppressed"]:
        line += (
            f" {counts['suppressed']} managed object(s) removed from the spec are kept; "
            "they are deleted only with `--prune`."
        )
    if plan.has_changes and (why := large_change(plan)):
        line += f"\n\n> **Warning:** {why}; apply refuses it without `--allow-large-changes`."
    return line


def _heading(change: Change, redactor: Redactor) -> str:
    where = f" (id {change.mautic_id})" if change.mautic_id is not None else ""
    if change.suppressed:
        what = "kept: removed from the spec, deleted only with <code>--prune</code>"
    elif change.action == "update":
        what = f"update {len(change.fields)} field(s)"
    elif change.action == "consent":
        what = "add the consent checkbox (the form is not in the spec; only this field is managed)"
    elif change.action == "adopt":
        what = f"adopt Mautic #{change.mautic_id}" + (f", update {len(change.fields)} field(s)"
                                                      if change.fields else ", nothing else changes")
    else:
        what = change.action
    name = _cell(change.name, redactor)
    return f"<code>{SYMBOLS[change.action]}</code> <b>{change.address}</b> “{name}”{where} — {what}"


def _leaves(path: str, value: Any) -> dict[str, Any]:
    """A value as dotted paths to its leaves: a reviewer reads ``properties.content.tagline``, not a blob."""
    if isinstance(value, Mapping) and value:
        return {leaf: v for key, item in value.items() for leaf, v in _leaves(f"{path}.{key}", item).items()}
    return {path: value}


def _rows(change: Change) -> list[tuple[str, Any, Any]]:
    """``(path, before, after)`` of every leaf that differs; two long texts cut to where they differ."""
    rows = []
    for item in change.fields:
        before, after = _leaves(item.path, item.before), _leaves(item.path, item.after)
        for path in dict.fromkeys([*before, *after]):
            old, new = before.get(path), after.get(path)
            if old == new:
                continue
            if isinstance(old, str) and isinstance(new, str) and max(len(old), len(new)) > CELL_WIDTH:
                old, new = around_difference(old, new)
            rows.append((path, old, new))
    return rows


def _field_rows(change: Change, redactor: Redactor) -> list[str]:
    """The changed settings as a table: one value column for a create, before and after for an update."""
    rows = _rows(change)
    creating = change.action == "create"
    header = ["setting", "value"] if creating else ["setting", "before", "after"]
    table = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for path, old, new in rows[:FIELD_ROWS]:
        cells = [_cell(new, redactor)] if creating else [_cell(old, redactor), _cell(new, redactor)]
        table.append(f"| `{path}` | {' | '.join(cells)} |")
    if len(rows) > FIELD_ROWS:
        table.append(f"| … {len(rows) - FIELD_ROWS} more | see the full plan |" + ("" if creating else " |"))
    notes = BY_NAME[change.kind].change_notes
    table.extend(f"\n`{path}`: {notes[path]}." for path, _, _ in rows if path in notes and not creating)
    return table


def _section(change: Change, redactor: Redactor) -> str:
    if change.suppressed:
        body = ["Still in Mautic; the spec no longer has it. Plan with `--prune` to delete it."]
    elif change.action == "delete":
        body = ["Deleted from Mautic."]
    elif change.action == "adopt" and not change.fields:
        body = ["Taken over as it is: only the ownership marker is written."]
    else:
        body = _field_rows(change, redactor)
    summary = f"<summary>{_heading(change, redactor)}</summary>"
    return "\n".join(["<details>", summary, "", *body, "", "</details>", ""])


def _rest(changes: Iterable[Change], show_hint: str) -> str:
    """Changes beyond the bound: counted by kind and action, then listed by address (also bounded)."""
    rest = list(changes)
    tally = Counter((c.kind, "kept" if c.suppressed else c.action) for c in rest)
    lines = [
        f"**…and {len(rest)} more change(s)**, summarised below; {show_hint}",
        "",
        "| kind | action | objects |",
        "| --- | --- | --- |",
        *(f"| {kind} | {action} | {n} |" for (kind, action), n in sorted(tally.items())),
        "",
        f"<details><summary>The {len(rest)} other object(s)</summary>",
        "",
    ]
    lines.extend(f"- `{SYMBOLS[c.action]} {c.address}`" for c in rest[:LISTED_CHANGES])
    if len(rest) > LISTED_CHANGES:
        lines.append(f"- …and {len(rest) - LISTED_CHANGES} more")
    lines.extend(["", "</details>"])
    return "\n".join(lines)


def render_markdown(plan: Plan, base: Redactor, plan_file: str | None = None) -> str:
    """The plan as a pull-request comment: summary line, one ``<details>`` per object, bounded in size."""
    redactor = plan_redactor(plan, base)
    parts = [_summary_line(plan), ""]
    show_hint = (
        f"run `gdpr-as-code show {plan_file}` for the full plan." if plan_file
        else "run `gdpr-as-code plan` locally for the full plan."
    )
    used = len(parts[0])
    for index, change in enumerate(plan.changes):
        section = _section(change, redactor)
        if index >= DETAILED_CHANGES or used + len(section) > CHARACTER_BUDGET:
            parts.append(_rest(plan.changes[index:], show_hint))
            break
        parts.append(section)
        used += len(section)
    return redactor.text("\n".join(parts).rstrip("\n")) + "\n"
