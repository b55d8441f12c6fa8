"""Converge a live Mautic to the spec: desired state, live state, diff, plan, apply, verify, import.

    desired_state(spec)            -> State            pure: the spec rendered by each kind in resources
    read_live(client)              -> LiveState        GETs only: ONE list call per kind (all pages)
    diff(desired, live, prune)     -> tuple[Change]    pure; conflicts: one PlanError naming each and the fix
    plan(spec, client, prune)      -> Plan             the three above
    apply(plan, client)            -> tuple[Outcome]   the only place that writes configuration; then verifies
    adopt(client, address, id)     -> Outcome          ``gdpr-as-code import``: write the ownership marker

Ownership is the marker each kind stores in Mautic (see ``resources``): a live object is managed when it
carries one; anything else is never changed or deleted. An unmanaged object with the identity of a desired
one (same alias, or name where there is no alias) stops the plan: adopt it with ``import`` or rename one of
them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from deepdiff import DeepDiff

from gdpr_as_code.errors import ApplyError, ApplyInterrupted, MauticError, PlanError
from gdpr_as_code.plan import SYMBOLS, Change, FieldChange, Plan, fingerprint
from gdpr_as_code.resources import (
    BY_NAME,
    FIELDS,
    FOCUS,
    KINDS,
    SEGMENTS,
    FieldRegistry,
    Json,
    Kind,
    kind_of_address,
    parse_ref,
    read_registry,
    ref,
    registry_body,
)
from gdpr_as_code.spec import Spec

if TYPE_CHECKING:
    from gdpr_as_code.client import MauticClient

COLLECTIONS = ("fields", "actions")
"""Attributes holding sub-objects keyed by spec key: diffed item by item, never by position."""
_PATH_PART = re.compile(r"\['((?:[^'\\]|\\.)*)'\]|\[(\d+)\]")


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

    @property
    def identity(self) -> Any:
        return self.data.get(BY_NAME[self.kind].identity)


State = Mapping[str, Mapping[str, Desired]]
"""Desired objects by kind name, then spec key."""


@dataclass(frozen=True)
class LiveState:
    """What Mautic holds: every object of every managed kind, each either managed (has a key) or not."""

    objects: Mapping[str, tuple[Live, ...]]

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


@dataclass(frozen=True)
class Outcome:
    """What apply did to one object."""

    action: str
    kind: str
    key: str
    mautic_id: int | None
    detail: str = ""

    @property
    def address(self) -> str:
        return BY_NAME[self.kind].address(self.key)


# --- desired and live state -----------------------------------------------------------------------


def desired_state(spec: Spec) -> State:
    """Render every object of the spec with its kind (pure)."""
    groups: dict[str, Iterable[Any]] = {
        "fields": spec.fields,
        "segments": spec.segments,
        "emails": spec.emails,
        "forms": spec.forms,
        "focus": (spec.consent,) if spec.consent is not None else (),
    }
    return {
        kind.name: {
            obj.key: Desired(kind.name, obj.key, kind.render(obj), obj.where) for obj in groups[kind.name]
        }
        for kind in KINDS
    }


def read_live(
    client: MauticClient, kinds: Iterable[Kind] = KINDS, known: Mapping[str, int] | None = None
) -> LiveState:
    """Read every object of each kind with one list call per kind (the client follows pages), then normalise
    them; ids of managed objects inside others (a form action's segment) become references. ``known``
    (``@kind.key -> id``) names managed objects of kinds not read this time."""
    raws = {kind.name: client.list_all(kind.path, kind.list_key) for kind in kinds}
    registry = None
    if "fields" in raws and "segments" not in raws:  # contact field ownership lives in a segment
        registry = read_registry(client.list_all(SEGMENTS.path, SEGMENTS.list_key))
    return live_from_raw(raws, known, registry)


def live_from_raw(
    raws: Mapping[str, list[Mapping[str, Any]]],
    known: Mapping[str, int] | None = None,
    registry: FieldRegistry | None = None,
) -> LiveState:
    """Pure half of ``read_live``: build the live state from list answers (tested from recorded answers).
    Contact fields are managed when the field registry lists them (read from ``raws["segments"]`` unless
    ``registry`` is given)."""
    registry = registry or read_registry(raws.get("segments", ()))
    refs: dict[tuple[str, int], str] = {}
    for reference, known_id in (known or {}).items():
        kind, key = parse_ref(reference) or ("", "")
        refs[(kind, known_id)] = key
    for name, items in raws.items():
        for raw in items:
            key = registry.key_of(raw) if name == "fields" else BY_NAME[name].key_of(raw)
            if key is not None:
                refs[(name, int(raw["id"]))] = key
    objects = {
        name: tuple(
            Live(
                name,
                int(raw["id"]),
                refs.get((name, int(raw["id"]))),
                BY_NAME[name].normalise(raw, refs),
                BY_NAME[name].sub_ids(raw),
            )
            for raw in items
        )
        for name, items in raws.items()
    }
    return LiveState(objects)


# --- diff -----------------------------------------------------------------------------------------


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


def _immutable(kind: Kind, want: Desired, have: Live) -> list[str]:
    """Contact field alias and type never change in Mautic; planning such a change would loop forever."""
    if kind is not FIELDS:
        return []
    problems = []
    for attr in ("alias", "type"):
        if have.data.get(attr) != want.data.get(attr):
            problems.append(
                f"{kind.address(want.key)} ({want.where or 'spec'}): the {attr} of contact field "
                f"#{have.id} is {have.data.get(attr)!r} in Mautic and {want.data.get(attr)!r} in the spec, "
                f"and Mautic cannot change it. Put back {have.data.get(attr)!r} in the spec, or give the "
                "field a new key and alias "
                "(a new field; the old one is deleted with --prune, with its data)."
            )
    return problems


def diff(desired: State, live: LiveState, *, prune: bool = False) -> tuple[Change, ...]:
    """Every change that makes ``live`` match ``desired``, in dependency order (pure).

    Raises ``PlanError`` listing every conflict at once: an unmanaged look-alike in the way, two Mautic
    objects claiming one spec key, a contact field whose alias or type would have to change.
    """
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
            claims = managed.get(key, [])
            if len(claims) > 1:
                continue
            if not claims:
                problems.extend(
                    _conflict(kind, want, other, attr)
                    for other in unmanaged
                    if (attr := in_the_way(kind, want.data, other)) is not None
                )
                created = tuple(FieldChange(attr, None, value) for attr, value in want.data.items())
                changes.append(Change("create", kind.name, key, want.name, None, created, want.data))
                continue
            have = claims[0]
            problems.extend(_immutable(kind, want, have))
            delta = field_changes(kind.comparable(have.data), kind.comparable(want.data))
            if delta:
                changes.append(
                    Change(
                        "update",
                        kind.name,
                        key,
                        want.name,
                        have.id,
                        delta,
                        want.data,
                        have.sub_ids,
                        fingerprint(have.data),
                    )
                )
        for key, claims in managed.items():
            if key not in wanted and len(claims) == 1:
                gone = claims[0]
                changes.append(
                    Change(
                        "delete",
                        kind.name,
                        key,
                        gone.name,
                        gone.id,
                        fingerprint=fingerprint(gone.data),
                        suppressed=not prune,
                    )
                )
    if problems:
        raise PlanError("No safe plan:\n" + "\n".join(f"- {p}" for p in problems))
    return tuple(changes)


def plan(spec: Spec, client: MauticClient, *, prune: bool = False) -> Plan:
    """Read Mautic and compare it with the spec: what ``apply`` would do."""
    live = read_live(client)
    return Plan(
        instance=client.name,
        changes=diff(desired_state(spec), live, prune=prune),
        ids=live.ids(),
        prune=prune,
        spec_sha256=spec.sha256,
    )


# --- apply ----------------------------------------------------------------------------------------


class _Run:
    """One apply: the ids known so far (from the plan, plus objects created in this run) and what was done."""

    def __init__(self, plan: Plan, client: MauticClient) -> None:
        self.client = client
        self.ids = dict(plan.ids)
        self.outcomes: list[Outcome] = []

    def resolve(self, reference: str) -> int:
        if reference not in self.ids:
            kind, key = parse_ref(reference) or ("?", reference)
            raise ApplyError(
                f"{BY_NAME[kind].address(key) if kind in BY_NAME else reference} is referenced but exists "
                "neither in Mautic nor in this plan; it may have been deleted since the plan was made. "
                "Plan again."
            )
        return self.ids[reference]

    def create(self, change: Change) -> None:
        kind = BY_NAME[change.kind]
        desired = dict(change.desired or {})
        body = kind.payload(desired, change.key, None, self.resolve)

        def find_existing() -> dict[str, Any] | None:
            """A create whose answer was lost: adopt the object it made (it carries our marker; a contact
            field has none, but its alias was free when planned, so a field with it now is the lost one)."""
            for raw in self.client.list_all(kind.path, kind.list_key):
                same_alias = kind is FIELDS and raw.get("alias") == desired["alias"]
                if same_alias or kind.key_of(raw) == change.key:
                    return raw
            return None

        made = self.client.create(f"{kind.path}/new", body, find_existing=find_existing)
        self.ids[ref(kind.name, change.key)] = int(made["id"])
        self.outcomes.append(Outcome("create", kind.name, change.key, int(made["id"])))

    def update(self, change: Change) -> None:
        kind = BY_NAME[change.kind]
        desired = dict(change.desired or {})
        sub_ids = {part: dict(ids) for part, ids in change.sub_ids.items()}
        for part in COLLECTIONS:
            if part in change.changed:
                self._delete_parts(change, part, sub_ids)
        body = kind.payload(desired, change.key, change.changed, self.resolve, sub_ids)
        adds_parts = any(
            slot not in sub_ids.get(part, {})
            for part in COLLECTIONS
            if part in body
            for slot in desired[part]
        )
        self.client.patch(f"{kind.path}/{change.mautic_id}/edit", body, idempotent=not adds_parts)
        self.outcomes.append(
            Outcome(
                "update", kind.name, change.key, change.mautic_id, ", ".join(f.path for f in change.fields)
            )
        )

    def _delete_parts(self, change: Change, part: str, sub_ids: dict[str, dict[str, int]]) -> None:
        """Form fields/actions gone from the spec go through their delete endpoint (a PATCH never deletes)."""
        wanted = (change.desired or {}).get(part, {})
        doomed = {slot: part_id for slot, part_id in sub_ids.get(part, {}).items() if slot not in wanted}
        if doomed:
            self.client.delete(
                f"/forms/{change.mautic_id}/{part}/delete", params={f"{part}[]": sorted(doomed.values())}
            )
            for slot in doomed:
                sub_ids[part].pop(slot)

    def delete(self, change: Change) -> None:
        kind = BY_NAME[change.kind]
        self.client.delete(f"{kind.path}/{change.mautic_id}/delete")
        if kind is FIELDS:
            save_registry(self.client, {change.key: None})
        self.outcomes.append(Outcome("delete", kind.name, change.key, change.mautic_id))


def save_registry(client: MauticClient, edits: Mapping[str, str | None]) -> None:
    """Write contact field ownership (key -> alias, or None to forget a key) into the registry segment,
    creating it on first use; reread first so concurrent edits of other keys are kept."""
    current = read_registry(client.list_all(SEGMENTS.path, SEGMENTS.list_key))
    owners = dict(current.owners)
    for key, alias in edits.items():
        if alias is None:
            owners.pop(key, None)
        else:
            owners[key] = alias
    body = registry_body(owners)
    if current.segment_id is None:

        def find_existing() -> dict[str, Any] | None:
            found = read_registry(client.list_all(SEGMENTS.path, SEGMENTS.list_key)).segment_id
            return None if found is None else {"id": found}

        client.create(f"{SEGMENTS.path}/new", body, find_existing=find_existing)
    elif owners != current.owners:
        client.patch(f"{SEGMENTS.path}/{current.segment_id}/edit", {"description": body["description"]})


def apply(plan: Plan, client: MauticClient) -> tuple[Outcome, ...]:
    """Make the plan's changes: creates and updates in dependency order (fields, segments, emails, forms,
    focus), then deletes in reverse order; then re-read and verify. The only function that writes.

    Raises ``ApplyError`` naming the object when a write fails (``.outcomes`` says what was done before) or
    when Mautic did not keep a change.
    """
    run = _Run(plan, client)
    acting = plan.actionable
    order = {kind.name: n for n, kind in enumerate(KINDS)}
    forward = sorted((c for c in acting if c.action != "delete"), key=lambda c: order[c.kind])
    backward = sorted((c for c in acting if c.action == "delete"), key=lambda c: -order[c.kind])
    _register_fields(plan, client)
    doing = "before the first change"
    try:
        for change in (*forward, *backward):
            doing = f"at {change.address}, which may or may not have been made"
            try:
                getattr(run, change.action)(change)
            except (MauticError, ApplyError) as err:
                raise ApplyError(
                    f"Could not {change.action} {change.address} on {plan.instance}: {err} "
                    f"{len(run.outcomes)} change(s) were made before this one; fix the cause and run apply "
                    "again (it continues from what Mautic now holds).",
                    outcomes=tuple(run.outcomes),
                ) from err
        doing = "while verifying what Mautic kept"
        if acting:
            verify(plan, client, run.outcomes, run.ids)
    except KeyboardInterrupt:  # Ctrl-C: say what was made, so the receipt records it
        raise ApplyInterrupted(
            f"Interrupted (Ctrl-C) on {plan.instance} after {len(run.outcomes)} change(s), {doing}. Run "
            "apply again: it continues from what Mautic now holds.",
            outcomes=tuple(run.outcomes),
        ) from None
    return tuple(run.outcomes)


def _register_fields(plan: Plan, client: MauticClient) -> None:
    """List the contact fields this apply creates in the registry *before* creating them (one write): a
    create whose answer is lost, or a run killed right after it, then still leaves a field the next plan
    recognises as managed. Their aliases were free when planned (a field in the way stops the plan)."""
    creates = {
        c.key: str((c.desired or {})["alias"])
        for c in plan.actionable
        if c.kind == "fields" and c.action == "create"
    }
    if not creates:
        return
    try:
        save_registry(client, creates)
    except MauticError as err:
        raise ApplyError(
            f"Could not list the new contact fields in the field registry segment on {plan.instance}: {err} "
            "Nothing was changed; fix the cause and run apply again.",
        ) from err


def verify(plan: Plan, client: MauticClient, outcomes: Iterable[Outcome], known: Mapping[str, int]) -> None:
    """Re-read the kinds apply wrote and check Mautic kept every change; raise ``ApplyError`` otherwise.
    ``known`` are the ids of every managed object (from the plan and created in this run)."""
    touched = [c for c in plan.actionable if c.action != "delete"]
    if not touched:
        return
    kinds = [kind for kind in KINDS if any(c.kind == kind.name for c in touched)]
    live = read_live(client, kinds, known)
    problems = []
    for change in touched:
        claims = live.managed(change.kind).get(change.key, [])
        if len(claims) != 1:
            problems.append(
                f"{change.address}: Mautic holds {len(claims)} objects with its marker after apply"
            )
            continue
        kind = BY_NAME[change.kind]
        for item in field_changes(
            kind.comparable(claims[0].data), kind.comparable(dict(change.desired or {}))
        ):
            problems.append(
                f"{change.address} (id {claims[0].id}): {item.path} is {_short(item.before)} in Mautic, "
                f"wanted {_short(item.after)}" + _HINTS.get((change.kind, item.path), "")
            )
    if problems:
        raise ApplyError(
            f"Mautic did not keep every change on {plan.instance}:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nCheck the values Mautic accepts for these attributes (or a plugin rewriting them), fix the "
            "spec, and apply again.",
            outcomes=tuple(outcomes),
        )


_HINTS: Mapping[tuple[str, str], str] = {
    ("fields", "isPublished"): (
        " (when Mautic creates custom fields in the background, the field is published only after its cron "
        "job mautic:custom-field:create-column has run: run it, then apply again)"
    ),
    ("segments", "isPublished"): (
        " (publishing needs the API user's :publish permission; a segment in use cannot be unpublished)"
    ),
}
"""Known reasons Mautic keeps an attribute from changing, added to the verification message."""


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


# --- import ---------------------------------------------------------------------------------------


def adopt(client: MauticClient, address: str, mautic_id: int, spec: Spec | None = None) -> Outcome:
    """``gdpr-as-code import KEY ID``: write the ownership marker of ``address`` (e.g. ``segment.forget``)
    into Mautic object ``mautic_id``; the next plan then updates it to the spec instead of creating a twin."""
    try:
        kind, key = kind_of_address(address)
    except ValueError:
        names = ", ".join(f"{k.label}.KEY" for k in KINDS)
        raise PlanError(
            f"'{address}' is not an object address; use one of {names} (e.g. segment.forget)."
        ) from None
    if spec is not None and key not in desired_state(spec)[kind.name]:
        raise PlanError(
            f"{address} is not in {spec.source}; add it to the spec before importing Mautic "
            f"{kind.label} #{mautic_id} as it."
        )
    live = read_live(client, [kind])
    found = {o.id: o for o in live.objects[kind.name]}
    target = found.get(mautic_id)
    if target is None:
        raise PlanError(
            f"Mautic on {client.name} has no {kind.label} with id {mautic_id}; check the id in "
            f"Mautic's {kind.name} list."
        )
    owner = live.managed(kind.name).get(key)
    if target.key == key:
        return Outcome("import", kind.name, key, mautic_id, "already managed")
    if target.key is not None:
        raise PlanError(
            f"Cannot import {kind.label} #{mautic_id} as {address}: it is already managed as "
            f"{kind.address(target.key)}. Check the id, or remove its marker in Mautic first."
        )
    if owner:
        raise PlanError(
            f"Cannot import {kind.label} #{mautic_id} as {address}: {kind.label} #{owner[0].id} already is "
            f"{address}. Check the id, or remove the marker of #{owner[0].id} in Mautic first."
        )
    if kind is FIELDS:
        save_registry(client, {key: str(target.data.get("alias"))})
        return Outcome("import", kind.name, key, mautic_id, "listed in the field registry")
    raw = client.get(f"{kind.path}/{mautic_id}")[kind.one_key]
    client.patch(f"{kind.path}/{mautic_id}/edit", _marker_body(kind, key, raw))
    return Outcome("import", kind.name, key, mautic_id, "marker written")


def _marker_body(kind: Kind, key: str, raw: Mapping[str, Any]) -> Json:
    """The smallest PATCH that adds the marker and keeps what the object holds."""
    normal = kind.normalise(raw, {})
    if kind.name == "emails":
        return kind.payload(normal, key, frozenset({"customHtml"}), _no_refs)
    body = kind.payload(normal, key, frozenset({"description"}), _no_refs)
    if kind is FOCUS:
        return {"description": body["description"], "style": raw.get("style")}
    return {k: body[k] for k in ("description", "postAction", "postActionProperty") if k in body}


def _no_refs(reference: str) -> int:
    """A marker-only PATCH carries no references; reaching this is a bug, not a user error."""
    raise AssertionError(f"no reference expected while importing, got {reference}")


def describe(outcomes: Iterable[Outcome]) -> str:
    """What apply did, one line per object and Terraform's closing line."""
    done = list(outcomes)
    lines = [
        f"  {SYMBOLS[o.action]} {o.address} (id {o.mautic_id})" + (f": {o.detail}" if o.detail else "")
        for o in done
    ]
    counts = {action: sum(o.action == action for o in done) for action in SYMBOLS}
    lines.append(
        f"Apply complete! Resources: {counts['create']} added, {counts['update']} changed, "
        f"{counts['delete']} destroyed."
    )
    return "\n".join(lines)
