"""The diff: every change that makes the live state match the desired one, and every conflict that forbids it.

    diff(desired, live, prune)     -> tuple[Change]    pure; conflicts: one PlanError naming each and the fix

An unmanaged object that looks like a desired one (the same value of the kind's ``identity`` or of one of its
``lookalike`` attributes: an alias, a name) stops the plan: adopt it with ``import`` or rename one of them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gdpr_as_code.converge.changes import Adopt, Change, Create, Delete, FieldChange, Update, fingerprint
from gdpr_as_code.converge.state import Desired, Live, LiveState, State
from gdpr_as_code.errors import PlanError
from gdpr_as_code.mautic.versions import at_least
from gdpr_as_code.resources import KINDS, Json, Kind

COLLECTIONS = frozenset(part for kind in KINDS for part in kind.parts)
"""Attributes holding sub-objects keyed by spec key (``Kind.parts``): diffed item by item, not by position."""
_PATH_PART = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


def _project(live: Any, desired: Any) -> Any:
    """The part of a live value the spec speaks about: nested dicts keep only the desired keys, so server
    defaults the spec leaves alone never show as changes."""
    if isinstance(live, Mapping) and isinstance(desired, Mapping):
        return {k: _project(live.get(k), v) for k, v in desired.items()}
    return live


def _comparable(live: Json, desired: Json) -> Json:
    """Live projected onto desired; sub-object collections keep every live item (extra ones are drift)."""
    result: Json = {}
    for key, want in desired.items():
        have = live.get(key)
        if key in COLLECTIONS and isinstance(want, Mapping):
            have = have if isinstance(have, Mapping) else {}
            result[key] = {
                slot: (_project(have[slot], want[slot]) if slot in want else have[slot]) for slot in have
            }
        else:
            result[key] = _project(have, want)
    return result


def _path(deep_path: str) -> list[str]:
    """``root['fields']['email']['label']`` → ``['fields', 'email', 'label']``, stopping at a list index
    (lists such as filters and options are shown whole)."""
    parts = []
    for match in _PATH_PART.finditer(deep_path):
        if match.group(2) is not None:
            break
        parts.append(match.group(1).replace("\\'", "'"))
    return parts


def _get(value: Any, parts: list[str]) -> Any:
    for part in parts:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def field_changes(live: Json, desired: Json) -> tuple[FieldChange, ...]:
    """Changed attributes between a normalised live object and its desired form (deepdiff on both)."""
    have = _comparable(live, desired)
    if have == desired:  # the common case, and ~100x cheaper than asking deepdiff
        return ()
    # imported here: deepdiff (and numpy with it) takes ~0.3 s to import, and a converged plan never needs it
    from deepdiff import DeepDiff

    delta = DeepDiff(have, desired, verbose_level=2, threshold_to_diff_deeper=0)
    paths: dict[str, list[str]] = {}
    for deep_path in sorted(delta.affected_paths):
        parts = _path(deep_path)
        if parts:
            paths.setdefault(".".join(parts), parts)
    # keep the shortest path when one contains another (a whole new sub-object, not each of its attributes)
    chosen = [p for p in sorted(paths) if not any(p.startswith(q + ".") for q in paths if q != p)]
    return tuple(FieldChange(p, _get(have, paths[p]), _get(desired, paths[p])) for p in chosen)


def in_the_way(kind: Kind, want: Mapping[str, Any], other: Live) -> str | None:
    """The attribute by which unmanaged ``other`` collides with the desired object (None when it does not):
    its alias (Mautic refuses or renames a duplicate), or its name (two look-alikes confuse every reader)."""
    for attr in (kind.identity, *kind.lookalike):
        value = want.get(attr)
        if other.key is None and value is not None and other.data.get(attr) == value:
            return attr
    return None


def _conflict(kind: Kind, want: Desired, other: Live, attr: str) -> str:
    return (
        f"{kind.address(want.key)} ({want.where or 'spec'}): Mautic already has an unmanaged {kind.label} "
        f"#{other.id} with the same {attr} {str(other.data.get(attr))!r}. Adopt it with "
        f"`gdpr-as-code import {kind.address(want.key)} {other.id}`, or change the {attr} in the spec."
    )


def _unsupported(kind: Kind, want: Desired, version: str | None) -> list[str]:
    """Attributes the spec sets that this Mautic does not have (``Kind.since``): it would drop them and
    every plan would show them again."""
    runs = f"Mautic {version}" if version else "a Mautic that names no version"
    return [
        f"{kind.address(want.key)} ({want.where or 'spec'}): {spec_name} needs Mautic {major}.{minor} or "
        f"later, and this instance runs {runs}. Remove {spec_name} from the spec, or upgrade Mautic."
        for attr, (spec_name, major, minor) in kind.since.items()
        if want.data.get(attr) is not None and not at_least(version, major, minor)
    ]


def _immutable(kind: Kind, want: Desired, have: Live) -> list[str]:
    """The kind's ``immutable`` attributes (a contact field's alias and type) never change in Mautic;
    planning such a change would loop forever."""
    problems = []
    for attr in kind.immutable:
        if have.data.get(attr) != want.data.get(attr):
            problems.append(
                f"{kind.address(want.key)} ({want.where or 'spec'}): the {attr} of {kind.label} "
                f"#{have.id} is {have.data.get(attr)!r} in Mautic and {want.data.get(attr)!r} in the spec, "
                f"and Mautic cannot change it. Put back {have.data.get(attr)!r} in the spec, or give the "
                f"{kind.label} a new key and {kind.identity} "
                f"(a new {kind.label}; the old one is deleted with --prune, with its data)."
            )
    return problems


def _adoption(kind: Kind, want: Desired, mautic_id: int, live: LiveState, problems: list[str]
              ) -> Adopt | None:
    """``adopt:`` takes over unmanaged object ``mautic_id`` as ``want``: its marker is written with whatever
    else differs (its parts matched by ``Kind.claim``), so nothing is recreated."""
    found = next((o for o in live.objects.get(kind.name, ()) if o.id == mautic_id), None)
    address = kind.address(want.key)
    if found is None or found.key is not None:
        problems.append(
            f"{address} ({want.where or 'spec'}): adopt: names {kind.label} #{mautic_id}, which Mautic "
            + ("does not have" if found is None else f"already manages as {kind.address(str(found.key))}")
            + ". Fix the id under adopt: (export again to see the ids), or remove the entry."
        )
        return None
    problems.extend(_immutable(kind, want, found))
    data, sub_ids = kind.claim(found.data, found.sub_ids, want.data)
    delta = field_changes(kind.comparable(data), kind.comparable(want.data))
    return Adopt(kind=kind.name, key=want.key, name=want.name, mautic_id=found.id, desired=want.data,
                 fields=delta, fingerprint=fingerprint(found.data), sub_ids=sub_ids)


def diff(
    desired: State, live: LiveState, *, prune: bool = False, adopt: Mapping[str, int] | None = None
) -> tuple[Change, ...]:
    """Every change that makes ``live`` match ``desired``, in dependency order (pure). ``adopt`` (address ->
    Mautic id) names unmanaged objects to take over instead of creating their twins; for an object already
    managed it is a no-op.

    Raises ``PlanError`` listing every conflict at once: an unmanaged look-alike in the way, two Mautic
    objects claiming one spec key, a contact field whose alias or type would have to change.
    """
    adopt = adopt or {}
    changes: list[Change] = []
    problems: list[str] = []
    for kind in KINDS:
        wanted = desired.get(kind.name, {})
        managed = live.managed(kind.name)
        unmanaged = [o for o in live.objects.get(kind.name, ()) if o.key is None]
        for key, claims in managed.items():
            if len(claims) > 1:
                ids = ", ".join(f"#{o.id}" for o in claims)
                problems.append(
                    f"{kind.address(key)}: {len(claims)} {kind.name} in Mautic ({ids}) carry its marker "
                    f"[gdpr-as-code:{key}] (a copy made in Mautic keeps it). Remove the marker from the "
                    "copies "
                    "you want to keep unmanaged, or delete them."
                )
        for key, want in wanted.items():
            problems.extend(_unsupported(kind, want, live.mautic_version))
            claims = managed.get(key, [])
            if len(claims) > 1:
                continue
            adopted = adopt.get(kind.address(key))
            if not claims and adopted is not None:
                taking = _adoption(kind, want, adopted, live, problems)
                changes.extend([taking] if taking else [])
                continue
            if not claims:
                problems.extend(
                    _conflict(kind, want, other, attr)
                    for other in unmanaged
                    if (attr := in_the_way(kind, want.data, other)) is not None
                )
                created = tuple(FieldChange(attr, None, value) for attr, value in want.data.items())
                changes.append(
                    Create(kind=kind.name, key=key, name=want.name, desired=want.data, fields=created)
                )
                continue
            have = claims[0]
            problems.extend(_immutable(kind, want, have))
            delta = field_changes(kind.comparable(have.data), kind.comparable(want.data))
            if delta:
                changes.append(
                    Update(kind=kind.name, key=key, name=want.name, mautic_id=have.id, desired=want.data,
                           fields=delta, fingerprint=fingerprint(have.data), sub_ids=have.sub_ids)
                )
        for key, claims in managed.items():
            if key not in wanted and len(claims) == 1:
                gone = claims[0]
                changes.append(
                    Delete(kind=kind.name, key=key, name=gone.name, mautic_id=gone.id,
                           fingerprint=fingerprint(gone.data), suppressed=not prune)
                )
    if problems:
        raise PlanError("No safe plan:\n" + "\n".join(f"- {p}" for p in problems))
    return tuple(changes)
