"""Converge a live Mautic to the spec: plan, apply, verify, import (over ``state`` and ``diff``).

    desired_state(spec)            -> State            ``state``: the spec rendered by each kind in resources
    read_live(client)              -> LiveState        ``state``: GETs only: one list call per kind
    diff(desired, live, prune)     -> tuple[Change]    ``diff``: pure; conflicts are one PlanError naming each
    plan(spec, client, prune)      -> Plan             the three above
    apply(plan, client)            -> tuple[Outcome]   the only place that writes configuration; then verifies
    adopt(client, address, id)     -> Outcome          ``gdpr-as-code import``: write the ownership marker

Callers use ``engine`` for all of them (``__all__``). Ownership is the marker each kind stores in Mautic (see
``resources``): a live object is managed when it carries one; anything else is never changed or deleted. An
unmanaged look-alike of a desired object stops the plan (``diff``): adopt it with ``import`` or rename one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdpr_as_code.diff import COLLECTIONS, diff, field_changes
from gdpr_as_code.errors import ApplyError, ApplyInterrupted, MauticError, PlanError
from gdpr_as_code.plan import SYMBOLS, Change, Plan
from gdpr_as_code.resources import (
    BY_NAME,
    EMAILS,
    FIELDS,
    KINDS,
    SEGMENTS,
    Json,
    Kind,
    kind_of_address,
    parse_ref,
    read_registry,
    ref,
    registry_body,
)
from gdpr_as_code.spec import Spec
from gdpr_as_code.state import Live, LiveState, desired_state, live_from_raw, read_live

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

__all__ = [
    "Live",
    "LiveState",
    "Outcome",
    "adopt",
    "apply",
    "describe",
    "desired_state",
    "diff",
    "live_from_raw",
    "plan",
    "read_live",
    "verify",
]


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
    """The smallest PATCH that adds the marker and keeps what the object holds: the kind's own body for the
    one attribute its marker lives in (which adds what Mautic wants on every write: a form's postAction, a
    focus item's style)."""
    marker_in = "customHtml" if kind is EMAILS else "description"
    return kind.payload(kind.normalise(raw, {}), key, frozenset({marker_in}), _no_refs)


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
