"""The one error tree of gdpr-as-code.

Every failure a user can cause or fix is a ``GdprAsCodeError``: the CLI prints its message (one paragraph:
what, where, how to fix) and exits 1, never with a traceback. Anything else that escapes is a bug, reported as
"internal error". Library errors (httpx, yaml, jsonschema) are translated into this tree once, at the boundary
where they are raised, never caught all over the code.

    GdprAsCodeError               expected failure; ``str(err)`` is the message for the user
    ├── SpecError                 a spec or inventory file is invalid; ``.problems`` lists each FILE:LINE:COL
    ├── MauticError               talking to a Mautic instance failed (after any retries)
    │   ├── MauticUnreachable     connection refused, DNS, TLS, timeout, connection reset
    │   ├── MauticAuthError       401/403: bad credentials, API disabled, missing permission
    │   ├── MauticRateLimited     429 that outlived the retries
    │   └── MauticHTTPError       any other unexpected status; carries status, method, path, Mautic's message
    ├── PlanError                 no safe plan: an unmanaged object in the way, an unresolvable reference
    │   ├── StalePlanError        a saved plan no longer matches its spec, instance, tool or live objects
    │   └── LargeChangeError      the plan deletes, or updates a large share of, the managed objects
    ├── ApplyError                a write failed, or Mautic did not keep a change (verification)
    │   └── ApplyInterrupted      Ctrl-C during apply (exit 130); carries the changes made, for the receipt
    ├── NotApproved               apply was not confirmed (no TTY and no --auto-approve, or the answer was no)
    ├── LockError                 another run holds the instance or journal lock
    ├── SelectionError            (rollout) --select/--shard malformed, or the selection matches no instance
    └── MissingCredentials        (rollout) an instance's credential variable is unset; found before any write

Messages never carry secrets or personal data: callers pass ids and spec keys, not emails or passwords.
"""

from __future__ import annotations

from dataclasses import dataclass


class GdprAsCodeError(Exception):
    """An expected failure with a message the user can act on."""

    exit_code = 1


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file, located precisely enough for an editor to jump to it."""

    file: str
    line: int
    column: int
    message: str
    fix: str = ""

    def __str__(self) -> str:
        # line 0: not in a file (a --var option of the command line); "FILE" names it alone
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        text = f"{where}: {self.message}"
        return f"{text} — {self.fix}" if self.fix else text


class SpecError(GdprAsCodeError):
    """A spec or inventory file is invalid. All problems are collected and reported at once."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class MauticError(GdprAsCodeError):
    """A request to Mautic failed. ``instance`` names it (URL or inventory name), never credentials."""

    def __init__(self, message: str, *, instance: str = "", method: str = "", path: str = "") -> None:
        self.instance = instance
        self.method = method
        self.path = path
        super().__init__(message)


class MauticUnreachable(MauticError):
    """The host could not be reached or did not answer in time, even after retries."""


class MauticAuthError(MauticError):
    """Mautic refused the credentials (401) or the permission (403)."""


class MauticRateLimited(MauticError):
    """Mautic kept answering 429 after the retries were spent."""


class MauticHTTPError(MauticError):
    """Mautic answered with an unexpected status; ``mautic_message`` is its own error text."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        mautic_message: str = "",
        instance: str = "",
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.mautic_message = mautic_message
        super().__init__(message, instance=instance, method=method, path=path)


class PlanError(GdprAsCodeError):
    """No safe plan can be made (e.g. an unmanaged object with the same alias is in the way)."""


class StalePlanError(PlanError):
    """A saved plan no longer matches the spec, the instance, the tool, or the live objects it touches."""


class LargeChangeError(PlanError):
    """Apply refused a plan over the safety threshold (``converge.threshold``) for want of
    ``--allow-large-changes``."""


class ApplyError(GdprAsCodeError):
    """A write failed part-way, or Mautic did not keep a change that apply made. ``outcomes`` are the changes
    made before the failure (receipts record them)."""

    def __init__(self, message: str, *, outcomes: tuple[object, ...] = ()) -> None:
        self.outcomes = outcomes
        super().__init__(message)


class ApplyInterrupted(ApplyError):
    """Ctrl-C while apply wrote: ``outcomes`` are the changes made, so the receipt records them; exit 130."""

    exit_code = 130


class LockError(GdprAsCodeError):
    """Another run holds the lock this run needs."""


# --- rollout ---
class SelectionError(GdprAsCodeError):
    """``--select`` or ``--shard`` is malformed, or the selection matches no instance of the inventory."""


class MissingCredentials(GdprAsCodeError):
    """An instance's credential variable is not set; found for every instance before any is written."""


class NotApproved(GdprAsCodeError):
    """``apply`` needs a yes: from the person at the terminal, or ``--auto-approve`` where there is none."""
