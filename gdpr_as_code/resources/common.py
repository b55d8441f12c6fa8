"""What every kind shares: the ownership marker, references between objects, value normalisers, ``Kind``."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

MARKER_RE = re.compile(r"\[gdpr-as-code:([A-Za-z0-9_.\-]+)\]")
REF_RE = re.compile(r"^@([a-z]+)\.(.+)$")

Json = dict[str, Any]
RefIndex = Mapping[tuple[str, int], str]
"""Live ids of managed objects: ``(kind name, id) -> spec key``, to turn ids in live objects into refs."""
Resolver = Callable[[str], int]
"""Turns a ``@kind.key`` reference into its Mautic id (from the live state or created earlier in the run)."""
SubIds = Mapping[str, Mapping[str, int]]
"""Mautic ids of an object's parts, e.g. a form's ``{"fields": {alias: id}, "actions": {key: id}}``."""


class Payload(Protocol):
    """Renders the body of a create (``changed is None``) or of a PATCH carrying the top-level attributes in
    ``changed``, references resolved; ``sub_ids`` name the live parts a PATCH updates by id (forms)."""

    def __call__(
        self,
        desired: Json,
        key: str,
        changed: frozenset[str] | None,
        resolve: Resolver,
        sub_ids: SubIds | None = None,
    ) -> Json: ...


def marker(key: str) -> str:
    """The ownership marker text for a spec key."""
    return f"[gdpr-as-code:{key}]"


def ref(kind: str, key: str) -> str:
    """A reference to another managed object, kept symbolic until apply resolves it to an id."""
    return f"@{kind}.{key}"


def parse_ref(value: object) -> tuple[str, str] | None:
    """``(kind, key)`` of a reference string, or None for any other value."""
    if isinstance(value, str) and (match := REF_RE.match(value)):
        return match.group(1), match.group(2)
    return None


def references(value: object) -> Iterator[tuple[str, str]]:
    """``(kind, key)`` of every reference inside a desired payload: what apply resolves, or writes first."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
        elif (found := parse_ref(item)) is not None:
            yield found


def id_ref(kind: str, value: object, refs: RefIndex) -> str | None:
    """A live id (int or numeric string) as a reference; an unmanaged id stays visible as ``#N``."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Mapping):  # some answers embed the object ({"id": 3, "name": ...})
        value = value.get("id")
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"#{value}"
    key = refs.get((kind, number))
    return ref(kind, key) if key is not None else f"#{number}"


def resolve_refs(value: Any, resolve: Resolver) -> Any:
    """Replace every reference in a payload by the id it names."""
    if isinstance(value, dict):
        return {k: resolve_refs(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve_refs(v, resolve) for v in value]
    return resolve(value) if parse_ref(value) else value


def flag(value: object) -> int:
    """Mautic answers yes/no settings as true, 1, "1", null or false; compare them as 1 or 0."""
    return 1 if value in (True, 1, "1", "yes") else 0


def optional_text(value: object) -> str | None:
    """Optional text: Mautic answers an unset text as null or ""; both mean "none"."""
    return None if value in (None, "") else str(value)


def as_dict(value: object) -> dict[str, Any]:
    """Mautic serialises an empty PHP array as ``[]`` even where an object is meant."""
    return dict(value) if isinstance(value, Mapping) else {}


def options_of(items: object) -> list[dict[str, str]]:
    """Choice options as ``[{"label", "value"}]`` with string values (Mautic stores them as strings)."""
    result = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            result.append({"label": str(item.get("label", "")), "value": str(item.get("value", ""))})
        else:  # core lookup fields list bare strings
            result.append({"label": str(item), "value": str(item)})
    return result


def spec_options(options: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for label, value in options]


def split_description(text: object) -> tuple[str | None, str | None]:
    """``(human text, marker key)`` of a description: the marker line is not part of what the user wrote."""
    raw = "" if text is None else str(text)
    match = MARKER_RE.search(raw)
    human = MARKER_RE.sub("", raw).strip()
    return (human or None), (match.group(1) if match else None)


def with_marker(text: str | None, key: str) -> str:
    """A description carrying the ownership marker on its own last line."""
    return f"{text}\n\n{marker(key)}" if text else marker(key)


def key_in(reference: object) -> str | None:
    """The spec key a ``@kind.key`` reference names (None for an unmanaged ``#id`` or nothing)."""
    parsed = parse_ref(reference)
    return parsed[1] if parsed else None


def spec_entry(pairs: Mapping[str, Any], defaults: Mapping[str, Any]) -> Json:
    """A spec entry without the values it would default to anyway (a short, readable export)."""
    return {k: v for k, v in pairs.items() if v is not None and defaults.get(k, object()) != v}


def spec_key(text: object, taken: Iterable[str] = (), limit: int = 64) -> str:
    """A spec key made from a Mautic name (``Request to be Forgotten`` -> ``request_to_be_forgotten``),
    unique among ``taken``: how ``export`` names objects that carry no marker."""
    base = re.sub(r"[^a-z0-9]+", "_", str(text or "").lower()).strip("_")[:limit - 4].strip("_") or "item"
    base = base if base[0].isalpha() else f"x_{base}"
    taken, key, number = set(taken), base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


def no_sub_ids(raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Kinds without parts PATCHed by id."""
    return {}


@dataclass(frozen=True, kw_only=True)
class Kind:
    """One kind of Mautic object: its endpoints, envelope keys, identity, the four functions above, and the
    hooks through which generic code (state, diff, apply, import, render) learns what is special about it;
    no generic module names a kind.

    ``identity`` is the attribute that makes an unmanaged object "in the way" of a desired one (Mautic refuses
    or renames a duplicate alias; a duplicate name confuses every human reading Mautic). ``label`` is used in
    plan text and in addresses such as ``segment.forget``.
    """

    name: str
    label: str
    path: str
    list_key: str
    one_key: str
    identity: str
    spec_objects: Callable[[Any], Iterable[Any]]
    """The spec's objects of this kind (``desired_state`` renders each with ``render``)."""
    render: Callable[[Any], Json]
    normalise: Callable[[Mapping[str, Any], RefIndex], Json]
    key_of: Callable[[Mapping[str, Any]], str | None]
    payload: Payload
    sub_ids: Callable[[Mapping[str, Any]], dict[str, dict[str, int]]] = no_sub_ids
    lookalike: tuple[str, ...] = ()
    """Further attributes that put an unmanaged object in the way (a segment with our name, another alias)."""
    comparable: Callable[[Json], Json] = lambda data: data
    """Both sides as the diff compares them, where Mautic stores an equivalent of what was sent (emails)."""
    ownership: Literal["marker", "registry"] = "marker"
    """Where the tool records that it owns an object: a marker in the object (``marker_in``), or, for
    objects with nowhere to put one, the field registry segment (spec key -> ``identity``), which apply
    writes *before* creating them so a lost create answer still leaves an owned object."""
    marker_in: str = "description"
    """The attribute the ownership marker lives in (what ``import`` PATCHes)."""
    immutable: tuple[str, ...] = ()
    """Attributes Mautic never changes after creation; a plan that would change one is refused."""
    parts: tuple[str, ...] = ()
    """Attributes holding sub-objects keyed by spec key (diffed item by item), deleted through
    ``{path}/{id}/{part}/delete`` since a PATCH never deletes them."""
    delete_warning: str = ""
    """What the plan text adds under a delete of this kind (what is lost with it)."""
    verify_hints: Mapping[str, str] = field(default_factory=dict)
    """Known reasons Mautic keeps an attribute from changing, added to the verification message."""
    serial: bool = False
    """Whether apply writes objects of this kind one at a time (``converge.walk``): Mautic cannot take them
    concurrently."""
    waits_for: tuple[str, ...] = ()
    """Kinds whose objects this kind's payloads name by identity (an alias), not by reference: apply writes
    those first."""
    claim: Callable[[Json, SubIds, Json], tuple[Json, SubIds]] = lambda data, ids, desired: (data, ids)
    """Adoption: an unmanaged object's parts that carry no marker yet, matched to the desired parts (a form's
    actions by name and type), so adopting one rewrites none of them."""
    to_spec: Callable[[Json], Json | str] | None = None
    """``export``: a normalised live object (references as ``@kind.key``) as its spec entry, the inverse of
    ``render``; or the reason the spec cannot declare it. None: the kind is not exported on its own."""
    change_notes: Mapping[str, str] = field(default_factory=dict)
    """Why an attribute can differ though nobody edited it (Mautic changes it as a side effect of another
    edit); the plan shows the note under such a change, so the reviewer is not left wondering."""
    since: Mapping[str, tuple[str, int, int]] = field(default_factory=dict)
    """Attributes older Mautic lines do not have: attribute -> (the spec's name for it, major, minor of the
    first line that has it). A plan that would set one on an older (or unnamed) Mautic is refused, since it
    could never converge."""

    def address(self, key: str) -> str:
        """How the user names this object on the command line and in messages, e.g. ``segment.forget``."""
        return f"{self.label}.{key}"


def pick(desired: Json, changed: frozenset[str] | None) -> Json:
    """The desired attributes a write carries: all on create (``changed is None``), else the changed ones."""
    keys = set(desired) if changed is None else set(changed)
    return {k: desired[k] for k in keys if k in desired}


def description_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in a ``description`` marker (segments, forms, focus items, form actions)."""
    return split_description(raw.get("description"))[1]


def described_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body of a kind whose marker is a line in ``description`` (sent whole whenever it is written)."""
    body = pick(desired, changed)
    if "description" in body or changed is None:
        body["description"] = with_marker(desired.get("description"), key)
    return resolve_refs(body, resolve)
