"""Consent on every form, on the sandbox over HTTP: ``gdpr.consent.forms: all`` puts the checkbox into forms
the spec does not manage, before their button, and changes nothing else in them; exemptions by name; the GDPR
request form exempt by default."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from handmade import add_webinar, build_seed_by_hand, complete_the_exported_spec

from gdpr_as_code.cli import main


@pytest.fixture
def api(sandbox: Any, sandbox_env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, auth=("admin", "sandbox"), timeout=10)


def adopted(api: httpx.Client, tmp_path: Path) -> tuple[dict[str, int], Path]:
    """The hand-made setup exported, adopted, then completed by the privacy officer."""
    ids = build_seed_by_hand(api)
    spec = tmp_path / "gdpr.yaml"
    assert main(["export", "--all", "--out", str(spec)]) == 0
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    complete_the_exported_spec(spec)
    return ids, spec


def fields_of(api: httpx.Client, form_id: int) -> list[tuple[int, str, bool]]:
    form = api.get(f"/api/forms/{form_id}").json()["form"]
    ordered = sorted(form["fields"], key=lambda f: f["order"])
    return [(f["id"], f["alias"], bool(f["isRequired"])) for f in ordered]


def test_a_form_added_by_hand_gets_only_the_checkbox_before_its_button(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids, spec = adopted(api, tmp_path)
    webinar = add_webinar(api)
    before = api.get(f"/api/forms/{webinar['id']}").json()["form"]
    capsys.readouterr()
    assert main(["plan", str(spec), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    (box,) = [c for c in plan["changes"] if c["action"] == "consent"]
    assert box["mautic_id"] == webinar["id"] and box["fields"][0]["path"] == "fields.gdpr_consent"
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    kept = [(f["id"], f["alias"], bool(f["isRequired"])) for f in before["fields"]]
    now = fields_of(api, webinar["id"])
    assert [f for f in now if f[1] != "gdpr_consent"] == kept  # nothing else changed, reordered or deleted
    aliases = [a for _, a, _ in now]
    assert aliases[aliases.index("gdpr_consent") + 1] == "f_join"  # before the button ("join" is SQL's)
    after = api.get(f"/api/forms/{webinar['id']}").json()["form"]
    assert (after["name"], after["postAction"], after["postActionProperty"], after["description"]) == (
        before["name"], before["postAction"], before["postActionProperty"], before["description"])
    capsys.readouterr()
    assert main(["plan", str(spec), "--detailed-exitcode"]) == 0
    request_form = fields_of(api, ids["form"])
    assert "gdpr_consent" not in [a for _, a, _ in request_form]  # exempt: Art. 7(4), 12(2)
    assert main(["audit", str(spec)]) == 0


def test_exempt_forms_and_a_list_of_names_are_respected(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, spec = adopted(api, tmp_path)
    webinar = add_webinar(api)
    data = yaml.safe_load(spec.read_text())
    data["gdpr"]["consent"]["exempt"] = ["Webinar*"]
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    capsys.readouterr()
    assert main(["plan", str(spec), "--json"]) == 0
    assert not [c for c in json.loads(capsys.readouterr().out)["changes"] if c["action"] == "consent"]
    data["gdpr"]["consent"].pop("exempt")
    data["gdpr"]["consent"]["forms"] = ["Newsletter"]  # only that one, besides the spec's own forms
    spec.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    assert "gdpr_consent" not in [a for _, a, _ in fields_of(api, webinar["id"])]
    capsys.readouterr()
    assert main(["audit", str(spec), "--json"]) == 2
    named = [f["object"]["id"] for f in json.loads(capsys.readouterr().out)["findings"]]
    assert named == [webinar["id"]]


def test_a_saved_consent_plan_is_refused_when_the_form_changed(
    api: httpx.Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, spec = adopted(api, tmp_path)
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    webinar = add_webinar(api)
    saved = tmp_path / "consent.plan"
    assert main(["plan", str(spec), "--out", str(saved)]) == 0
    api.patch(f"/api/forms/{webinar['id']}/edit", json={"name": "Webinar (renamed)", "postAction": "message"})
    capsys.readouterr()
    assert main(["apply", str(saved)]) == 1
    assert f"form #{webinar['id']}" in capsys.readouterr().err
