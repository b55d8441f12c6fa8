"""The plan for machines: its JSON document, redacted, as ``plan --json``, saved plans and receipts use it;
and what apply did (``apply --json``, described by ``schemas/apply.schema.json``).

Email addresses the plan itself will write (they come from the spec, e.g. a sender address) stay visible: a
reviewer must see them and they are in the repository already; any other address and every secret is masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdpr_as_code.converge.changes import Delete, Plan
from gdpr_as_code.converge.threshold import large_change
from gdpr_as_code.redact import Redactor, emails_in

if TYPE_CHECKING:
    from gdpr_as_code.converge import Outcome

APPLY_FORMAT_VERSION = 1


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def plan_redactor(plan: Plan, base: Redactor) -> Redactor:
    """``base``, also leaving visible the email addresses the plan will write (they come from the spec)."""
    writing = [c for c in plan.changes if not isinstance(c, Delete)]
    written = _strings([[c.desired, [f.after for f in c.fields]] for c in writing])
    return base.allowing_emails(*(address for text in written for address in emails_in(text)))


def plan_document(plan: Plan, base: Redactor) -> dict[str, Any]:
    """The plan's JSON form (``Plan.to_dict``, format ``format_version``), redacted, with the warnings a
    reviewer must see (the safety threshold's)."""
    document = plan.to_dict()
    if why := large_change(plan):
        document["warnings"] = [f"{why}; apply refuses it without --allow-large-changes"]
    return plan_redactor(plan, base).data(document)


def render_json(plan: Plan, base: Redactor) -> str:
    """``plan --json`` and ``show PLANFILE --json``; ``schemas/plan.schema.json`` describes it."""
    return json.dumps(plan_document(plan, base), indent=2, sort_keys=True, ensure_ascii=False)


def render_apply_json(plan: Plan, outcomes: tuple[Outcome, ...], receipt: Path | None, base: Redactor) -> str:
    """``apply --json``: the outcome as one document (``schemas/apply.schema.json``), redacted like plans."""
    counts = {action: sum(o.action == action for o in outcomes) for action in ("create", "update", "delete")}
    document = {
        "format_version": APPLY_FORMAT_VERSION,
        "instance": plan.instance,
        "status": "applied" if plan.has_changes else "no_changes",
        "plan_sha256": plan.to_dict()["plan_sha256"],
        "counts": {"add": counts["create"], "change": counts["update"], "destroy": counts["delete"]},
        "outcomes": [{"action": o.action, "kind": o.kind, "key": o.key, "address": o.address,
                      "mautic_id": o.mautic_id, "detail": o.detail} for o in outcomes],
        "receipt": str(receipt) if receipt else None,
    }
    return json.dumps(plan_redactor(plan, base).data(document), indent=2, sort_keys=True, ensure_ascii=False)
