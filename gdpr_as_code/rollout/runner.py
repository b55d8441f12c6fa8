"""Run one step (plan, apply) on many instances: bounded concurrency, waves, failures collected per instance.
The steps themselves are in ``rollout_steps``; what is printed, in ``rollout_report``.

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

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Generic, Literal, TextIO, TypeVar

from gdpr_as_code.errors import ApplyInterrupted, GdprAsCodeError
from gdpr_as_code.rollout.inventory import Instance, Inventory

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
    except ApplyInterrupted:  # Ctrl-C (in this thread when inline) stops the rollout, not just this instance
        raise
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
    on_wave: Callable[[Wave], None] | None = None,
) -> tuple[InstanceResult[R], ...]:
    """Run wave after wave; after a wave with a failure, skip the rest unless ``continue_on_error``.

    ``on_wave(wave)`` is told as each wave starts, ``on_stop(failed_wave, next_wave)`` when the rollout stops
    early.
    """
    results: list[InstanceResult[R]] = []
    for position, wave in enumerate(staged):
        if on_wave is not None:
            on_wave(wave)
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
