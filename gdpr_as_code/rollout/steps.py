"""The steps a rollout runs on each instance, and their preparation: ``plan --inventory`` and
``apply --inventory`` as library calls (the CLI only prints and asks).

Each instance is handled as the single-instance commands handle it: its own client from its own credential
variables, the spec loaded with its variables, ``converge.plan``; for apply the same lock, freshness check,
``converge.apply`` with verification, and receipt. ``rollout`` runs these steps concurrently and in waves.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from gdpr_as_code import converge
from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.errors import GdprAsCodeError, SpecError, StalePlanError
from gdpr_as_code.guard.apply import Applied, ApplyOptions, apply
from gdpr_as_code.guard.planfile import read_plan, save_plan
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import client_from_env
from gdpr_as_code.redact import Redactor
from gdpr_as_code.rollout.inventory import (
    Instance,
    Inventory,
    check_credentials,
    load_inventory,
    parse_selectors,
    parse_shard,
    select,
)
from gdpr_as_code.rollout.runner import (
    DEFAULT_PARALLELISM,
    InstanceResult,
    Wave,
    error_message,
    run,
    run_waves,
    waves,
)
from gdpr_as_code.spec import Spec, load_spec
from gdpr_as_code.spec.interpolate import Origin

R = TypeVar("R")


@dataclass(frozen=True)
class RolloutOptions:
    """The knobs of one rollout, as one small value rather than a long parameter list."""

    parallelism: int = DEFAULT_PARALLELISM
    continue_on_error: bool = False
    prune: bool = False
    apply: ApplyOptions = field(default_factory=ApplyOptions)  # receipts and locks, as for one instance
    client_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. timeout, retry (tests, benchmarks)


@dataclass
class Prepared:
    """The selected instances split into those ready to run (with their spec path, and saved plan if any)
    and those that failed before any request: missing credentials, no saved plan.

    Specs are loaded on first use, in the worker that plans the instance, so parsing (tens of ms per spec)
    overlaps other instances' network waits instead of delaying every request; instances with the same
    variables share one ``Spec``. Planning reads only, so a spec invalid with an instance's variables is still
    found before any write.
    """

    env: Mapping[str, str]
    saved: dict[str, tuple[Plan, Path]] = field(default_factory=dict)
    spec_paths: dict[str, Path] = field(default_factory=dict)
    failed: list[InstanceResult[Any]] = field(default_factory=list)
    _specs: dict[tuple[Path, tuple[tuple[str, str], ...], tuple[tuple[str, Origin], ...]],
                 Spec | GdprAsCodeError] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loading: dict[Any, threading.Lock] = field(default_factory=dict)

    def ready(self, instances: Sequence[Instance]) -> list[Instance]:
        """The instances that can run, in inventory order."""
        return [instance for instance in instances if instance.name in self.spec_paths]

    def spec(self, instance: Instance) -> Spec:
        """The spec loaded with this instance's variables; its problems raised as this instance's error."""
        spec_path = self.spec_paths[instance.name]
        # the origins are in the key: a variable the spec does not know is reported at THIS instance's line
        key = (spec_path, tuple(sorted(instance.variables.items())),
               tuple(sorted(instance.variable_origins.items())))
        with self._lock:  # one lock per key: instances with other variables load theirs meanwhile
            own = self._loading.setdefault(key, threading.Lock())
        with own:
            if key not in self._specs:
                try:
                    self._specs[key] = load_spec(spec_path, variables=instance.variables, env=self.env,
                                                 origins=instance.variable_origins)
                except GdprAsCodeError as err:
                    self._specs[key] = err
            loaded = self._specs[key]
        if isinstance(loaded, SpecError):  # a fresh error per instance: threads never share one traceback
            raise SpecError(loaded.problems)
        if isinstance(loaded, GdprAsCodeError):
            raise GdprAsCodeError(str(loaded))
        return loaded


def saved_plan_path(directory: Path, instance: Instance) -> Path:
    """Where ``plan --inventory --out DIR`` saves an instance's plan: ``DIR/<name>.plan.json``."""
    return directory / f"{instance.name}.plan.json"


def prepare(
    source: Path, instances: Sequence[Instance], env: Mapping[str, str], *, saved: bool = False
) -> Prepared:
    """Check every instance before any request: its own credential variables and (``saved``: ``source`` is
    a directory of saved plans) its plan file."""
    ready = Prepared(env)
    for instance in instances:
        try:
            check_credentials(instance, env)
            spec_path = source
            if saved:
                plan_path = saved_plan_path(source, instance)
                if not plan_path.is_file():
                    raise StalePlanError(
                        f"There is no saved plan for instance {instance.name} in {source} "
                        f"({plan_path.name} is missing). Plan it with plan SPEC --inventory INVENTORY --out "
                        f"{source}, or leave it out with --select."
                    )
                plan, spec_path = read_plan(plan_path)
                ready.saved[instance.name] = (plan, plan_path)
        except GdprAsCodeError as err:
            ready.failed.append(InstanceResult(instance, "failed", error=error_message(err), exception=err))
            continue
        ready.spec_paths[instance.name] = spec_path
    return ready


def client_for(instance: Instance, env: Mapping[str, str], options: RolloutOptions) -> MauticClient:
    """A client for this instance, from its own variables only (its own connections; the process's one TLS
    context, ``shared_tls_context``, spares a thousand instances a thousand CA-bundle loads)."""
    source = f"the url of instance {instance.name} ({instance.where})"
    return client_from_env(instance.target, env, **{"url_source": source, **options.client_options})


def selection(
    inventory_path: str | os.PathLike[str], selectors: Sequence[str], shard: str | None
) -> tuple[Inventory, tuple[Instance, ...]]:
    """Load the inventory and pick the instances of ``--select`` (all must hold) and ``--shard I/N``."""
    inventory = load_inventory(inventory_path)
    return inventory, select(inventory, parse_selectors(selectors), parse_shard(shard) if shard else None)


def plan_inventory(
    source: Path,
    instances: Sequence[Instance],
    env: Mapping[str, str],
    options: RolloutOptions,
    on_result: Callable[[InstanceResult[Plan]], None] | None = None,
) -> tuple[Prepared, tuple[InstanceResult[Plan], ...]]:
    """Prepare every instance (reported at once through ``on_result`` when it fails), then plan the rest.

    ``source`` is a spec, or a directory of plans saved by ``plan --inventory --out``.
    """
    ready = prepare(source, instances, env, saved=source.is_dir())
    for failure in ready.failed:
        if on_result is not None:
            on_result(failure)
    return ready, plan_all(ready, instances, env, options, on_result)


def save_plans(
    results: Sequence[InstanceResult[Plan]], directory: Path, ready: Prepared, base: Redactor
) -> tuple[InstanceResult[Plan], ...]:
    """Save each instance's plan as ``DIR/<name>.plan.json`` for ``apply DIR --inventory``. An instance whose
    plan cannot be made or saved becomes a failure, and a plan file left there by an earlier run is removed:
    apply must never find an older plan than the one just reviewed."""
    saved = []
    for result in results:
        path = saved_plan_path(directory, result.instance)
        try:
            if result.value is None:
                path.unlink(missing_ok=True)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                save_plan(result.value, path, ready.spec_paths[result.instance.name], base)
        except (GdprAsCodeError, OSError) as err:
            message = error_message(err) if isinstance(err, GdprAsCodeError) else (
                f"Cannot write {path}: {err.strerror}. With --inventory, --out names a directory (one plan "
                "file per instance): choose one that is a writable directory or can be created."
            )
            result = InstanceResult(result.instance, "failed", None, message, result.seconds, err)
        saved.append(result)
    return tuple(saved)


def plan_all(
    ready: Prepared,
    instances: Sequence[Instance],
    env: Mapping[str, str],
    options: RolloutOptions,
    on_result: Callable[[InstanceResult[Plan]], None] | None = None,
) -> tuple[InstanceResult[Plan], ...]:
    """Plan every prepared instance concurrently (reads only); saved plans are taken as they are, once
    their spec loads."""

    def step(instance: Instance) -> Plan:
        spec = ready.spec(instance)
        if instance.name in ready.saved:
            return ready.saved[instance.name][0]
        with client_for(instance, env, options) as client:
            return converge.plan(spec, client, prune=options.prune)

    done = run(ready.ready(instances), step, parallelism=options.parallelism, on_result=on_result)
    return in_order(instances, ready.failed, done)


def in_order(
    instances: Sequence[Instance], *results: Sequence[InstanceResult[R]]
) -> tuple[InstanceResult[R], ...]:
    """The results of every instance (failed early, or run) in inventory order."""
    by_name = {result.instance.name: result for group in results for result in group}
    return tuple(by_name[instance.name] for instance in instances)


def any_changes(plans: Sequence[InstanceResult[Plan]]) -> bool:
    """Whether any instance's plan would change something (else apply asks nothing and writes nothing)."""
    return any(result.value is not None and result.value.has_changes for result in plans)


def blocked(plans: Sequence[InstanceResult[Plan]], options: RolloutOptions) -> bool:
    """Whether apply must stop before writing anything: an instance failed to prepare or plan, and the
    rollout was not told to continue regardless."""
    return not options.continue_on_error and any(result.status != "ok" for result in plans)


def apply_all(
    inventory: Inventory,
    ready: Prepared,
    plans: Sequence[InstanceResult[Plan]],
    env: Mapping[str, str],
    options: RolloutOptions,
    on_result: Callable[[InstanceResult[Applied]], None] | None = None,
    on_stop: Callable[[Wave, Wave], None] | None = None,
    on_wave: Callable[[Wave], None] | None = None,
) -> tuple[InstanceResult[Applied], ...]:
    """Apply the (approved) plans wave by wave, each instance as ``apply PLANFILE`` does (``guard.apply``):
    locked, its plan checked still fresh (no object it touches changed since), applied, verified and
    receipted; an instance without changes is not written to at all. Failures before this point stop
    everything unless ``continue_on_error``.
    """
    instances = [result.instance for result in plans]
    early = [result for result in plans if result.status != "ok"]
    if blocked(plans, options):
        reason = (
            f"not attempted: {len(early)} instance(s) failed before any write, so nothing was written "
            "anywhere — fix them and rerun, or pass --continue-on-error to roll out to the others."
        )
        return tuple(
            result if result.status != "ok" else InstanceResult(result.instance, "skipped", error=reason)
            for result in plans
        )
    approved = {result.instance.name: result.value for result in plans if result.value is not None}

    def step(instance: Instance) -> Applied:
        plan = approved[instance.name]
        if not plan.has_changes:
            return Applied(plan)
        saved = ready.saved.get(instance.name)
        checks = replace(
            options.apply,
            plan_path=saved[1] if saved else None,
            shown_as=f"the plan shown for {instance.name}",
        )
        spec = ready.spec(instance)
        with client_for(instance, env, options) as client:
            return apply(plan, spec, client, checks)

    staged = waves(inventory, [instance for instance in instances if instance.name in approved])
    done = run_waves(
        staged,
        step,
        parallelism=options.parallelism,
        continue_on_error=options.continue_on_error,
        on_result=on_result,
        on_stop=on_stop,
        on_wave=on_wave,
    )
    return in_order(instances, early, done)
