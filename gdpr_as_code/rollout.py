"""Run one step (plan, apply) on many instances: bounded concurrency, waves, failures collected per instance.

``run`` never lets one instance's failure escape into another's: each outcome is an ``InstanceResult`` (a
value, or the error that stopped that instance). ``run_waves`` stops before the next wave when one failed,
unless told to continue. With one worker the steps run inline in the caller's thread (octodns style), so the
single-instance path stays simple to debug.

Parallelism default (``DEFAULT_PARALLELISM``): the work is I/O-bound (each worker waits on HTTP), so threads
scale far beyond the cores; 8 keeps a thousand-instance plan within minutes at typical latencies while staying
polite to shared hosting (each instance still sees one sequential client) and to the runner's sockets and
memory.
"""

from __future__ import annotations

import functools
import os
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Generic, Literal, TextIO, TypeVar

import httpx

from gdpr_as_code import engine
from gdpr_as_code.client import MauticClient, client_from_env
from gdpr_as_code.engine import Outcome
from gdpr_as_code.errors import GdprAsCodeError, SpecError
from gdpr_as_code.inventory import (
    Instance,
    Inventory,
    check_credentials,
    load_inventory,
    parse_selectors,
    parse_shard,
    select,
)
from gdpr_as_code.lock import apply_lock
from gdpr_as_code.plan import Plan
from gdpr_as_code.planfile import (
    StalePlanError,
    check_fresh,
    check_origin,
    read_plan,
    save_plan,
    spec_redactor,
)
from gdpr_as_code.receipts import apply_with_receipt, default_receipt_dir
from gdpr_as_code.redact import Redactor
from gdpr_as_code.spec import Spec, load_spec

T = TypeVar("T")
R = TypeVar("R")
DEFAULT_PARALLELISM = 8
UNLABELLED_WAVE = "(no wave label)"
Status = Literal["ok", "failed", "skipped"]


@dataclass(frozen=True)
class InstanceResult(Generic[R]):
    """What one step did on one instance: its value, or the error message that stopped it."""

    instance: Instance
    status: Status
    value: R | None = None
    error: str = ""
    seconds: float = 0.0
    exception: BaseException | None = None  # kept for --debug tracebacks of internal errors
    wave: str = ""  # the apply wave it ran in (or was skipped in)

    @property
    def failed(self) -> bool:
        """True when this instance's step raised."""
        return self.status == "failed"


@dataclass(frozen=True)
class Wave:
    """A group of instances applied together; the next wave waits for this one to succeed everywhere."""

    name: str
    instances: tuple[Instance, ...]


def error_message(err: BaseException) -> str:
    """The message for a failed instance: ours verbatim; anything else is a bug, named without its details."""
    if isinstance(err, GdprAsCodeError):
        return str(err)
    return (
        f"internal error ({type(err).__name__}): this is a bug in gdpr-as-code; rerun with --debug "
        "for the traceback, and report it."
    )


def _attempt(step: Callable[[Instance], R], instance: Instance) -> InstanceResult[R]:
    """Run the step on one instance and turn whatever happens into a result; never raises an Exception."""
    started = time.monotonic()
    try:
        value = step(instance)
    except Exception as err:  # one instance's failure must never escape into the others
        return InstanceResult(instance, "failed", None, error_message(err), time.monotonic() - started, err)
    return InstanceResult(instance, "ok", value, "", time.monotonic() - started)


def _outcomes(
    instances: Sequence[Instance], step: Callable[[Instance], R], parallelism: int
) -> Iterator[InstanceResult[R]]:
    """Results in the order they finish: inline in this thread for one worker, else from a bounded pool."""
    if parallelism <= 1 or len(instances) <= 1:
        for instance in instances:
            yield _attempt(step, instance)
        return
    pool = ThreadPoolExecutor(max_workers=min(parallelism, len(instances)), thread_name_prefix="rollout")
    try:
        futures = [pool.submit(_attempt, step, instance) for instance in instances]
        for future in as_completed(futures):
            yield future.result()
    finally:
        # On Ctrl-C (or a generator closed early) no new instance starts; running ones finish their request.
        pool.shutdown(wait=True, cancel_futures=True)


def run(
    instances: Sequence[Instance],
    step: Callable[[Instance], R],
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    on_result: Callable[[InstanceResult[R]], None] | None = None,
) -> tuple[InstanceResult[R], ...]:
    """Run ``step`` on every instance with at most ``parallelism`` at once; results in inventory order.

    ``on_result`` is called from this thread only, once per instance as it finishes, so a progress writer
    never sees two callers at once.
    """
    done: dict[str, InstanceResult[R]] = {}
    for result in _outcomes(instances, step, parallelism):
        done[result.instance.name] = result
        if on_result is not None:
            on_result(result)
    return tuple(done[instance.name] for instance in instances)


def waves(inventory: Inventory, instances: Sequence[Instance]) -> tuple[Wave, ...]:
    """Stage the selected instances: by ``wave`` label in the inventory's order, unlabelled ones after.

    Unlabelled instances go in batches of ``rollout.batch_size`` (0: one batch). When no instance has a
    ``wave`` label at all, the first one goes alone first as the canary.
    """
    labelled: dict[str, list[Instance]] = {}
    unlabelled: list[Instance] = []
    for instance in instances:
        if "wave" in instance.labels:
            labelled.setdefault(instance.labels["wave"], []).append(instance)
        else:
            unlabelled.append(instance)
    order = list(inventory.wave_order) + [name for name in labelled if name not in inventory.wave_order]
    staged = [Wave(name, tuple(labelled[name])) for name in order if name in labelled]
    if unlabelled and not labelled and len(unlabelled) > 1:
        staged.append(Wave("canary", (unlabelled.pop(0),)))
    size = inventory.batch_size or len(unlabelled) or 1
    batches = [tuple(unlabelled[i : i + size]) for i in range(0, len(unlabelled), size)]
    for number, batch in enumerate(batches, start=1):
        name = UNLABELLED_WAVE if len(batches) == 1 and labelled else f"batch {number}"
        staged.append(Wave(name, batch))
    return tuple(staged)


def run_waves(
    staged: Sequence[Wave],
    step: Callable[[Instance], R],
    *,
    parallelism: int = DEFAULT_PARALLELISM,
    continue_on_error: bool = False,
    on_result: Callable[[InstanceResult[R]], None] | None = None,
    on_stop: Callable[[Wave, Wave], None] | None = None,
) -> tuple[InstanceResult[R], ...]:
    """Run wave after wave; after a wave with a failure, skip the rest unless ``continue_on_error``.

    ``on_stop(failed_wave, next_wave)`` is told when the rollout stops early.
    """
    results: list[InstanceResult[R]] = []
    for position, wave in enumerate(staged):
        outcome = [
            replace(result, wave=wave.name)
            for result in run(wave.instances, step, parallelism=parallelism, on_result=on_result)
        ]
        results.extend(outcome)
        failures = sum(result.failed for result in outcome)
        if failures and not continue_on_error and position + 1 < len(staged):
            if on_stop is not None:
                on_stop(wave, staged[position + 1])
            reason = (
                f"not attempted: wave {wave.name!r} failed on {failures} instance(s) — fix them and rerun "
                "(converged instances make no writes), or pass --continue-on-error."
            )
            results.extend(
                InstanceResult(instance, "skipped", error=reason, wave=later.name)
                for later in staged[position + 1 :]
                for instance in later.instances
            )
            break
    return tuple(results)


class Progress:
    """One whole line per finished instance with done/total, from one writer: safe on pipes and in CI logs."""

    def __init__(
        self, total: int, describe: Callable[[InstanceResult[R]], str], stream: TextIO | None = None
    ) -> None:
        self._total = total
        self._describe = describe
        self._stream = stream if stream is not None else sys.stderr
        self._done = 0
        self._lock = threading.Lock()

    def __call__(self, result: InstanceResult[R]) -> None:
        """Write the line for one finished instance."""
        with self._lock:
            self._done += 1
            width = len(str(self._total))
            line = (
                f"[{self._done:>{width}}/{self._total}] {result.instance.name}: {self._describe(result)} "
                f"({result.seconds:.1f}s)\n"
            )
            self._stream.write(line)
            self._stream.flush()

    def note(self, text: str) -> None:
        """Write one whole line that is not an instance's result (e.g. why the rollout stopped)."""
        with self._lock:
            self._stream.write(text.rstrip("\n") + "\n")
            self._stream.flush()


# --- plan and apply over an inventory ---------------------------------------------------------------------


@dataclass(frozen=True)
class RolloutOptions:
    """The knobs of one rollout, as one small value rather than a long parameter list."""

    parallelism: int = DEFAULT_PARALLELISM
    continue_on_error: bool = False
    prune: bool = False
    receipts: Path | None = None
    lock_timeout: float = 0.0
    remote_lock: bool = False
    client_options: Mapping[str, Any] = field(default_factory=dict)  # e.g. timeout, retry (tests, benchmarks)


@dataclass(frozen=True)
class Applied:
    """What apply did on one instance: the plan it applied, what it changed, and the receipt it wrote."""

    plan: Plan
    outcomes: tuple[Outcome, ...] = ()
    receipt: Path | None = None


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
    _specs: dict[tuple[Path, tuple[tuple[str, str], ...]], Spec | GdprAsCodeError] = field(
        default_factory=dict
    )
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ready(self, instances: Sequence[Instance]) -> list[Instance]:
        """The instances that can run, in inventory order."""
        return [instance for instance in instances if instance.name in self.spec_paths]

    def spec(self, instance: Instance) -> Spec:
        """The spec loaded with this instance's variables; its problems raised as this instance's error."""
        spec_path = self.spec_paths[instance.name]
        key = (spec_path, tuple(sorted(instance.variables.items())))
        with self._lock:
            if key not in self._specs:
                try:
                    self._specs[key] = load_spec(spec_path, variables=instance.variables, env=self.env)
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


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every instance's client, with httpx's default settings. Each new context loads the
    CA bundle (~100 ms of CPU, measured), which a thousand instances would otherwise pay a thousand times."""
    return httpx.create_ssl_context()


def _client(instance: Instance, env: Mapping[str, str], options: RolloutOptions) -> MauticClient:
    """A client for this instance, from its own variables only (its own transport, a shared TLS context)."""
    transport = httpx.HTTPTransport(verify=_tls_context())
    return client_from_env(instance.target, env, **{"transport": transport, **options.client_options})


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
    """Save each instance's plan as ``DIR/<name>.plan.json`` for ``apply DIR --inventory``; an instance whose
    plan cannot be saved becomes a failure (its plan would not be the reviewed one)."""
    saved = []
    for result in results:
        if result.value is not None:
            path = saved_plan_path(directory, result.instance)
            try:
                directory.mkdir(parents=True, exist_ok=True)
                save_plan(result.value, path, ready.spec_paths[result.instance.name], base)
            except (GdprAsCodeError, OSError) as err:
                message = error_message(err) if isinstance(err, GdprAsCodeError) else (
                    f"Cannot write {path} ({err.strerror}): check the directory and its permissions."
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
        with _client(instance, env, options) as client:
            return engine.plan(spec, client, prune=options.prune)

    done = run(ready.ready(instances), step, parallelism=options.parallelism, on_result=on_result)
    by_name = {result.instance.name: result for result in (*ready.failed, *done)}
    return tuple(by_name[instance.name] for instance in instances)


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
) -> tuple[InstanceResult[Applied], ...]:
    """Apply the (approved) plans wave by wave. Each instance is locked, its plan checked still fresh (no
    object it touches changed since), applied, verified and receipted; an instance without changes is not
    written to at all. Failures before this point stop everything unless ``continue_on_error``.
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
        spec_path = ready.spec_paths[instance.name]
        plan_path = ready.saved.get(instance.name, (None, Path(f"the plan shown for {instance.name}")))[1]
        spec = ready.spec(instance)
        redactor = spec_redactor(spec)
        with _client(instance, env, options) as client:
            if instance.name in ready.saved:
                check_origin(plan, plan_path, spec.sha256, client.name)
            with apply_lock(client, remote=options.remote_lock, timeout=options.lock_timeout):
                check_fresh(plan, client, plan_path)
                directory = options.receipts or default_receipt_dir(spec_path)
                outcomes, receipt = apply_with_receipt(plan, client, spec_path, directory, redactor)
        return Applied(plan, outcomes, receipt)

    staged = waves(inventory, [instance for instance in instances if instance.name in approved])
    done = run_waves(
        staged,
        step,
        parallelism=options.parallelism,
        continue_on_error=options.continue_on_error,
        on_result=on_result,
        on_stop=on_stop,
    )
    by_name = {result.instance.name: result for result in (*early, *done)}
    return tuple(by_name[instance.name] for instance in instances)
