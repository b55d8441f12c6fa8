"""Which Mautic lines the tool is tested on, and what differs between them that the tool must know.

Every API answer of a real Mautic carries a ``Mautic-Version`` header (``5.1.0``, ``7.0.2``; measured on
both, tests/recorded/*/versions); the client keeps the last one it saw, plans, receipts and the rollout table
show it, and a version outside ``TESTED_LINES`` is said once per process, as a warning on stderr, because
the tool then runs on a Mautic nobody checked it against (it still runs: the v1 API it uses is stable).
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable

__all__ = ["TESTED_LINES", "at_least", "is_tested", "untested_warning", "warn_if_untested"]

# The lines CI runs the acceptance suite on (.ci/run): 5.1.x and 7.0.x.
TESTED_LINES: tuple[tuple[int, int], ...] = ((5, 1), (7, 0))

_warned: set[str] = set()
_lock = threading.Lock()


def _numbers(version: str) -> tuple[int, ...]:
    """``7.0.2`` -> (7, 0, 2); ``7.1.0-beta`` -> (7, 1, 0); anything unreadable -> ()."""
    match = re.match(r"\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?", version or "")
    return tuple(int(part) for part in match.groups() if part is not None) if match else ()


def is_tested(version: str) -> bool:
    """Whether ``version`` belongs to a line CI tests."""
    return _numbers(version)[:2] in TESTED_LINES


def at_least(version: str | None, major: int, minor: int) -> bool:
    """Whether ``version`` is ``major.minor`` or later; an unknown version (no header) counts as not."""
    return _numbers(version or "")[:2] >= (major, minor)


def untested_warning(version: str, instance: str) -> str:
    lines = ", ".join(f"{major}.{minor}.x" for major, minor in TESTED_LINES)
    return (
        f"Warning: {instance} runs Mautic {version}, which gdpr-as-code is not tested on (it is tested on "
        f"{lines}). Plans and applies use Mautic's stable v1 API and should work; check the plan before you "
        "apply, and report anything that looks wrong."
    )


def warn_if_untested(
    version: str, instance: str, emit: Callable[[str], None] | None = None
) -> None:
    """Say once per process per version that ``version`` is untested (a rollout over 20 such instances
    warns once, not 20 times)."""
    if is_tested(version):
        return
    with _lock:
        if version in _warned:
            return
        _warned.add(version)
    (emit or _stderr)(untested_warning(version, instance))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)
