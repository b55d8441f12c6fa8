"""``export`` and ``adopt:`` on the sandbox, over HTTP: the seed's specs round-trip (exported after apply,
they plan no changes), a hand-made setup is exported, validated and adopted as a reviewed plan change (text,
JSON, Markdown, saved plans), and nothing is created, duplicated or lost."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from handmade import build_seed_by_hand

from gdpr_as_code.cli import main
from gdpr_as_code.spec import load_spec

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
KINDS = {
    "fields/contact": "fields", "segments": "lists", "emails": "emails", "forms": "forms", "focus": "focus"
}
NO_CHANGES = (0, "No changes. Mautic 5.1.0 matches the spec.\n")  # the sandbox answers as 5.1.0


@pytest.fixture
def api(sandbox: Any, sandbox_env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, auth=("admin", "sandbox"), timeout=10)


def everything(api: httpx.Client) -> dict[str, dict[int, Any]]:
    """Every object of every kind by id, as Mautic holds it."""
    found = {}
    for path, key in KINDS.items():
        body = api.get(f"/api/{path}", params={"limit": 1000}).json()[key]
        found[path] = {int(r["id"]): r for r in (body.values() if isinstance(body, dict) else body)}
    return found


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().out


@pytest.mark.parametrize("name", ["gdpr.yaml", "gdpr-de.yaml"])
def test_an_applied_seed_spec_exports_to_a_spec_that_plans_no_changes(
    name: str, sandbox: Any, api: httpx.Client, controls: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shutil.copytree(CONFIGS, tmp_path / "ops")
    spec = tmp_path / "ops" / name
    spec.write_text(spec.read_text().replace("https://mautic.example.de", sandbox.url)
                    .replace("auth: oauth2", "auth: basic"))
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    controls.clear_requests()
    out = tmp_path / "exported" / "gdpr.yaml"
    out.parent.mkdir()
    code, said = run(capsys, "export", "--all", "--out", str(out))
    assert code == 0 and "0 to adopt" in said and "5 requests, all reads" in said
    assert controls.requests()["total"] == 5  # one list call per kind
    exported = load_spec(out, env={})
    original = load_spec(spec, env={})
    assert exported.gdpr is not None and original.gdpr is not None
    assert exported.gdpr.request_types == original.gdpr.request_types
    assert {f.key for f in exported.forms} == {f.key for f in original.forms}
    assert run(capsys, "plan", str(out), "--detailed-exitcode") == NO_CHANGES


def test_a_hand_made_setup_is_exported_adopted_through_a_saved_plan_and_nothing_is_recreated(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = build_seed_by_hand(api)
    before = everything(api)
    out = tmp_path / "gdpr" / "gdpr.yaml"
    out.parent.mkdir()
    assert run(capsys, "export", "--all", "--out", str(out))[0] == 0
    spec = load_spec(out, env={})
    assert dict(spec.adopt) == {
        "field.gdpr_request": ids["field"], "segment.request_to_be_forgotten": ids["forget"],
        "segment.data_requested": ids["data"], "email.gdpr_request_received": ids["email"],
        "form.gdpr_request": ids["form"], "form.newsletter": ids["newsletter"], "focus.consent": ids["focus"]}
    text = out.read_text()
    assert "# gdpr: not written, because no notification email for access requests was found" in text
    assert (out.parent / "emails" / "gdpr_request_received.html").read_text().startswith("<html>")

    code, shown = run(capsys, "plan", str(out), "--detailed-exitcode")
    assert code == 2 and f"= adopt segment.request_to_be_forgotten (#{ids['forget']})" in shown
    assert "Plan: 7 to adopt, 0 to add, " in shown
    code, as_json = run(capsys, "plan", str(out), "--json")
    plan = json.loads(as_json)
    assert plan["counts"]["adopt"] == 7 and plan["counts"]["add"] == 0
    assert {c["action"] for c in plan["changes"]} == {"adopt"}
    assert "adopt Mautic #" in run(capsys, "plan", str(out), "--format", "markdown")[1]

    saved = tmp_path / "gdpr.plan"
    assert run(capsys, "plan", str(out), "--out", str(saved))[0] == 0
    assert run(capsys, "show", str(saved))[1].count("= adopt ") == 7
    capsys.readouterr()
    code = main(["apply", str(saved)])
    applied, err = capsys.readouterr()
    assert code == 0 and "7 adopted, 0 added" in applied, err
    assert run(capsys, "plan", str(out), "--detailed-exitcode") == NO_CHANGES

    after = everything(api)
    assert {kind: set(objs) for kind, objs in after.items()} == {
        kind: set(objs) for kind, objs in before.items()} | {"segments": set(before["segments"]) | {
            max(after["segments"])}}  # only the field registry segment is new
    form = after["forms"][ids["form"]]
    old = before["forms"][ids["form"]]
    assert [(f["id"], f["alias"]) for f in form["fields"]] == [(f["id"], f["alias"]) for f in old["fields"]]
    assert [a["id"] for a in form["actions"]] == [a["id"] for a in old["actions"]]  # marked, not recreated
    assert "[gdpr-as-code:confirm_receipt]" in form["actions"][0]["description"]
    assert "[gdpr-as-code:gdpr_request]" in form["description"]
    # afterwards the adopt: entries are a no-op; removing them changes nothing either
    out.write_text(re.sub(r"(?m)^adopt:\n(  .*\n)+", "", text))
    assert run(capsys, "plan", str(out), "--detailed-exitcode")[0] == 0


def exported_by_hand(api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
                     ) -> tuple[dict[str, int], Path]:
    """The hand-made setup and its exported spec."""
    ids = build_seed_by_hand(api)
    out = tmp_path / "gdpr.yaml"
    assert run(capsys, "export", "--all", "--out", str(out))[0] == 0
    return ids, out


def test_a_saved_adoption_is_refused_when_the_object_changed_since(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids, out = exported_by_hand(api, tmp_path, capsys)
    saved = tmp_path / "gdpr.plan"
    assert run(capsys, "plan", str(out), "--out", str(saved))[0] == 0
    api.patch(f"/api/segments/{ids['data']}/edit", json={"description": "edited by hand"}).raise_for_status()
    capsys.readouterr()
    assert main(["apply", str(saved)]) == 1
    assert "segment.data_requested" in capsys.readouterr().err


def test_selection_brings_what_the_objects_use_and_errors_are_one_paragraph(
    api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    build_seed_by_hand(api)
    code, text = run(capsys, "export", "form:GDPR Request")
    assert code == 0
    assert "gdpr_request_received:" in text and "gdpr_request:" in text and "newsletter" not in text
    assert "data_requested" not in text  # no action or field of the form uses the segments
    assert main(["export"]) == 64 and main(["export", "--all", "form:1"]) == 64
    capsys.readouterr()
    assert main(["export", "form:Nope"]) == 1
    assert "has no form with id or name 'Nope'" in capsys.readouterr().err
    assert main(["export", "widget:1"]) == 1


def test_adopt_entries_are_checked(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids, out = exported_by_hand(api, tmp_path, capsys)
    text = out.read_text()
    out.write_text(text.replace(f"segment.data_requested: {ids['data']}", "segment.data_requested: 999"))
    capsys.readouterr()
    assert main(["plan", str(out)]) == 1
    assert "adopt: names segment #999, which Mautic does not have" in capsys.readouterr().err
    out.write_text(text.replace("segment.data_requested:", "segment.data_requestd:"))
    assert main(["validate", str(out)]) == 1
    assert "did you mean 'segment.data_requested'" in capsys.readouterr().out
