"""The guarded apply: every apply locks, checks and receipts alike: ``apply_checked`` (a plan reviewed
earlier: ``apply PLANFILE`` and each instance of a rollout) and ``apply_spec`` (plan, review and apply under
one hold of the lock)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from gdpr_as_code import converge
from gdpr_as_code.converge import Outcome
from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.guard.lock import apply_lock
from gdpr_as_code.guard.planfile import StalePlanError, check_fresh, check_origin, read_plan
from gdpr_as_code.guard.receipts import apply_with_receipt, default_receipt_dir
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

    @property
    def plan_name(self) -> Path:
        """How messages name the plan."""
        return self.plan_path or Path(self.shown_as)


def apply_checked(
    plan: Plan, spec: Spec, spec_path: Path, client: MauticClient, options: ApplyOptions
) -> tuple[tuple[Outcome, ...], Path | None]:
    """Apply exactly ``plan`` (reviewed earlier) to ``client``'s instance: check a saved plan's origin,
    then under the apply lock check it is still fresh, apply, verify and write its receipt. When any check
    fails nothing is written to Mautic (but the remote lock object, taken before the freshness check so no
    other apply writes between the check and this apply); a plan without changes takes no lock, so a
    converged run writes nothing."""
    if options.plan_path is not None:
        check_origin(plan, options.plan_path, spec.sha256, client.name)
    if not plan.has_changes:
        return (), None
    with apply_lock(client, remote=options.remote_lock, timeout=options.lock_timeout):
        check_fresh(plan, client, options.plan_name)
        return _apply(plan, spec, spec_path, client, options)


def _apply(
    plan: Plan, spec: Spec, spec_path: Path, client: MauticClient, options: ApplyOptions
) -> tuple[tuple[Outcome, ...], Path | None]:
    directory = options.receipts or default_receipt_dir(spec_path)
    return apply_with_receipt(plan, client, spec_path, directory, spec_redactor(spec))


def apply_saved(plan_path: Path, options: ApplyOptions) -> tuple[Plan, tuple[Outcome, ...], Path | None]:
    """``apply PLANFILE``: the saved plan applied as ``apply_checked`` does, with the spec it names."""
    plan, spec_path = read_plan(plan_path)
    if not spec_path.is_file():
        raise StalePlanError(
            f"{plan_path} was made from the spec {spec_path}, which is not there. Run apply from the "
            "directory plan ran in (the spec must be the one the plan was made from)."
        )
    spec = load_spec(spec_path)
    options = replace(options, plan_path=plan_path)
    with client_from_env(spec.target) as client:
        outcomes, receipt = apply_checked(plan, spec, spec_path, client, options)
    return plan, outcomes, receipt


def apply_spec(
    spec: Spec,
    spec_path: Path,
    client: MauticClient,
    options: ApplyOptions,
    *,
    prune: bool,
    review: Callable[[Plan], None],
) -> tuple[Plan, tuple[Outcome, ...], Path | None]:
    """``apply SPEC``: plan, ``review`` (show it and ask; raise to stop), apply and receipt, all under one
    hold of the apply lock, so nothing another apply writes comes between the plan shown and the writes."""
    with apply_lock(client, remote=options.remote_lock, timeout=options.lock_timeout):
        planned = converge.plan(spec, client, prune=prune)
        review(planned)
        if not planned.has_changes:
            return planned, (), None
        outcomes, receipt = _apply(planned, spec, spec_path, client, options)
    return planned, outcomes, receipt
