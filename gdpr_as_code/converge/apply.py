"""Apply: the only place that writes configuration to Mautic, then verifies what Mautic kept.

Creates and updates run in dependency order (``resources.KINDS``), deletes in reverse, each change as soon as
what it refers to is written, several at once (``walk``); contact fields are listed in the field registry
before they are created, so a lost answer still leaves a managed field."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gdpr_as_code.converge.changes import Adopt, Change, Consent, Create, Delete, Plan, Update
from gdpr_as_code.converge.consent import consent_body
from gdpr_as_code.converge.diff import field_changes
from gdpr_as_code.converge.state import read_live
from gdpr_as_code.converge.walk import DEFAULT_PARALLELISM, Step, StepFailed, order, walk
from gdpr_as_code.errors import ApplyError, ApplyInterrupted, MauticError
from gdpr_as_code.render.text import cut
from gdpr_as_code.resources import (
    BY_NAME,
    FORMS,
    KINDS,
    SEGMENTS,
    Kind,
    parse_ref,
    read_registry,
    ref,
    registry_body,
)

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient



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
        if self.action == "consent":  # a form outside the spec: named by its id
            return f"{BY_NAME[self.kind].label} #{self.mautic_id}"
        return BY_NAME[self.kind].address(self.key)


# --- apply ----------------------------------------------------------------------------------------


class _Run:
    """One apply: the ids known so far (from the plan, plus objects created in this run) and what was done,
    shared by the changes written side by side (an id is read only after the write that made it is done)."""

    def __init__(self, plan: Plan, client: MauticClient) -> None:
        self.client = client
        self.ids = dict(plan.ids)
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()

    @property
    def outcomes(self) -> tuple[Outcome, ...]:
        with self._lock:
            return tuple(self._outcomes)

    def record(self, outcome: Outcome) -> None:
        with self._lock:
            self._outcomes.append(outcome)

    def make(self, change: Change) -> None:
        """Carry out one change, by its type."""
        match change:
            case Create():
                self.create(change)
            case Update():
                self.update(change)
            case Delete():
                self.delete(change)
            case Adopt():
                self.adopt(change)
            case Consent():
                path = f"{FORMS.path}/{change.mautic_id}/edit"
                self.client.patch(path, consent_body(change), idempotent=False)
                self.record(Outcome("consent", change.kind, change.key, change.mautic_id,
                                    "consent checkbox added"))

    def resolve(self, reference: str) -> int:
        if reference not in self.ids:
            kind, key = parse_ref(reference) or ("?", reference)
            raise ApplyError(
                f"{BY_NAME[kind].address(key) if kind in BY_NAME else reference} is referenced but exists "
                "neither in Mautic nor in this plan; it may have been deleted since the plan was made. "
                "Plan again."
            )
        return self.ids[reference]

    def create(self, change: Create) -> None:
        kind = BY_NAME[change.kind]
        desired = dict(change.desired)
        body = kind.payload(desired, change.key, None, self.resolve)

        def find_existing() -> dict[str, Any] | None:
            """A create whose answer was lost: adopt the object it made (it carries our marker; an object
            owned through the registry has none, but its identity was free when planned, so an object with
            it now is the lost one)."""
            for raw in self.client.list_all(kind.path, kind.list_key):
                listed = kind.ownership == "registry" and raw.get(kind.identity) == desired[kind.identity]
                if listed or kind.key_of(raw) == change.key:
                    return raw
            return None

        made = self.client.create(f"{kind.path}/new", body, find_existing=find_existing)
        self.ids[ref(kind.name, change.key)] = int(made["id"])
        self.record(Outcome("create", kind.name, change.key, int(made["id"])))

    def update(self, change: Update) -> None:
        kind = BY_NAME[change.kind]
        sub_ids = {part: dict(ids) for part, ids in change.sub_ids.items()}
        for part in kind.parts:
            if part in change.changed:
                self._delete_parts(kind, change, part, sub_ids)
        self._patch(kind, change, change.changed, sub_ids)
        self.record(
            Outcome(
                "update", kind.name, change.key, change.mautic_id, ", ".join(f.path for f in change.fields)
            )
        )

    def adopt(self, change: Adopt) -> None:
        """Take over an unmanaged object (``adopt:``): write its marker (a contact field: list it in the
        registry) together with what else the plan changes, in one PATCH; a form's parts go by id, each
        action with its marker, so nothing is recreated."""
        kind = BY_NAME[change.kind]
        desired = dict(change.desired)
        writes = set(change.changed)
        if kind.ownership == "registry":
            save_registry(self.client, {change.key: str(desired[kind.identity])})
        else:
            writes |= {kind.marker_in, *(part for part in kind.parts if desired.get(part))}
        sub_ids = {part: dict(ids) for part, ids in change.sub_ids.items()}
        for part in kind.parts:
            if part in writes:
                self._delete_parts(kind, change, part, sub_ids)
        if writes:
            self._patch(kind, change, frozenset(writes), sub_ids)
        self.record(Outcome("adopt", kind.name, change.key, change.mautic_id,
                                     ", ".join(f.path for f in change.fields)))

    def _patch(self, kind: Kind, change: Update | Adopt, writes: frozenset[str],
               sub_ids: dict[str, dict[str, int]]) -> None:
        """One PATCH of ``writes``; repeated after a lost answer only when it adds no part (a new form field
        sent twice would be made twice)."""
        desired = dict(change.desired)
        body = kind.payload(desired, change.key, writes, self.resolve, sub_ids)
        adds_parts = any(
            slot not in sub_ids.get(part, {})
            for part in kind.parts
            if part in body
            for slot in desired[part]
        )
        self.client.patch(f"{kind.path}/{change.mautic_id}/edit", body, idempotent=not adds_parts)

    def _delete_parts(self, kind: Kind, change: Update | Adopt, part: str, sub_ids: dict[str, dict[str, int]]
                      ) -> None:
        """Parts gone from the spec (a form's fields and actions) go through their delete endpoint (a PATCH
        never deletes)."""
        wanted = change.desired.get(part, {})
        doomed = {slot: part_id for slot, part_id in sub_ids.get(part, {}).items() if slot not in wanted}
        if doomed:
            self.client.delete(
                f"{kind.path}/{change.mautic_id}/{part}/delete", params={f"{part}[]": sorted(doomed.values())}
            )
            for slot in doomed:
                sub_ids[part].pop(slot)

    def delete(self, change: Delete) -> None:
        kind = BY_NAME[change.kind]
        self.client.delete(f"{kind.path}/{change.mautic_id}/delete")
        if kind.ownership == "registry":
            save_registry(self.client, {change.key: None})
        self.record(Outcome("delete", kind.name, change.key, change.mautic_id))


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


def apply(plan: Plan, client: MauticClient, *, parallelism: int = DEFAULT_PARALLELISM) -> tuple[Outcome, ...]:
    """Make the plan's changes: creates and updates in dependency order (fields, segments, emails, forms,
    focus), then deletes in reverse order, up to ``parallelism`` at once where nothing orders them (``walk``);
    then re-read and verify. The only function that writes. Outcomes come in that order, however the writes
    interleaved.

    Raises ``ApplyError`` naming the object when a write fails (the writes beside it finish first;
    ``.outcomes`` says what was done) or when Mautic did not keep a change.
    """
    run = _Run(plan, client)
    steps = order(plan.actionable)
    _register_fields(plan, client)
    in_flight: list[Change] = []  # a write a Ctrl-C cut short (beside others, they are let finish)

    def make(change: Change) -> None:
        in_flight.append(change)
        run.make(change)
        in_flight.remove(change)

    doing = "while making changes (the writes in flight were let finish)"
    try:
        try:
            walk(steps, make, parallelism)
        except StepFailed as failed:
            change, err = failed.change, failed.error
            if not isinstance(err, MauticError | ApplyError):
                raise err from None
            raise ApplyError(
                f"Could not {change.action} {change.address} on {plan.instance}: {err} "
                f"{len(run.outcomes)} other change(s) were made; fix the cause and run apply again (it "
                "continues from what Mautic now holds).",
                outcomes=_in_order(run.outcomes, steps),
            ) from err
        doing = "while verifying what Mautic kept"
        if plan.actionable:
            verify(plan, client, run.outcomes, run.ids)
    except KeyboardInterrupt:  # Ctrl-C: say what was made, so the receipt records it
        if in_flight and doing.startswith("while making"):
            doing = f"at {in_flight[0].address}, which may or may not have been made"
        raise ApplyInterrupted(
            f"Interrupted (Ctrl-C) on {plan.instance} after {len(run.outcomes)} change(s), {doing}. Run "
            "apply again: it continues from what Mautic now holds.",
            outcomes=_in_order(run.outcomes, steps),
        ) from None
    return _in_order(run.outcomes, steps)


def _in_order(outcomes: Iterable[Outcome], steps: Iterable[Step]) -> tuple[Outcome, ...]:
    """Outcomes in apply's order (the serial one), whichever finished first."""
    rank = {(step.change.kind, step.change.key): n for n, step in enumerate(steps)}
    return tuple(sorted(outcomes, key=lambda o: rank.get((o.kind, o.key), len(rank))))


def _register_fields(plan: Plan, client: MauticClient) -> None:
    """List the contact fields this apply creates in the registry *before* creating them (one write): a
    create whose answer is lost, or a run killed right after it, then still leaves a field the next plan
    recognises as managed. Their aliases were free when planned (a field in the way stops the plan)."""
    creates = {
        c.key: str(c.desired[BY_NAME[c.kind].identity])
        for c in plan.actionable
        if isinstance(c, Create) and BY_NAME[c.kind].ownership == "registry"
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
    touched = [c for c in plan.actionable if not isinstance(c, Delete | Consent)]
    boxes = [c for c in plan.actionable if isinstance(c, Consent)]
    if not touched and not boxes:
        return
    kinds = [kind for kind in KINDS if any(c.kind == kind.name for c in [*touched, *boxes])]
    live = read_live(client, kinds, known)
    problems = [_box_kept(change, live) for change in boxes]
    problems = [p for p in problems if p]
    for change in touched:
        claims = live.managed(change.kind).get(change.key, [])
        if len(claims) != 1:
            problems.append(
                f"{change.address}: Mautic holds {len(claims)} objects with its marker after apply"
            )
            continue
        kind = BY_NAME[change.kind]
        for item in field_changes(
            kind.comparable(claims[0].data), kind.comparable(dict(change.desired))
        ):
            problems.append(
                f"{change.address} (id {claims[0].id}): {item.path} is {_short(item.before)} in Mautic, "
                f"wanted {_short(item.after)}" + kind.verify_hints.get(item.path, "")
            )
    if problems:
        raise ApplyError(
            f"Mautic did not keep every change on {plan.instance}:\n"
            + "\n".join(f"- {p}" for p in problems)
            + "\nCheck the values Mautic accepts for these attributes (or a plugin rewriting them), fix the "
            "spec, and apply again.",
            outcomes=tuple(outcomes),
        )


def _box_kept(change: Consent, live: Any) -> str:
    """The consent checkbox is in the form, required and mapped, and every field it had is still there."""
    form = next((o for o in live.objects.get(FORMS.name, ()) if o.id == change.mautic_id), None)
    if form is None:
        return f"{change.address}: the form is gone after apply"
    box = (form.data.get("fields") or {}).get(change.key) or {}
    want = change.desired["field"]
    if not box.get("isRequired") or box.get("mappedField") != want["mappedField"]:
        return f"{change.address}: the consent checkbox {change.key} is not in the form as a required field"
    kept = form.sub_ids.get("fields", {})
    lost = [a for a, i in change.sub_ids.get("fields", {}).items() if kept.get(a) != i]
    return f"{change.address}: fields {', '.join(lost)} changed identity after apply" if lost else ""


def _short(value: Any) -> str:
    return cut(repr(value), 80)
