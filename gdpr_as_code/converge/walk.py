"""Apply's walk of the dependency graph: each change is written once the changes it depends on are done, at
most ``parallelism`` at once (Terraform's ``-parallelism``); with 1 it is the serial order, inline.

The order (``order``): creates and updates by kind in dependency order, then deletes in reverse. A change
waits for the earlier changes its payload refers to (``@kind.key``), and for those of the kinds it names by
alias (``Kind.waits_for``: segment filters and form fields name contact fields). A ``Kind.serial`` kind
(contact fields: each create or delete alters Mautic's contacts table) is written one object at a time.
Deletes wait for every create and update, and for the deletes of the kinds after theirs.

``DEFAULT_PARALLELISM`` is 4, from measurement on a real Mautic (README, Connection): PHP's built-in server
and a small php-fpm pool answer 4-5 requests at once, so more writes only queue there, while each write of a
fresh apply depends at most on the kind before it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from gdpr_as_code.converge.changes import Change, Delete
from gdpr_as_code.resources import BY_NAME, KINDS, ref, references

__all__ = ["DEFAULT_PARALLELISM", "Step", "StepFailed", "order", "walk"]

DEFAULT_PARALLELISM = 4


@dataclass(frozen=True)
class Step:
    """One change and the positions (in the walk's order) of the changes that must be done before it."""

    change: Change
    after: frozenset[int]


class StepFailed(Exception):
    """A change could not be made; ``error`` is why. The changes running beside it were finished first."""

    def __init__(self, change: Change, error: BaseException) -> None:
        super().__init__(str(error))
        self.change = change
        self.error = error


def order(changes: Iterable[Change]) -> tuple[Step, ...]:
    """The changes in apply's order, each with what it waits for."""
    rank = {kind.name: n for n, kind in enumerate(KINDS)}
    acting = tuple(changes)
    forward = [c for c in acting if not isinstance(c, Delete)]
    forward.sort(key=lambda c: rank[c.kind])
    backward = sorted((c for c in acting if isinstance(c, Delete)), key=lambda c: -rank[c.kind])
    steps: list[Step] = []
    position: dict[str, int] = {}
    of_kind: dict[str, list[int]] = {}
    for n, change in enumerate(forward):
        kind = BY_NAME[change.kind]
        after = {position[r] for r in (ref(*found) for found in references(change.desired)) if r in position}
        after.update(m for other in kind.waits_for for m in of_kind.get(other, ()))
        if kind.serial and of_kind.get(kind.name):
            after.add(of_kind[kind.name][-1])
        steps.append(Step(change, frozenset(after)))
        position[ref(change.kind, change.key)] = n
        of_kind.setdefault(kind.name, []).append(n)
    start = len(steps)
    level: list[int] = []  # deletes: a kind waits for every delete of the kinds after it
    for n, change in enumerate(backward, start=start):
        before = backward[n - start - 1] if n > start else None
        if before is not None and before.kind != change.kind:
            level = list(range(start, n))
        same = before is not None and before.kind == change.kind
        chained = {n - 1} if same and BY_NAME[change.kind].serial else set()
        steps.append(Step(change, frozenset(set(range(start)) | set(level) | chained)))
    return tuple(steps)


def walk(steps: Sequence[Step], do: Callable[[Change], None], parallelism: int = DEFAULT_PARALLELISM) -> None:
    """Do every step once its prerequisites are done, at most ``parallelism`` at once, earliest first. After a
    failure nothing new starts, the running steps finish, and ``StepFailed`` is raised; on Ctrl-C the same,
    then ``KeyboardInterrupt``."""
    if parallelism <= 1:
        for step in steps:
            try:
                do(step.change)
            except Exception as err:
                raise StepFailed(step.change, err) from err
        return
    pending = list(range(len(steps)))
    done: set[int] = set()
    running: dict[Future[None], int] = {}
    failed: StepFailed | None = None
    pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix="apply")
    try:
        while pending or running:
            if failed is None:
                for n in [n for n in pending if steps[n].after <= done][: parallelism - len(running)]:
                    pending.remove(n)
                    running[pool.submit(do, steps[n].change)] = n
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                n = running.pop(future)
                error = future.exception()
                if error is None:
                    done.add(n)
                elif failed is None:
                    failed = StepFailed(steps[n].change, error)
    finally:  # also on Ctrl-C: writes in flight end with their answer, so what they made is recorded
        pool.shutdown(wait=True, cancel_futures=True)
    if failed is not None:
        raise failed from failed.error
