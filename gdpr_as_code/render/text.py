"""Plain text for people at a terminal: the plan (``render_text``), what apply did (``describe``), the
receipts ``history`` lists (``render_history``). Every long value is cut the same way (``cut``)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from gdpr_as_code.converge.changes import Change, Plan
from gdpr_as_code.converge.diff import COLLECTIONS
from gdpr_as_code.converge.threshold import large_change
from gdpr_as_code.resources import BY_NAME, KINDS

if TYPE_CHECKING:
    from gdpr_as_code.converge import LiveState, Outcome
    from gdpr_as_code.converge.state import State
    from gdpr_as_code.guard.receipts import ReceiptEntry

SYMBOLS: Mapping[str, str] = {"create": "+", "update": "~", "delete": "-", "adopt": "=", "consent": "~"}
_VALUE_WIDTH = 70


def cut(text: str, width: int) -> str:
    """``text`` on at most ``width`` characters, an ellipsis marking the cut."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(value: Any) -> str:
    """A value on one line, cut to a readable width (a consent text can be long)."""
    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else "(none)"
    return cut(text, _VALUE_WIDTH)


def around_difference(before: Any, after: Any) -> tuple[Any, Any]:
    """Two long texts cut to where they start to differ, so an edit at the end of a consent text shows (the
    text plan and the Markdown report share this rule)."""
    if (
        not (isinstance(before, str) and isinstance(after, str))
        or max(len(before), len(after)) <= _VALUE_WIDTH - 2
    ):
        return before, after
    same = next(
        (i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a != b),
        min(len(before), len(after)),
    )
    start = max(0, same - 20)
    prefix = "…" if start else ""
    return prefix + before[start:], prefix + after[start:]


def _leaves(path: str, value: Any) -> list[tuple[str, Any]]:
    """What a create sets, one line per set value: nested settings flattened to dotted paths, form fields and
    actions listed by key, unset values left out."""
    if path in COLLECTIONS and isinstance(value, Mapping):
        return [(path, ", ".join(value))] if value else []
    if isinstance(value, Mapping):
        return [leaf for key, inner in value.items() for leaf in _leaves(f"{path}.{key}", inner)]
    return [] if value is None else [(path, value)]


def _change_lines(change: Change) -> list[str]:
    where = f" (id {change.mautic_id})" if change.mautic_id is not None else ""
    head = f"  {SYMBOLS[change.action]} {change.address}{where}  {_show(change.name)}"
    if change.action == "adopt":
        head = f"  = adopt {change.address} (#{change.mautic_id})  {_show(change.name)}"
    if change.action == "consent":
        head = (f"  ~ {change.address}  {_show(change.name)}  (not in the spec: only its consent checkbox is "
                "managed)")
    if change.suppressed:
        return [f"{head}  — kept: removed from the spec, deleted only with --prune"]
    lines = [head]
    if change.action == "delete":
        if warning := BY_NAME[change.kind].delete_warning:
            lines.append(f"      ({warning})")
        return lines
    for item in change.fields:
        if change.action == "create":
            lines.extend(f"      {path}: {_show(value)}" for path, value in _leaves(item.path, item.after))
        elif item.before is None and isinstance(item.after, Mapping):
            lines.append(f"      + {item.path}")
        elif item.after is None and isinstance(item.before, Mapping):
            lines.append(f"      - {item.path}")
        else:
            before, after = around_difference(item.before, item.after)
            lines.append(f"      {item.path}: {_show(before)} → {_show(after)}")
            if note := BY_NAME[change.kind].change_notes.get(item.path):
                lines.append(f"        ({note})")
    return lines


def render_text(plan: Plan) -> str:
    """The plan as a person reads it: one block per object, then Terraform's summary line."""
    if not plan.changes:
        return f"No changes. {plan.mautic_label} matches the spec."
    running = f" ({plan.mautic_label})" if plan.mautic_version else ""
    lines = [f"Plan for {plan.instance}{running}:", ""]
    for change in plan.changes:
        lines.extend(_change_lines(change))
    counts = plan.counts()
    lines.append("")
    if plan.has_changes:
        adopting = f"{counts['adopt']} to adopt, " if counts["adopt"] else ""
        lines.append(
            f"Plan: {adopting}{counts['add']} to add, {counts['change']} to change, "
            f"{counts['destroy']} to destroy."
        )
        if why := large_change(plan):
            lines.append(f"Warning: {why}; apply refuses it without --allow-large-changes.")
    else:
        lines.append(f"No changes. {plan.mautic_label} matches the spec.")
    if counts["suppressed"]:
        lines.append(
            f"{counts['suppressed']} managed object(s) no longer in the spec are kept; "
            "rerun with --prune to delete them."
        )
    return "\n".join(lines)


def describe(outcomes: Iterable[Outcome]) -> str:
    """What apply did, one line per object and Terraform's closing line."""
    done = list(outcomes)
    lines = [
        f"  {SYMBOLS[o.action]} {o.address} (id {o.mautic_id})" + (f": {o.detail}" if o.detail else "")
        for o in done
    ]
    counts = {action: sum(o.action == action for o in done) for action in SYMBOLS}
    adopted = f"{counts['adopt']} adopted, " if counts["adopt"] else ""
    lines.append(
        f"Apply complete! Resources: {adopted}{counts['create']} added, "
        f"{counts['update'] + counts['consent']} changed, "
        f"{counts['delete']} destroyed."
    )
    return "\n".join(lines)


def managed_rows(live: LiveState, desired: State | None = None) -> list[dict[str, Any]]:
    """Every managed object of ``live`` in dependency order (``list``); with the spec's ``desired`` state,
    whether each is still in it (one that is not is deleted by ``apply --prune``)."""
    rows = []
    for kind in KINDS:
        for obj in sorted(live.objects.get(kind.name, ()), key=lambda o: (o.key or "", o.id)):
            if obj.key is None:
                continue
            row: dict[str, Any] = {"kind": kind.label, "key": obj.key, "address": kind.address(obj.key),
                                   "id": obj.id, "name": obj.name}
            if desired is not None:
                row["in_spec"] = obj.key in desired.get(kind.name, {})
            rows.append(row)
    return rows


def render_managed(rows: Sequence[Mapping[str, Any]], instance: str) -> str:
    """``list`` as a table, one managed object a line."""
    if not rows:
        return f"No object on {instance} carries the gdpr-as-code marker: apply a spec, or import one."
    width = max(len(str(row["address"])) for row in rows)
    lines = [f"{'address':<{width}}  {'id':>5}  name"]
    for row in rows:
        note = "" if row.get("in_spec", True) else "  (not in the spec: apply --prune deletes it)"
        lines.append(f"{row['address']:<{width}}  {row['id']:>5}  {row['name']}{note}")
    lines.append(f"{len(rows)} managed object(s) on {instance}.")
    return "\n".join(lines)


def is_change_of(change: Mapping[str, Any], key: str) -> bool:
    """Whether a receipt's change is of the object ``key``: an address (``segment.newsletter``) matches
    exactly, a bare spec key matches that key (``history --key``)."""
    return change.get("address") == key if "." in key else change.get("key") == key


def render_history(entries: Sequence[ReceiptEntry], key: str | None = None) -> str:
    """A table of receipts, oldest first; with ``key``, each row also shows that object's new values."""
    if not entries:
        return "No apply receipts." if key is None else f"No apply receipt changed {key}."
    lines = [f"{'finished (UTC)':<20} {'status':<8} {'+/~/-':<9} {'commit':<8} {'plan':<8} instance"]
    for entry in entries:
        r = entry.receipt
        counts = r.get("summary", {})
        tally = f"{counts.get('create', 0)}/{counts.get('update', 0)}/{counts.get('delete', 0)}"
        commit = ((r.get("spec") or {}).get("git_commit") or "-")[:7]
        if (r.get("spec") or {}).get("git_modified"):
            commit += "*"
        when = datetime.fromisoformat(r["finished_at"]).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(
            f"{when:<20} {r.get('status', '?'):<8} {tally:<9} {commit:<8} {r['plan_sha256'][:8]:<8} "
            f"{r['instance']}  ({entry.path.name})"
        )
        if key is not None:
            for change in r.get("changes", []):
                if is_change_of(change, key):
                    lines.append(f"    {change.get('action')} {change.get('address', key)}")
                    lines.extend(
                        f"      {item['path']}: {json.dumps(item['after'], ensure_ascii=False)}"
                        for item in change.get("fields", [])
                    )
    if any((e.receipt.get("spec") or {}).get("git_modified") for e in entries):
        lines.append("* the spec had uncommitted changes when it was applied")
    return "\n".join(lines)
