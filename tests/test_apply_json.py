"""``apply --json``: the outcome as one document that ``schemas/apply.schema.json`` describes, for SPEC and
for a saved PLANFILE; the plan goes to stderr so stdout parses. Over HTTP against the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from gdpr_as_code.cli import main

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = json.loads((ROOT / "schemas" / "apply.schema.json").read_text())


@pytest.fixture
def spec(tmp_path: Path, sandbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "configs", tmp_path / "p", ignore=shutil.ignore_patterns("receipts", "exports"))
    monkeypatch.chdir(tmp_path / "p")
    return tmp_path / "p" / "gdpr.yaml"


def test_apply_json_describes_what_was_done(spec: Path, sandbox_env: dict[str, str],
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", str(spec), "--auto-approve", "--json"]) == 0
    out, err = capsys.readouterr()
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    assert document["status"] == "applied" and document["instance"] == sandbox_env["MAUTIC_URL"]
    assert document["counts"] == {"add": 9, "change": 0, "destroy": 0}
    assert [o["address"] for o in document["outcomes"]][:2] == ["field.request_type", "field.consent"]
    assert Path(document["receipt"]).is_file() and "Plan: 9 to add" in err
    assert main(["apply", str(spec), "--auto-approve", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    jsonschema.validate(again, SCHEMA)
    assert again["status"] == "no_changes" and again["outcomes"] == [] and again["receipt"] is None


def test_apply_json_of_a_saved_plan(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", str(spec), "--out", "gdpr.plan"]) == 0
    capsys.readouterr()
    assert main(["apply", "gdpr.plan", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, SCHEMA)
    saved = json.loads(Path("gdpr.plan").read_text())
    assert document["plan_sha256"] == saved["plan_sha256"] and document["counts"]["add"] == 9


def test_apply_json_with_an_inventory_is_refused(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["apply", str(spec), "--inventory", "inventory.example.yaml", "--json"]) == 64
    assert "apply --json is for one instance" in capsys.readouterr().err
