"""The frictions a new user met, each fixed: accented keys and aliases (named, at their line, with Mautic's
own spelling offered), one problem per missing body file, a saved plan applied twice, history --key matching
exactly, a near-miss credential variable, a change Mautic forces explained in the plan, the hint after
plan --out. Over HTTP against the sandbox where Mautic is involved."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdpr_as_code.cli import main

ROOT = Path(__file__).resolve().parents[1]
Out = pytest.CaptureFixture[str]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(ROOT / "configs", tmp_path / "p", ignore=shutil.ignore_patterns("receipts", "exports"))
    monkeypatch.chdir(tmp_path / "p")
    return tmp_path / "p"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_an_accented_key_is_named_at_its_line_with_mautics_spelling(project: Path,
                                                                    capsys: Out) -> None:
    spec = project / "gdpr.yaml"
    edit(spec, "  consent:\n    alias: gdpr_consent\n",
         "  préférence_contact:\n    alias: préférence_contact\n    label: Préférence\n    type: text\n"
         "  consent:\n    alias: gdpr_consent\n")
    assert main(["validate", "gdpr.yaml"]) == 1
    out = capsys.readouterr().out
    key_line, alias_line = line_of(spec, "  préférence_contact:"), line_of(spec, "alias: préférence_contact")
    assert (f"gdpr.yaml:{key_line}:3: the key 'préférence_contact' in fields has the wrong form — write "
            "'preference_contact' (as Mautic would spell it)") in out
    assert (f"gdpr.yaml:{alias_line}:12: fields.préférence_contact.alias has the wrong form — write "
            "'preference_contact' (as Mautic would spell it)") in out


def test_an_accented_segment_alias_gets_the_dashed_spelling(project: Path,
                                                            capsys: Out) -> None:
    edit(project / "gdpr.yaml", "alias: request-to-be-forgotten", "alias: Demande Effacée")
    assert main(["validate", "gdpr.yaml"]) == 1
    assert "write 'demande-effacee' (as Mautic would spell it)" in capsys.readouterr().out


def test_a_missing_body_file_is_one_problem(project: Path, capsys: Out) -> None:
    (project / "emails" / "request-received.md").unlink()
    assert main(["validate", "gdpr.yaml"]) == 1
    out = capsys.readouterr().out
    assert "email body file 'emails/request-received.md' does not exist" in out
    assert "unknown email" not in out and out.rstrip().endswith("1 problem found")


def test_a_typo_in_an_email_reference_is_still_unknown(project: Path, capsys: Out) -> None:
    edit(project / "gdpr.yaml", "email: request_received", "email: request_recieved")
    assert main(["validate", "gdpr.yaml"]) == 1
    assert "unknown email 'request_recieved' — did you mean 'request_received'?" in capsys.readouterr().out


def test_a_saved_plan_applied_twice_says_already_applied(project: Path, sandbox_env: dict[str, str],
                                                         controls: Any, capsys: Out) -> None:
    assert main(["plan", "gdpr.yaml", "--out", "gdpr.plan"]) == 0
    assert "apply it as reviewed: gdpr-as-code apply gdpr.plan" in capsys.readouterr().out
    assert main(["apply", "gdpr.plan"]) == 0
    capsys.readouterr()
    controls.clear_requests()
    assert main(["apply", "gdpr.plan"]) == 1
    err = capsys.readouterr().err
    assert "gdpr.plan was already applied, at " in err and "nothing was changed now" in err
    assert "stale" not in err.lower() and controls.requests()["total"] == 0


def test_history_key_matches_exactly(project: Path, sandbox_env: dict[str, str],
                                     capsys: Out) -> None:
    assert main(["apply", "gdpr.yaml", "--auto-approve"]) == 0
    capsys.readouterr()
    assert main(["history", "gdpr.yaml", "--key", "focus.consent"]) == 0
    out = capsys.readouterr().out
    assert "create focus.consent" in out and "field.consent" not in out
    assert main(["history", "gdpr.yaml", "--key", "consent"]) == 1  # a field and the banner share the key
    assert "--key consent names 2 objects (field.consent, focus.consent)" in capsys.readouterr().err
    assert main(["history", "gdpr.yaml", "--key", "gdpr_request"]) == 0
    assert "create form.gdpr_request" in capsys.readouterr().out


def test_a_near_miss_credential_variable_is_named(project: Path, sandbox: Any,
                                                  monkeypatch: pytest.MonkeyPatch, capsys: Out) -> None:
    monkeypatch.setenv("MAUTIC_URL", sandbox.url)
    monkeypatch.setenv("MAUTIC_USER", "admin")
    monkeypatch.setenv("MAUTIC_PASSWORD", "sandbox")
    monkeypatch.delenv("MAUTIC_USERNAME", raising=False)
    assert main(["plan", "gdpr.yaml"]) == 1
    err = capsys.readouterr().err
    assert "MAUTIC_USERNAME is not set" in err and "MAUTIC_USER is set: did you mean MAUTIC_USERNAME?" in err
    assert "admin" not in err


def test_a_change_mautic_forces_is_explained(project: Path, sandbox_env: dict[str, str], sandbox: Any,
                                             capsys: Out) -> None:
    assert main(["apply", "gdpr.yaml", "--auto-approve"]) == 0
    forms = httpx.get(f"{sandbox.url}/api/forms", auth=("admin", "sandbox")).json()["forms"]
    form_id = next(iter(forms.values()) if isinstance(forms, dict) else iter(forms))["id"]
    # unpublished by hand, as a person or another client does: a PATCH without postAction
    answer = httpx.patch(f"{sandbox.url}/api/forms/{form_id}/edit", json={"isPublished": False},
                         auth=("admin", "sandbox"))
    assert answer.status_code == 200
    capsys.readouterr()
    assert main(["plan", "gdpr.yaml"]) == 0
    out = capsys.readouterr().out
    assert 'postAction: "return" → "message"' in out
    assert "(Mautic resets it to \"return\" when a form is saved without it" in out
    assert main(["plan", "gdpr.yaml", "--format", "markdown"]) == 0
    assert "`postAction`: Mautic resets it" in capsys.readouterr().out
