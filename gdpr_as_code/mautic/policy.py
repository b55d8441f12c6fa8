"""How the client retries and what it counts: ``RetryPolicy`` (attempts, backoff with jitter, the longest
429 wait) and ``RequestStats`` (requests by method, token fetches, retries, adoptions), both safe to share
between the threads of one client's concurrent requests."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["WRITE_METHODS", "RequestStats", "RetryPolicy"]

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; injectable so tests retry with tiny waits and a seeded jitter."""

    attempts: int = 4  # tries per request in total, the first included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time, with jitter
    max_delay: float = 20.0
    max_rate_limit_wait: float = 60.0  # a 429 that resets later than this fails at once rather than hang
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): exponential, with equal jitter."""
        ceiling = min(self.max_delay, self.base_delay * 2**retry)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


class RequestStats:
    """Requests this client sent, by method; lets callers assert e.g. "a second apply makes zero writes"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_method: Counter[str] = Counter()
        self.token_requests = 0  # OAuth2 token fetches; not API calls, so not in by_method
        self.retries = 0
        self.adopted = 0  # creates whose answer was lost and whose object was found and adopted

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.by_method.items() if method in WRITE_METHODS)

    def as_dict(self) -> dict[str, Any]:
        """A plain snapshot, for JSON output and benchmarks."""
        with self._lock:
            return {
                "total": self.total,
                "writes": self.writes,
                "by_method": dict(sorted(self.by_method.items())),
                "token_requests": self.token_requests,
                "retries": self.retries,
                "adopted": self.adopted,
            }

    def reset(self) -> None:
        with self._lock:
            self.by_method.clear()
            self.token_requests = self.retries = self.adopted = 0

    def count_request(self, method: str) -> None:
        with self._lock:
            self.by_method[method] += 1

    def count(self, what: Literal["token_requests", "retries", "adopted"]) -> None:
        with self._lock:
            setattr(self, what, getattr(self, what) + 1)


