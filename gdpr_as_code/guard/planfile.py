"""Saved plans: ``plan --out PLANFILE`` writes one, ``apply PLANFILE`` applies exactly it, or refuses.

A plan file is the plan's JSON document (``render.json.plan_document``, the same as ``plan --json``)
plus the path of the spec it was made from. ``apply`` never re-plans; before writing anything it refuses
a plan file that
- is not one, was edited (its ``plan_sha256`` no longer matches), or has another ``format_version``;
- was made by another tool version, from another spec (the spec at ``spec_path`` hashes differently now), or
  for another instance;
- is stale: an object the plan touches changed in Mautic since (its fingerprint differs, it is gone, or a
  managed object or a look-alike now stands where the plan creates one), or an object its payloads refer to
  is gone. Changes to objects the plan does not touch do not make it stale (Terraform refuses on any change
  of state; without a state file we can be finer).
The freshness check reads live state as ``plan`` does (one list call per kind): fingerprints are taken of
normalised objects, and normalising turns ids of other kinds into references, so every kind is needed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gdpr_as_code.converge import LiveState, read_live
from gdpr_as_code.converge.changes import (
    PLAN_FORMAT_VERSION,
    Adopt,
    Consent,
    Create,
    Delete,
    Plan,
    Update,
    fingerprint,
    tool_version,
)
from gdpr_as_code.converge.diff import in_the_way
from gdpr_as_code.errors import GdprAsCodeError, PlanError, StalePlanError
from gdpr_as_code.guard.receipts import write_atomically
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import instance_key
from gdpr_as_code.redact import Redactor
from gdpr_as_code.render.json import plan_document
from gdpr_as_code.resources import BY_NAME, ref, references


def save_plan(plan: Plan, path: Path, spec_path: Path, base: Redactor) -> dict[str, Any]:
    """Write ``plan`` to ``path`` atomically and return the document written.

    The document is redacted like every output; if that would alter a desired payload (the spec put a
    secret's value into an object), nothing is written, since applying the masked value would be wrong.
    """
    document = plan_document(plan, base)
    changed = [
        change.address
        for change, saved in zip(plan.changes, document["changes"], strict=True)
        if saved["desired"] != _plain(None if isinstance(change, Delete) else change.desired)
    ]
    if changed:
        raise PlanError(
            f"Not saving the plan to {path}: the desired values of {', '.join(changed)} contain a secret or "
            "personal data (the value of a password, token or secret variable, or a contact's address). "
            "Remove it from the spec; credentials belong in environment variables only."
        )
    document = {**document, "spec_path": str(_portable(spec_path))}
    _write_plan(path, json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return document


def _portable(spec_path: Path) -> Path:
    """The spec's path relative to the working directory when it is below it, so a plan made on one CI
    runner (``/home/runner/work/...``) finds its spec on another that checks the repository out elsewhere.
    Symlinks stay as written (``configs/`` in the repository is one)."""
    try:
        return Path(os.path.abspath(spec_path)).relative_to(os.getcwd())
    except ValueError:
        return spec_path


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples and read-only mappings become lists and dicts)."""
    return json.loads(json.dumps(value, default=dict))


def _write_plan(path: Path, text: str) -> None:
    if path.is_file() and not _holds_a_plan(path):  # e.g. plan gdpr.yaml --out gdpr.yaml: never eat the spec
        raise GdprAsCodeError(
            f"Not saving the plan to {path}: that file exists and is not a plan file (a spec?), so saving "
            "would overwrite it. Choose another --out, e.g. --out plan.json."
        )
    try:
        write_atomically(path, text)
    except OSError as err:
        message = f"Could not write the plan to {path}: {err.strerror}. Choose another --out."
        raise GdprAsCodeError(message) from err


def is_plan_file(path: Path) -> bool:
    """Whether ``path`` looks like a saved plan rather than a spec (so ``apply`` can take either)."""
    try:
        with path.open("rb") as handle:
            return handle.read(1) == b"{"  # a plan is a JSON object; a spec is YAML, never starting with "{"
    except OSError:
        return False


def _holds_a_plan(path: Path) -> bool:
    """Whether ``path`` is a saved plan (which a new plan may replace), not merely JSON or YAML."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and "plan_sha256" in document


def read_plan(path: Path) -> tuple[Plan, Path]:
    """The plan saved in ``path`` and the spec path it was made from; refuses anything else."""
    make_one = (
        "A plan file is what plan SPEC --out PLANFILE saves (e.g. plan gdpr.yaml --out plan.json); to see "
        "what a spec would change, run plan SPEC."
    )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise StalePlanError(f"Cannot read the plan file {path}: {err.strerror}. {make_one}") from err
    except ValueError as err:
        raise StalePlanError(f"{path} is not a plan file: it is not JSON (a spec?). {make_one}") from err
    if not isinstance(document, dict) or "plan_sha256" not in document or "format_version" not in document:
        raise StalePlanError(f"{path} is not a gdpr-as-code plan file. {make_one}")
    if document["format_version"] != PLAN_FORMAT_VERSION:
        raise StalePlanError(
            f"{path} is a plan file of format {document['format_version']}; this gdpr-as-code reads format "
            f"{PLAN_FORMAT_VERSION}. Plan again with the version you apply with."
        )
    try:
        plan = Plan.from_dict(document)
        intact = plan.to_dict()["plan_sha256"] == document["plan_sha256"]
        spec_path = Path(document["spec_path"])
    except (KeyError, TypeError, ValueError) as err:
        raise StalePlanError(f"{path} is a damaged plan file (missing or wrong {err}). Plan again.") from err
    if not intact:
        raise StalePlanError(
            f"{path} was changed after it was made (its plan_sha256 does not match its content), so it is "
            "not the plan that was reviewed. Plan again."
        )
    return plan, spec_path


def check_origin(plan: Plan, plan_path: Path, spec_sha256: str, instance: str) -> None:
    """Refuse a plan made by another tool version, from another spec, or for another instance."""
    if plan.tool_version != tool_version():
        raise StalePlanError(
            f"{plan_path} was made by gdpr-as-code {plan.tool_version}; this is {tool_version()}. Use the "
            "same version for plan and apply (pin it in CI), or plan again."
        )
    if plan.spec_sha256 != spec_sha256:
        raise StalePlanError(
            f"{plan_path} was made from another version of the spec (sha256 {plan.spec_sha256[:12]}…, the "
            f"spec now is {spec_sha256[:12]}…): the spec changed since the plan was reviewed. Plan again and "
            "have the new plan reviewed."
        )
    if instance_key(plan.instance) != instance_key(instance):
        raise StalePlanError(
            f"{plan_path} was made for {plan.instance}, but the connection settings point at {instance}. Set "
            "MAUTIC_URL (or the spec's target) to the planned instance, or plan again for this one."
        )


def staleness(plan: Plan, live: LiveState) -> list[str]:
    """Why ``plan`` can no longer be applied as reviewed, one line per object (pure; empty when fresh)."""
    problems = []
    for change in plan.actionable:
        kind = BY_NAME[change.kind]
        claims = live.managed(change.kind).get(change.key, [])
        if isinstance(change, Create):
            if claims:
                problems.append(f"{change.address}: now exists in Mautic (id {claims[0].id}), planned as new")
            problems.extend(  # what would stop a new plan (diff's rule), not only the alias
                f"{change.address}: an unmanaged {kind.label} #{other.id} with its {attr} appeared"
                for other in live.objects.get(change.kind, ())
                if (attr := in_the_way(kind, change.desired, other)) is not None
            )
        elif isinstance(change, Adopt | Consent):
            found = next((o for o in live.objects.get(change.kind, ()) if o.id == change.mautic_id), None)
            if claims or found is None or found.key is not None:
                problems.append(f"{change.address} (id {change.mautic_id}): no longer adoptable as planned")
            elif fingerprint(found.data) != change.fingerprint:
                problems.append(f"{change.address} (id {change.mautic_id}): changed in Mautic since the plan")
        elif len(claims) != 1 or claims[0].id != change.mautic_id:
            problems.append(f"{change.address} (id {change.mautic_id}): no longer in Mautic as planned")
        elif fingerprint(claims[0].data) != change.fingerprint or _parts(claims[0].sub_ids) != _parts(
            change.sub_ids if isinstance(change, Update | Adopt) else {}
        ):  # the same content with re-created form fields has other ids, which the PATCH would name
            problems.append(f"{change.address} (id {change.mautic_id}): changed in Mautic since the plan")
    now = {**adopting(plan), **live.ids()}
    created = {ref(c.kind, c.key) for c in plan.actionable if isinstance(c, Create)}
    writing = [c for c in plan.actionable if not isinstance(c, Delete)]
    for kind, key in sorted({found for c in writing for found in references(c.desired)}):
        reference = ref(kind, key)
        if reference not in created and now.get(reference) != plan.ids.get(reference):
            problems.append(f"{BY_NAME[kind].address(key)}: referred to by the plan, but gone or replaced")
    return problems


def adopting(plan: Plan) -> dict[str, int]:
    """``@kind.key`` -> id of the objects the plan adopts: referred to by key before they carry a marker."""
    return {ref(c.kind, c.key): c.mautic_id for c in plan.actionable if isinstance(c, Adopt)}


def _parts(sub_ids: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    return {part: dict(ids) for part, ids in sub_ids.items() if ids}


def check_fresh(plan: Plan, client: MauticClient, plan_path: Path) -> None:
    """Read Mautic (one list call per kind) and refuse a stale plan, naming every changed object."""
    if not plan.actionable:
        return
    problems = staleness(plan, read_live(client, known=adopting(plan)))
    if problems:
        raise StalePlanError(
            f"{plan_path} is stale: objects it would change were changed in Mautic ({plan.instance}) after "
            "the plan was made:\n" + "\n".join(f"- {p}" for p in problems) + "\nNothing was written. Plan "
            "again and review the new plan."
        )
