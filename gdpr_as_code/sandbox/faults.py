"""Fault injection for tests and benchmarks: what a flaky network or an overloaded Mautic does to a client.

A rule is posted to ``POST /_sandbox/faults`` as JSON (one object or a list):

    {"kind": "latency", "ms": 50}                         every request waits 50 ms first
    {"kind": "error", "status": 503, "rate": 0.2}         20 % of requests answer 503 (500, 502 or 503)
    {"kind": "rate_limit", "retry_after": 2, "count": 3}  the next 3 requests answer 429 with Retry-After: 2
    {"kind": "drop"}                                      the connection is closed without an answer
    {"kind": "timeout", "seconds": 5}                     no answer for 5 s, then the connection closes
    {"kind": "lose_answer", "methods": ["POST"]}          the request is carried out (and logged with its real
                                                          status), then the connection closes unanswered

The others act before the request is handled (all but ``latency`` answer or close instead: nothing is done).
``lose_answer`` is the case that makes a naive client duplicate a create: Mautic did the work and the answer
went missing (a proxy timeout, a reset). When it fires together with a rule that answers early, the early
answer wins and nothing is done.

Common keys: ``rate`` (0..1, default 1), ``count`` (fire at most N times, then the rule is spent),
``methods`` (e.g. ``["POST", "PATCH"]``), ``path`` (a regex searched in the path), ``seed`` (default 0).
Each rule draws from its own ``random.Random(seed)``, so a failing test replays the same faults.
``DELETE /_sandbox/faults`` clears them.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import Any

KINDS = ("latency", "error", "rate_limit", "drop", "timeout", "lose_answer")
ERROR_STATUSES = (500, 502, 503)


class FaultSpecError(ValueError):
    """A fault rule that cannot be understood; the message says which key and what is allowed."""


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    status: int = 503
    retry_after: int = 1
    ms: int = 0
    seconds: float = 1.0
    methods: tuple[str, ...] = ()
    path: str | None = None
    count: int | None = None
    seed: int = 0
    fired: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def describe(self) -> dict[str, Any]:
        """The rule as JSON, for ``GET /_sandbox/faults``."""
        return {
            "kind": self.kind,
            "rate": self.rate,
            "status": self.status,
            "retry_after": self.retry_after,
            "ms": self.ms,
            "seconds": self.seconds,
            "methods": list(self.methods),
            "path": self.path,
            "count": self.count,
            "seed": self.seed,
            "fired": self.fired,
        }


def parse_rule(spec: Any) -> FaultRule:
    """Validate one posted rule."""
    if not isinstance(spec, dict):
        raise FaultSpecError('a fault rule must be a JSON object such as {"kind": "error", "status": 503}')
    unknown = set(spec) - {
        "kind",
        "rate",
        "status",
        "retry_after",
        "ms",
        "seconds",
        "methods",
        "path",
        "count",
        "seed",
    }
    if unknown:
        raise FaultSpecError(f"unknown fault keys {sorted(unknown)}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise FaultSpecError(f"'kind' must be one of {', '.join(KINDS)}")
    try:
        rule = FaultRule(
            kind=kind,
            rate=float(spec.get("rate", 1.0)),
            status=int(spec.get("status", 503)),
            retry_after=int(spec.get("retry_after", 1)),
            ms=int(spec.get("ms", 0)),
            seconds=float(spec.get("seconds", 1.0)),
            methods=tuple(str(m).upper() for m in spec.get("methods", ())),
            path=spec.get("path"),
            count=None if spec.get("count") is None else int(spec["count"]),
            seed=int(spec.get("seed", 0)),
        )
    except (TypeError, ValueError):
        raise FaultSpecError(
            "'rate', 'seconds' must be numbers; 'status', 'retry_after', 'ms', 'count', "
            "'seed' integers; 'methods' a list"
        ) from None
    if not 0.0 <= rule.rate <= 1.0:
        raise FaultSpecError("'rate' must be between 0 and 1")
    if kind == "error" and rule.status not in ERROR_STATUSES:
        raise FaultSpecError(f"'status' of an error fault must be one of {ERROR_STATUSES}")
    if rule.path is not None:
        try:
            re.compile(rule.path)
        except (re.error, TypeError):
            raise FaultSpecError("'path' must be a valid regular expression") from None
    rule.rng = random.Random(rule.seed)
    return rule


class Faults:
    """The active rules of one sandbox."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.lock = threading.Lock()

    def add(self, spec: Any) -> list[FaultRule]:
        """Add one rule or a list of rules (all validated before any is added)."""
        rules = [parse_rule(item) for item in (spec if isinstance(spec, list) else [spec])]
        with self.lock:
            self.rules.extend(rules)
        return rules

    def clear(self) -> None:
        with self.lock:
            self.rules.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self.lock:
            return [rule.describe() for rule in self.rules]

    def firing(self, method: str, path: str) -> list[FaultRule]:
        """The rules that fire for this request, in the order they were added; spent rules are removed."""
        fired: list[FaultRule] = []
        with self.lock:
            for rule in self.rules:
                if rule.methods and method not in rule.methods:
                    continue
                if rule.path is not None and not re.search(rule.path, path):
                    continue
                if rule.rng.random() >= rule.rate:
                    continue
                rule.fired += 1
                fired.append(rule)
            self.rules = [r for r in self.rules if r.count is None or r.fired < r.count]
        return fired
