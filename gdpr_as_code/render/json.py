"""The plan for machines: its JSON document, redacted, as ``plan --json``, saved plans and receipts use it.

Email addresses the plan itself will write (they come from the spec, e.g. a sender address) stay visible: a
reviewer must see them and they are in the repository already; any other address and every secret is masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from gdpr_as_code.converge.changes import Delete, Plan
from gdpr_as_code.redact import Redactor, emails_in


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
    """The plan's JSON form (``Plan.to_dict``, format ``format_version``), redacted."""
    return plan_redactor(plan, base).data(plan.to_dict())


def render_json(plan: Plan, base: Redactor) -> str:
    """``plan --json`` and ``show PLANFILE --json``; ``schemas/plan.schema.json`` describes it."""
    return json.dumps(plan_document(plan, base), indent=2, sort_keys=True, ensure_ascii=False)
