"""Every rendering of a plan and of what apply did: ``text`` (terminal), ``markdown`` (a pull-request
comment), ``json`` (machines). Everything a renderer returns has been through the redactor."""

from __future__ import annotations

from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.redact import Redactor
from gdpr_as_code.render.json import plan_redactor, render_json
from gdpr_as_code.render.markdown import render_markdown
from gdpr_as_code.render.text import render_text

FORMATS = ("text", "markdown", "json")


def render(plan: Plan, output: str, base: Redactor, plan_file: str | None = None) -> str:
    """The plan in one of ``FORMATS``: what ``plan`` and ``show`` print."""
    if output == "json":
        return render_json(plan, base)
    if output == "markdown":
        return render_markdown(plan, base, plan_file).rstrip("\n")
    text = render_text(plan)  # after plan --out, the next step (Terraform says it too)
    if plan_file and plan.has_changes:
        text += f"\nSaved the plan to {plan_file}: apply it as reviewed: gdpr-as-code apply {plan_file}"
    return plan_redactor(plan, base).text(text)
