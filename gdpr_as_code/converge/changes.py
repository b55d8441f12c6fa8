"""The plan: a value saying exactly what ``apply`` would do to one Mautic instance, and its plain-text form.

A ``Plan`` is built by ``engine.plan`` and consumed by ``engine.apply``; it carries everything apply needs
(the desired payloads with symbolic references, the Mautic ids of every managed object, the ids of form
fields and actions), so a saved plan can be applied later without re-planning. ``to_dict``/``from_dict``
round-trip it as stable JSON; ``fingerprint`` of each touched live object lets a saved plan refuse when that
object changed.

Values in a plan come from the spec (names, consent texts, HTML) or from Mautic objects the tool manages; no
contact data is ever read while planning, and the connection's secrets never reach the plan.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from gdpr_as_code.resources import BY_NAME

PLAN_FORMAT_VERSION = 1
Action = Literal["create", "update", "delete"]
SYMBOLS: Mapping[str, str] = {"create": "+", "update": "~", "delete": "-"}
_VALUE_WIDTH = 70


def tool_version() -> str:
    """The installed version of gdpr-as-code (plans and receipts record it)."""
    try:
        return version("gdpr-as-code")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


def canonical_json(value: Any) -> str:
    """One JSON text per value (sorted keys, no spaces): the input of every hash here."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def fingerprint(value: Any) -> str:
    """sha256 of a normalised live object: equal fingerprints mean Mautic still holds what was planned on."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


@dataclass(frozen=True)
class FieldChange:
    """One changed attribute: ``path`` is dotted, nested form fields and actions by their spec key
    (``fields.email.label``, ``actions.confirm``); ``None`` on one side means added or removed."""

    path: str
    before: Any
    after: Any

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Change:
    """One object to create, update or delete. ``desired`` is the payload source (references still symbolic),
    ``sub_ids`` the Mautic ids of its live parts, ``fingerprint`` that of the live object (None on create).
    ``suppressed`` deletes (managed objects gone from the spec, planned without ``--prune``) are shown, never
    applied."""

    action: Action
    kind: str
    key: str
    name: str
    mautic_id: int | None = None
    fields: tuple[FieldChange, ...] = ()
    desired: Mapping[str, Any] | None = None
    sub_ids: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    fingerprint: str | None = None
    suppressed: bool = False

    @property
    def address(self) -> str:
        """``segment.forget``: how the user names the object."""
        return BY_NAME[self.kind].address(self.key)

    @property
    def changed(self) -> frozenset[str]:
        """Top-level attributes this change writes (what a PATCH must carry)."""
        return frozenset(f.path.split(".", 1)[0] for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "address": self.address,
            "name": self.name,
            "mautic_id": self.mautic_id,
            "suppressed": self.suppressed,
            "fingerprint": self.fingerprint,
            "fields": [f.to_dict() for f in self.fields],
            "desired": self.desired,
            "sub_ids": {part: dict(ids) for part, ids in self.sub_ids.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Change:
        return cls(
            action=data["action"],
            kind=data["kind"],
            key=data["key"],
            name=data["name"],
            mautic_id=data.get("mautic_id"),
            fields=tuple(FieldChange(f["path"], f["before"], f["after"]) for f in data.get("fields", ())),
            desired=data.get("desired"),
            sub_ids=data.get("sub_ids") or {},
            fingerprint=data.get("fingerprint"),
            suppressed=bool(data.get("suppressed")),
        )


@dataclass(frozen=True)
class Plan:
    """What apply will do to ``instance``; ``ids`` maps ``@kind.key`` of every managed live object to its id
    (references to unchanged objects resolve through it)."""

    instance: str
    changes: tuple[Change, ...]
    ids: Mapping[str, int] = field(default_factory=dict)
    prune: bool = False
    spec_sha256: str = ""
    tool_version: str = field(default_factory=tool_version)

    @property
    def actionable(self) -> tuple[Change, ...]:
        """The changes apply will make (suppressed deletes excluded)."""
        return tuple(c for c in self.changes if not c.suppressed)

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        """Terraform's three numbers, plus the deletes held back for want of ``--prune``."""
        acting = self.actionable
        return {
            "add": sum(c.action == "create" for c in acting),
            "change": sum(c.action == "update" for c in acting),
            "destroy": sum(c.action == "delete" for c in acting),
            "suppressed": sum(c.suppressed for c in self.changes),
        }

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form; ``plan_sha256`` covers everything else in it."""
        body = {
            "format_version": PLAN_FORMAT_VERSION,
            "tool_version": self.tool_version,
            "instance": self.instance,
            "spec_sha256": self.spec_sha256,
            "prune": self.prune,
            "counts": self.counts(),
            "changes": [c.to_dict() for c in self.changes],
            "ids": dict(sorted(self.ids.items())),
        }
        return {**body, "plan_sha256": hashlib.sha256(canonical_json(body).encode()).hexdigest()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            instance=data["instance"],
            changes=tuple(Change.from_dict(c) for c in data["changes"]),
            ids=dict(data.get("ids") or {}),
            prune=bool(data.get("prune")),
            spec_sha256=data.get("spec_sha256", ""),
            tool_version=data.get("tool_version", ""),
        )


def _show(value: Any) -> str:
    """A value on one line, cut to a readable width (a consent text can be long)."""
    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else "(none)"
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"


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
    if path in ("fields", "actions") and isinstance(value, Mapping):
        return [(path, ", ".join(value))] if value else []
    if isinstance(value, Mapping):
        return [leaf for key, inner in value.items() for leaf in _leaves(f"{path}.{key}", inner)]
    return [] if value is None else [(path, value)]


def _change_lines(change: Change) -> list[str]:
    where = f" (id {change.mautic_id})" if change.mautic_id is not None else ""
    head = f"  {SYMBOLS[change.action]} {change.address}{where}  {_show(change.name)}"
    if change.suppressed:
        return [f"{head}  — kept: removed from the spec, deleted only with --prune"]
    lines = [head]
    if change.action == "delete":
        if change.kind == "fields":
            lines.append("      (Mautic drops the field's column: the value of every contact is lost)")
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
    return lines


def render_text(plan: Plan) -> str:
    """The plan as a person reads it: one block per object, then Terraform's summary line."""
    if not plan.changes:
        return "No changes. Mautic matches the spec."
    lines = [f"Plan for {plan.instance}:", ""]
    for change in plan.changes:
        lines.extend(_change_lines(change))
    counts = plan.counts()
    lines.append("")
    if plan.has_changes:
        lines.append(
            f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['destroy']} to destroy."
        )
    else:
        lines.append("No changes. Mautic matches the spec.")
    if counts["suppressed"]:
        lines.append(
            f"{counts['suppressed']} managed object(s) no longer in the spec are kept; "
            "rerun with --prune to delete them."
        )
    return "\n".join(lines)
