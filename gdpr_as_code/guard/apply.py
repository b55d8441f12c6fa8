"""The one guarded apply, which every path takes (``apply SPEC``, ``apply PLANFILE``, each instance of a
rollout, and a script calling ``gdpr_as_code.apply``):

    origin (a saved plan: same tool, spec, instance) → threshold → lock → freshness → apply, verify → receipt

``apply`` takes a plan reviewed earlier; ``plan_and_apply`` plans, lets the caller review, and applies under
one hold of the lock (nothing can change between its plan and its writes, so it needs no freshness check).
Both end in ``_write``: ``converge.apply`` (the only writer, which verifies) and the receipt of what it did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gdpr_as_code import converge
from gdpr_as_code.converge import Outcome
from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.converge.threshold import check_threshold
from gdpr_as_code.errors import StalePlanError
from gdpr_as_code.guard.lock import apply_lock
from gdpr_as_code.guard.planfile import check_fresh, check_origin, read_plan
from gdpr_as_code.guard.receipts import applied_before, apply_with_receipt, default_receipt_dir
from gdpr_as_code.mautic.client import MauticClient, client_from_env
from gdpr_as_code.redact import Redactor
from gdpr_as_code.spec import Spec, load_spec


def spec_redactor(spec: Spec) -> Redactor:
    """The redactor for a run on ``spec``: the environment's secrets, plus the variables its target names."""
    target = spec.target
    return Redactor.from_environ(extra_names=(target.password_env, target.client_secret_env))


@dataclass(frozen=True)
class ApplyOptions:
    """What differs between applies of one instance: ``apply SPEC``, ``apply PLANFILE``, a rollout's."""

    receipts: Path | None = None  # default: receipts/ beside the spec
    lock_timeout: float = 0.0
    remote_lock: bool = False
    plan_path: Path | None = None  # a saved plan's file: its origin is checked, and messages name it
    shown_as: str = "the plan shown"  # what messages call a plan that was not saved
    allow_large_changes: bool = False  # past the safety threshold (converge.threshold)

    @property
    def plan_name(self) -> Path:
        """How messages name the plan."""
        return self.plan_path or Path(self.shown_as)


@dataclass(frozen=True)
class Applied:
    """What one guarded apply did: the plan it applied, what it changed, and the receipt it wrote (None
    when there was nothing to change)."""

    plan: Plan
    outcomes: tuple[Outcome, ...] = ()
    receipt: Path | None = None


def apply(plan: Plan, spec: Spec, client: MauticClient, options: ApplyOptions | None = None) -> Applied:
    """Apply exactly ``plan`` (reviewed earlier, made from ``spec``) to ``client``'s instance: check a saved
    plan's origin, then under the apply lock check it is still fresh, apply, verify and write its receipt.
    When any check fails nothing is written to Mautic (but the remote lock object, taken before the freshness
    check so no other apply writes between the check and this apply); a plan without changes takes no lock,
    so a converged run writes nothing."""
    options = options or ApplyOptions()
    if options.plan_path is not None:
        check_origin(plan, options.plan_path, spec.sha256, client.name)
    if not plan.has_changes:
        return Applied(plan)
    directory = options.receipts or default_receipt_dir(spec.source)
    if options.plan_path is not None and (done := applied_before(directory, plan.to_dict()["plan_sha256"])):
        raise StalePlanError(
            f"{options.plan_path} was already applied, at {done.receipt.get('finished_at')} (receipt "
            f"{done.path}); nothing was changed now. To change Mautic again, make a new plan: plan --out."
        )
    check_threshold(plan, options.allow_large_changes)
    with apply_lock(client, remote=options.remote_lock, timeout=options.lock_timeout):
        check_fresh(plan, client, options.plan_name)
        return _write(plan, spec, client, options)


def _write(plan: Plan, spec: Spec, client: MauticClient, options: ApplyOptions) -> Applied:
    """Under the lock: apply and verify, and receipt what was done (also when it failed part-way)."""
    directory = options.receipts or default_receipt_dir(spec.source)
    outcomes, receipt = apply_with_receipt(plan, client, spec.source, directory, spec_redactor(spec))
    return Applied(plan, outcomes, receipt)


def apply_saved(plan_path: Path, options: ApplyOptions | None = None) -> Applied:
    """``apply PLANFILE``: the saved plan applied as ``apply`` does, with the spec it names."""
    plan, spec_path = read_plan(plan_path)
    if not spec_path.is_file():
        raise StalePlanError(
            f"{plan_path} was made from the spec {spec_path}, which is not there. Run apply from the "
            "directory plan ran in (the spec must be the one the plan was made from)."
        )
    spec = load_spec(spec_path)
    options = replace(options or ApplyOptions(), plan_path=plan_path)
    with client_from_env(spec.target) as client:
        return apply(plan, spec, client, options)


def plan_and_apply(
    spec: Spec,
    client: MauticClient,
    options: ApplyOptions | None = None,
    *,
    prune: bool = False,
    show: Callable[[Plan], None] = lambda plan: None,
    approve: Callable[[Plan], None] = lambda plan: None,
) -> Applied:
    """``apply SPEC``: plan, ``show`` it, check the threshold, ``approve`` (ask; raise to stop), apply and
    receipt, all under one hold of the apply lock, so nothing another apply writes comes between the plan
    shown and the writes."""
    options = options or ApplyOptions()
    with apply_lock(client, remote=options.remote_lock, timeout=options.lock_timeout):
        planned = converge.plan(spec, client, prune=prune)
        show(planned)
        if not planned.has_changes:
            return Applied(planned)
        check_threshold(planned, options.allow_large_changes)
        approve(planned)
        return _write(planned, spec, client, options)
