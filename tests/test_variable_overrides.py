"""A variable override the spec does not know (a typo such as ``compny``) is an error, never ignored.

Known means declared under the spec's ``variables:`` or used as ``${var.NAME}`` in the spec or its body files.
From ``validate --var`` the problem names the option; from an inventory, the instance's line (see
tests/test_inventory.py), and ``plan --inventory`` shows it as that instance's error.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.errors import SpecError
from gdpr_as_code.sandbox import Sandbox
from gdpr_as_code.spec import load_spec

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
SPEC = CONFIGS / "gdpr.yaml"


def test_validate_var_with_a_typo_names_the_option_and_the_close_name(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--var", "compny=Rival Corp", str(SPEC)]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        f"--var compny: variable 'compny' is not known to {SPEC}: the spec neither declares it under "
        "'variables:' nor uses ${var.compny}, so its value would be ignored — did you mean 'company'? "
        "Otherwise remove it (its variables are company, dpo_address, privacy_url)"
    )
    assert "Rival Corp" not in out  # a value may be personal data (a sender address): never echoed
    assert main(["validate", "--var", "company=Rival Corp", str(SPEC)]) == 0


def test_a_variable_used_only_in_a_body_file_is_known(tmp_path: Path) -> None:
    """``who`` has no default and appears only in the body file: an override is what makes the spec valid."""
    (tmp_path / "done.md").write_text("Your data is erased.\n\n${var.who}\n", encoding="utf-8")
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(
        "version: 1\nvariables: {unused: x}\n"
        "emails:\n  done: {name: Done, subject: Erased, body_file: done.md}\n",
        encoding="utf-8",
    )
    spec = load_spec(spec_path, variables={"who": "The privacy team", "unused": "y"}, env={})
    assert "The privacy team" in spec.email("done").html
    with pytest.raises(SpecError) as caught:
        load_spec(spec_path, variables={"who": "Team", "wh": "Team", "other": "1"}, env={})
    assert [(p.file, p.line, p.message.split(":")[0], p.fix) for p in caught.value.problems] == [
        ("--var other", 0, f"variable 'other' is not known to {spec_path}",
         f"remove it, or declare it under 'variables:' in {spec_path} (its variables are unused, who)"),
        ("--var wh", 0, f"variable 'wh' is not known to {spec_path}",
         "did you mean 'who'? Otherwise remove it (its variables are unused, who)"),
    ]
    assert str(caught.value.problems[1]).startswith(f"--var wh: variable 'wh' is not known to {spec_path}")


def test_plan_inventory_shows_the_unknown_variable_as_that_instances_error(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """One instance with a typo fails at its inventory line (before any request to it), the other plans."""
    with socket.socket() as probe:  # nothing listens here: the spec error must come before any connection
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\ninstances:\n"
        f"  - {{name: good, url: '{sandbox.url}', username_env: GOOD_USER, password_env: GOOD_PASSWORD,\n"
        "     variables: {company: Good Ltd}}\n"
        f"  - {{name: typo, url: '{closed}', username_env: TYPO_USER, password_env: TYPO_PASSWORD,\n"
        "     variables: {compny: Typo Ltd}}\n",
        encoding="utf-8",
    )
    for prefix in ("GOOD", "TYPO"):
        monkeypatch.setenv(f"{prefix}_USER", "admin")
        monkeypatch.setenv(f"{prefix}_PASSWORD", "sandbox")
    code = main(["plan", str(SPEC), "--inventory", str(inventory)])
    out = capsys.readouterr().out
    assert code == 1
    table = out.split("\n\n")[0].splitlines()
    assert table[1].split()[:3] == ["good", "5.1.0", "changes"]
    assert table[2].split()[:3] == ["typo", "-", "failed"] and f"{inventory}:6:18: variable 'comp" in table[2]
    details = out.split("=== typo (failed) ===\n")[1].splitlines()[0]
    assert details.startswith(f"{inventory}:6:18: variable 'compny' is not known to {SPEC}")
    assert details.endswith("did you mean 'company'? Otherwise remove it (its variables are company, "
                            "dpo_address, privacy_url)")
    assert "Typo Ltd" not in out
