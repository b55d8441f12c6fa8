"""Requests to one Mautic sent side by side, bounded: Mautic answers each request in its own PHP worker, so
reads that do not depend on each other (the list calls of a plan, the pages of one list) overlap instead of
queueing one after another. Each call keeps the client's own retries and errors.

``READ_CONCURRENCY`` is 5, the number of kinds a plan reads, so its list calls take one round trip (against
a distant Mautic, a plan costs about one GET); php-fpm's default pool has 5 children. PHP's built-in server
runs 4 workers (shared/mautic-real), where the fifth waits for the first to finish.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

__all__ = ["READ_CONCURRENCY", "gather"]

READ_CONCURRENCY = 5
T = TypeVar("T")


def gather(calls: Sequence[Callable[[], T]], limit: int) -> list[T]:
    """Run ``calls`` at most ``limit`` at once; their results in the order given. When one raises, calls not
    yet started are dropped, those running finish, and the first failure in the given order is raised."""
    if limit <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    pool = ThreadPoolExecutor(max_workers=min(limit, len(calls)), thread_name_prefix="mautic")
    try:
        futures = [pool.submit(call) for call in calls]
        wait(futures, return_when=FIRST_EXCEPTION)
    finally:  # also on Ctrl-C: nothing new starts, requests in flight end with their answer
        pool.shutdown(wait=True, cancel_futures=True)
    for future in futures:
        if not future.cancelled() and future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return [future.result() for future in futures]
