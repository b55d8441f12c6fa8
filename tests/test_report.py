"""Plan renderers: the Markdown PR comment (snapshot, bounded at any size) and the versioned JSON document."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import jsonschema
import markdown

from gdpr_as_code.converge.changes import Create, Delete, FieldChange, Plan, Update
from gdpr_as_code.redact import EMAIL_MASK, SECRET_MASK, Redactor
from gdpr_as_code.render.json import render_json
from gdpr_as_code.render.markdown import DETAILED_CHANGES, render_markdown

SNAPSHOTS = Path(__file__).parent / "snapshots"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "plan.schema.json").read_text())
REDACTOR = Redactor().with_secrets("pw-Canary-4242")
URL = "https://mautic.example.org"


def sample_plan() -> Plan:
    """One of everything a reviewer meets: create, update with nested fields, delete, suppressed delete."""
    return Plan(
        instance="https://mautic.example.org",
        spec_sha256="5" * 64,
        tool_version="0.1.0",
        changes=(
            Create(
                kind="segments", key="forget", name="Request to be forgotten",
                fields=(
                    FieldChange("name", None, "Request to be forgotten"),
                    FieldChange("isPublished", None, True),
                    FieldChange("filters", None, [{"field": "gdpr_request", "filter": ["forget"]}]),
                ),
                desired={"name": "Request to be forgotten", "isPublished": True},
            ),
            Update(
                kind="forms", key="gdpr_request", name="GDPR request", mautic_id=3,
                fields=(
                    FieldChange("fields.consent.label", "I agree", "I agree to the <b>privacy | notice</b>"),
                    FieldChange("fields.email", None, {"type": "email", "label": "Email"}),
                    FieldChange("postActionProperty", "Thanks\nbye", "Thank you.\nWe answer within 30 days."),
                ),
                desired={"name": "GDPR request"},
                fingerprint="a" * 64,
            ),
            Update(
                kind="emails", key="confirm", name="Request received", mautic_id=7,
                fields=(FieldChange("fromAddress", "jane.doe@example.org", "privacy@example.org"),),
                desired={"fromAddress": "privacy@example.org"},
                fingerprint="b" * 64,
            ),
            Delete(kind="focus", key="old_banner", name="Old banner", mautic_id=2, fingerprint="c" * 64),
            Delete(kind="segments", key="legacy", name="Legacy", mautic_id=9, fingerprint="d" * 64,
                   suppressed=True),
        ),
    )


def big_plan(n: int) -> Plan:
    long_text = "We process your data to answer your request. " * 20
    changes = tuple(
        Create(
            kind="segments", key=f"segment_{i:03}", name=f"Segment {i}",
            fields=(FieldChange("name", None, f"Segment {i}"), FieldChange("description", None, long_text)),
            desired={"name": f"Segment {i}"},
        )
        for i in range(n)
    )
    return Plan(instance=URL, changes=changes, spec_sha256="5" * 64, tool_version="0.1.0")


def test_markdown_snapshot() -> None:
    text = render_markdown(sample_plan(), REDACTOR, plan_file="gdpr.plan")
    snapshot = SNAPSHOTS / "report_plan.md"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        snapshot.write_text(text)
    assert text == snapshot.read_text()


def test_markdown_starts_with_a_one_line_summary_and_redacts() -> None:
    text = render_markdown(sample_plan(), REDACTOR)
    assert text.splitlines()[0] == (
        "**Plan for `https://mautic.example.org`: 1 to add, 2 to change, 1 to destroy.** 1 managed object(s) "
        "removed from the spec are kept; they are deleted only with `--prune`."
    )
    assert "jane.doe@example.org" not in text and EMAIL_MASK in text  # the old sender, read from Mautic
    assert "privacy@example.org" in text  # the new sender, written by the spec
    bodies = re.findall(r"</summary>\n(.*?)</details>", text, re.DOTALL)
    tables = [markdown.markdown(body, extensions=["tables"]) for body in bodies]
    assert [t.count("<tr>") for t in tables] == [4, 5, 2, 0, 0]  # header + one row per changed setting
    assert tables[1].count("<td>") == 12  # the "|" inside a value split no cell
    assert "I agree to the &lt;b&gt;privacy &#124; notice&lt;/b&gt;" in tables[1]


def test_no_changes() -> None:
    plan = Plan(instance=URL, changes=(), tool_version="0.1.0")
    assert render_markdown(plan, REDACTOR) == f"**No changes.** Mautic at `{URL}` matches the spec.\n"


def test_markdown_stays_readable_at_200_changes() -> None:
    text = render_markdown(big_plan(200), REDACTOR, plan_file="gdpr.plan")
    assert text.splitlines()[0] == f"**Plan for `{URL}`: 200 to add, 0 to change, 0 to destroy.**"
    assert len(text) < 65_536  # GitHub's comment limit
    assert text.count("<details>") == text.count("</details>")
    detailed = len(re.findall(r"<summary><code>\+</code>", text))
    assert 0 < detailed <= DETAILED_CHANGES
    assert f"**…and {200 - detailed} more change(s)**" in text
    assert f"| segments | create | {200 - detailed} |" in text
    assert "`gdpr-as-code show gdpr.plan`" in text
    assert "- `+ segment.segment_199`" in text


def test_markdown_is_bounded_at_any_size() -> None:
    assert len(render_markdown(big_plan(5000), REDACTOR)) < 65_536


def test_json_is_versioned_valid_and_redacted() -> None:
    plan = sample_plan()
    document = json.loads(render_json(plan, REDACTOR))
    jsonschema.validate(document, SCHEMA)
    assert document["format_version"] == 1
    assert [(c["action"], c["kind"], c["key"], c["mautic_id"]) for c in document["changes"]] == [
        ("create", "segments", "forget", None),
        ("update", "forms", "gdpr_request", 3),
        ("update", "emails", "confirm", 7),
        ("delete", "focus", "old_banner", 2),
        ("delete", "segments", "legacy", 9),
    ]
    assert document["changes"][2]["fields"] == [
        {"path": "fromAddress", "before": EMAIL_MASK, "after": "privacy@example.org"}
    ]
    assert document["counts"] == {"adopt": 0, "add": 1, "change": 2, "destroy": 1, "suppressed": 1}


def test_secret_in_a_value_is_masked() -> None:
    leak = FieldChange("description", "a", "pw-Canary-4242")
    change = Update(kind="segments", key="x", name="X", mautic_id=1, desired={}, fields=(leak,),
                    fingerprint="0" * 64)
    leaky = Plan(instance=URL, tool_version="0.1.0", changes=(change,))
    assert "pw-Canary-4242" not in render_markdown(leaky, REDACTOR) + render_json(leaky, REDACTOR)
    assert SECRET_MASK in render_markdown(leaky, REDACTOR)


def test_nested_settings_are_rows_and_long_texts_show_where_they_differ() -> None:
    tagline = "We use cookies to improve this website. " * 30
    edited = tagline + "We never sell your data."
    change = Update(
        kind="focus", key="consent", name="Consent banner", mautic_id=1, desired={}, fingerprint="0" * 64,
        fields=(FieldChange("properties", {"content": {"tagline": tagline, "headline": "Hi"}},
                            {"content": {"tagline": edited, "headline": "Hi"}}),),
    )
    text = render_markdown(Plan(URL, (change,), tool_version="0.1.0"), REDACTOR)
    (row,) = [line for line in text.splitlines() if line.startswith("| `properties.content.tagline`")]
    assert row.endswith("| …prove this website.  | …prove this website. We never sell your data. |")
    assert "headline" not in text  # unchanged settings are not rows
