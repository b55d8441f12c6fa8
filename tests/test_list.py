"""``gdpr-as-code list [SPEC]``: the objects carrying the marker, by kind, key, id and name (text and JSON),
from one list call per kind; with SPEC, those no longer in it are flagged. Over HTTP against the sandbox."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_list_names_every_managed_object(sandbox_env: dict[str, str], controls: Any, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    assert capsys.readouterr().out.startswith("No object on ")
    shutil.copytree(ROOT / "configs", tmp_path / "p", ignore=shutil.ignore_patterns("receipts", "exports"))
    spec = tmp_path / "p" / "gdpr.yaml"
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    capsys.readouterr()
    controls.clear_requests()
    assert main(["list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["address"] for r in rows] == [
        "field.consent", "field.request_type", "segment.data_requested", "segment.request_to_be_forgotten",
        "email.data_export_sent", "email.erasure_done", "email.request_received", "form.gdpr_request",
        "focus.consent",
    ]
    assert rows[0] == {"kind": "field", "key": "consent", "address": "field.consent", "id": rows[0]["id"],
                       "name": "Consent to data processing"}
    assert {r["method"] for r in controls.requests()["requests"]} == {"GET"}
    text = spec.read_text()
    spec.write_text(text[: text.index("# Step 0")] + text[text.index("# The contact fields"):])
    assert main(["list", str(spec)]) == 0
    out = capsys.readouterr().out
    assert "focus.consent" in out and "(not in the spec: apply --prune deletes it)" in out
    assert out.count("not in the spec") == 1 and out.rstrip().endswith("9 managed object(s) on " +
                                                                       sandbox_env["MAUTIC_URL"] + ".")
