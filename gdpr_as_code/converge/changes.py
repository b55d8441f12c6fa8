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
from typing import Any, ClassVar, Literal, cast

from gdpr_as_code.resources import BY_NAME

PLAN_FORMAT_VERSION = 1
Action = Literal["create", "update", "delete", "adopt", "consent"]


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


class _Addressed:
    """What every kind of change shares: the object it is about, and its JSON form (one flat shape, the saved
    plan's format: keys a change type lacks are written as their empty value)."""

    action: ClassVar[Action]
    kind: str
    key: str
    name: str
    fields: tuple[FieldChange, ...]

    @property
    def address(self) -> str:
        """``segment.forget``: how the user names the object."""
        return BY_NAME[self.kind].address(self.key)

    @property
    def changed(self) -> frozenset[str]:
        """Top-level attributes this change writes (what a PATCH must carry)."""
        return frozenset(f.path.split(".", 1)[0] for f in self.fields)

    def to_dict(self) -> dict[str, Any]:
        held = cast(Any, self)
        return {
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "address": self.address,
            "name": self.name,
            "mautic_id": held.mautic_id,
            "suppressed": held.suppressed,
            "fingerprint": getattr(self, "fingerprint", None),
            "fields": [f.to_dict() for f in self.fields],
            "desired": getattr(self, "desired", None),
            "sub_ids": {part: dict(ids) for part, ids in getattr(self, "sub_ids", {}).items()},
        }


@dataclass(frozen=True, kw_only=True)
class Create(_Addressed):
    """A new object: ``desired`` is its payload source (references still symbolic); it has no id yet."""

    action: ClassVar[Action] = "create"
    mautic_id: ClassVar[None] = None
    suppressed: ClassVar[bool] = False
    kind: str
    key: str
    name: str
    desired: Mapping[str, Any]
    fields: tuple[FieldChange, ...] = ()


@dataclass(frozen=True, kw_only=True)
class _Edit(_Addressed):
    """What every change to an existing object carries: its id, the desired payload source, the changed
    ``fields``, the Mautic ids of its live parts (``sub_ids``), and the ``fingerprint`` of the live object
    when planned (a saved plan refuses when it moved)."""

    suppressed: ClassVar[bool] = False
    kind: str
    key: str
    name: str
    mautic_id: int
    desired: Mapping[str, Any]
    fields: tuple[FieldChange, ...]
    fingerprint: str
    sub_ids: Mapping[str, Mapping[str, int]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Update(_Edit):
    """A managed object brought back to the spec."""

    action: ClassVar[Action] = "update"


@dataclass(frozen=True, kw_only=True)
class Delete(_Addressed):
    """A managed object gone from the spec; ``suppressed`` when planned without ``--prune`` (shown, never
    applied)."""

    action: ClassVar[Action] = "delete"
    fields: ClassVar[tuple[FieldChange, ...]] = ()
    kind: str
    key: str
    name: str
    mautic_id: int
    fingerprint: str
    suppressed: bool = False


@dataclass(frozen=True, kw_only=True)
class Adopt(_Edit):
    """An unmanaged object the spec's ``adopt:`` takes over: apply writes its marker with the ``fields``
    that differ (its parts matched to the spec's by ``Kind.claim``)."""

    action: ClassVar[Action] = "adopt"


@dataclass(frozen=True, kw_only=True)
class Consent(_Edit):
    """The consent checkbox added to a form the spec does not manage (``gdpr.consent.forms``): inside it the
    tool owns that one field. ``desired`` holds the checkbox (``field``), the aliases in their live order
    (``order``) and where it goes (``before``: the first button), and the form's ``postAction``, which every
    PATCH must repeat; ``sub_ids`` are the live field ids."""

    action: ClassVar[Action] = "consent"

    @property
    def address(self) -> str:
        """``form #12``: the form is not in the spec, so it has no spec key."""
        return f"{BY_NAME[self.kind].label} #{self.mautic_id}"


Change = Create | Update | Delete | Adopt | Consent


def change_from_dict(data: Mapping[str, Any]) -> Change:
    """A change read back from a saved plan (``to_dict``'s shape)."""
    common = {"kind": data["kind"], "key": data["key"], "name": data["name"]}
    fields = tuple(FieldChange(f["path"], f["before"], f["after"]) for f in data.get("fields", ()))
    if data["action"] == "create":
        return Create(**common, desired=data["desired"], fields=fields)
    if data["action"] in ("update", "adopt", "consent"):
        made = {"update": Update, "adopt": Adopt, "consent": Consent}[data["action"]]
        return made(**common, mautic_id=data["mautic_id"], desired=data["desired"], fields=fields,
                      fingerprint=data["fingerprint"], sub_ids=data.get("sub_ids") or {})
    return Delete(**common, mautic_id=data["mautic_id"], fingerprint=data["fingerprint"],
                  suppressed=bool(data.get("suppressed")))


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
    mautic_version: str | None = None  # the instance's Mautic-Version header; None when it sent none

    @property
    def mautic_label(self) -> str:
        """``Mautic 7.0.2``, or ``Mautic`` when the instance did not say (how plan headers name it)."""
        return f"Mautic {self.mautic_version}" if self.mautic_version else "Mautic"

    @property
    def actionable(self) -> tuple[Change, ...]:
        """The changes apply will make (suppressed deletes excluded)."""
        return tuple(c for c in self.changes if not (isinstance(c, Delete) and c.suppressed))

    @property
    def has_changes(self) -> bool:
        return bool(self.actionable)

    def counts(self) -> dict[str, int]:
        """Terraform's three numbers, plus adoptions (``adopt:``) and the deletes held back for want of
        ``--prune``."""
        acting = self.actionable
        return {
            "adopt": sum(isinstance(c, Adopt) for c in acting),
            "add": sum(isinstance(c, Create) for c in acting),
            "change": sum(isinstance(c, Update | Consent) for c in acting),
            "destroy": sum(isinstance(c, Delete) for c in acting),
            "suppressed": len(self.changes) - len(acting),
        }

    def to_dict(self) -> dict[str, Any]:
        """Stable JSON form; ``plan_sha256`` covers everything else in it."""
        body = {
            "format_version": PLAN_FORMAT_VERSION,
            "tool_version": self.tool_version,
            "instance": self.instance,
            "mautic_version": self.mautic_version,
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
            changes=tuple(change_from_dict(c) for c in data["changes"]),
            ids=dict(data.get("ids") or {}),
            prune=bool(data.get("prune")),
            spec_sha256=data.get("spec_sha256", ""),
            tool_version=data.get("tool_version", ""),
            mautic_version=data.get("mautic_version"),
        )
