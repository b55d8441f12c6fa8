"""The safety threshold: a plan that deletes managed objects, or updates a large share of them, is refused
by apply unless ``--allow-large-changes`` (octodns does the same with its records). A spec edited by mistake,
say a ``published: false`` pasted into every form, should not reach Mautic unnoticed; plans show the warning
so the reviewer sees it before apply refuses.
"""

from __future__ import annotations

from gdpr_as_code.converge.changes import Delete, Plan, Update
from gdpr_as_code.errors import LargeChangeError

UPDATE_SHARE = 0.30  # more than this share of the managed objects updated at once is large...
UPDATE_MINIMUM = 4  # ...when at least this many are: two of three objects changed is an ordinary edit


def large_change(plan: Plan) -> str | None:
    """Why ``plan`` is large (a sentence naming the objects), or None when apply may go ahead."""
    acting = plan.actionable
    deletes = [c.address for c in acting if isinstance(c, Delete)]
    updates = [c.address for c in acting if isinstance(c, Update)]
    managed = max(len(plan.ids), 1)
    reasons = []
    if deletes:
        reasons.append(f"deletes {len(deletes)} managed object(s) ({_names(deletes)})")
    if len(updates) >= UPDATE_MINIMUM and len(updates) > UPDATE_SHARE * managed:
        reasons.append(f"updates {len(updates)} of the {len(plan.ids)} managed objects "
                       f"({len(updates) / managed:.0%}, more than {UPDATE_SHARE:.0%}: {_names(updates)})")
    return f"this plan {' and '.join(reasons)}" if reasons else None


def check_threshold(plan: Plan, allowed: bool) -> None:
    """Refuse a large plan (before any write) unless the user said ``--allow-large-changes``."""
    if allowed or (why := large_change(plan)) is None:
        return
    raise LargeChangeError(
        f"Not applying: {why}. Nothing was changed. A spec edited by mistake looks like this: review the "
        "plan, and if it is what you want, rerun with --allow-large-changes."
    )


def _names(addresses: list[str]) -> str:
    shown = ", ".join(addresses[:5])
    return shown + (f" and {len(addresses) - 5} more" if len(addresses) > 5 else "")
