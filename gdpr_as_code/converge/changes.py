"""The plan: a value saying exactly what ``apply`` would do to one Mautic instance (its text is ``render``).

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
Action = Literal["create", "update", "delete", "adopt"]


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
        """Terraform's three numbers, plus adoptions (``adopt:``) and the deletes held back for want of
        ``--prune``."""
        acting = self.actionable
        return {
            "adopt": sum(c.action == "adopt" for c in acting),
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
