"""Desired and live state: the two sides the diff compares, in one shape.

    desired_state(spec)            -> State            pure: the spec rendered by each kind in resources
    read_live(client)              -> LiveState        GETs only: ONE list call per kind, side by side

Ownership is the marker each kind stores in Mautic (see ``resources``; contact fields: the field registry): a
live object is managed when it carries one, and its spec key is then known.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any

from gdpr_as_code.mautic.concurrent import gather
from gdpr_as_code.resources import (
    BY_NAME,
    KINDS,
    SEGMENTS,
    FieldRegistry,
    Json,
    Kind,
    parse_ref,
    read_registry,
    ref,
)
from gdpr_as_code.spec import Spec

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient


@dataclass(frozen=True)
class Desired:
    """One object the spec asks for, rendered by its kind."""

    kind: str
    key: str
    data: Json
    where: str = ""

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.data.get("label") or self.key)


@dataclass(frozen=True)
class Live:
    """One object read from Mautic: its id, ownership key (None when unmanaged), normalised data, part ids."""

    kind: str
    id: int
    key: str | None
    data: Json
    sub_ids: Mapping[str, Mapping[str, int]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.data.get("label") or f"#{self.id}")


State = Mapping[str, Mapping[str, Desired]]
"""Desired objects by kind name, then spec key."""


@dataclass(frozen=True)
class LiveState:
    """What Mautic holds: every object of every managed kind, each either managed (has a key) or not."""

    objects: Mapping[str, tuple[Live, ...]]
    mautic_version: str | None = None  # what the instance named in its Mautic-Version header

    def managed(self, kind: str) -> dict[str, list[Live]]:
        """Managed objects of a kind by spec key (a list: a clone in Mautic's UI copies the marker)."""
        result: dict[str, list[Live]] = {}
        for obj in self.objects.get(kind, ()):
            if obj.key is not None:
                result.setdefault(obj.key, []).append(obj)
        return result

    def ids(self) -> dict[str, int]:
        """``@kind.key`` → id of every managed object, for resolving references at apply time."""
        return {ref(o.kind, o.key): o.id for objs in self.objects.values() for o in objs if o.key is not None}


def desired_state(spec: Spec) -> State:
    """Render every object of the spec with its kind (pure)."""
    return {
        kind.name: {
            obj.key: Desired(kind.name, obj.key, kind.render(obj), obj.where)
            for obj in kind.spec_objects(spec)
        }
        for kind in KINDS
    }


def read_live(
    client: MauticClient, kinds: Iterable[Kind] = KINDS, known: Mapping[str, int] | None = None
) -> LiveState:
    """Read every object of each kind with one list call per kind (the client follows pages), the calls side
    by side (``concurrent.gather``, bounded), then normalise
    them; ids of managed objects inside others (a form action's segment) become references. ``known``
    (``@kind.key -> id``) names managed objects of kinds not read this time."""
    kinds = tuple(kinds)
    reads = list(kinds)
    if any(kind.ownership == "registry" for kind in kinds) and SEGMENTS not in kinds:  # it is a segment
        reads.append(SEGMENTS)
    lists = [partial(client.list_all, kind.path, kind.list_key) for kind in reads]
    answers = gather(lists, client.read_concurrency)
    raws = dict(zip((kind.name for kind in kinds), answers, strict=False))
    registry = read_registry(answers[-1]) if len(reads) > len(kinds) else None
    return replace(live_from_raw(raws, known, registry), mautic_version=client.mautic_version)


def live_from_raw(
    raws: Mapping[str, list[Mapping[str, Any]]],
    known: Mapping[str, int] | None = None,
    registry: FieldRegistry | None = None,
) -> LiveState:
    """Pure half of ``read_live``: build the live state from list answers (tested from recorded answers).
    Objects of a kind owned through the registry are managed when it lists them (read from the segments in
    ``raws`` unless ``registry`` is given). ``known`` ids only name references (an object being adopted is
    referred to by its key before it carries a marker); ownership comes from markers alone."""
    registry = registry or read_registry(raws.get(SEGMENTS.name, ()))
    refs: dict[tuple[str, int], str] = {}
    for reference, known_id in (known or {}).items():
        kind, key = parse_ref(reference) or ("", "")
        refs[(kind, known_id)] = key
    owned: dict[tuple[str, int], str] = {}
    for name, items in raws.items():
        for raw in items:
            owner = registry if BY_NAME[name].ownership == "registry" else BY_NAME[name]
            key = owner.key_of(raw)
            if key is not None:
                owned[(name, int(raw["id"]))] = refs[(name, int(raw["id"]))] = key
    objects = {
        name: tuple(
            Live(
                name,
                int(raw["id"]),
                owned.get((name, int(raw["id"]))),
                BY_NAME[name].normalise(raw, refs),
                BY_NAME[name].sub_ids(raw),
            )
            for raw in items
        )
        for name, items in raws.items()
    }
    return LiveState(objects)
