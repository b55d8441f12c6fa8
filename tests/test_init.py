"""``gdpr-as-code init``: each language's project validates and converges on a sandbox; it asks nothing on a
non-terminal, never overwrites unless told, and puts the CI workflow at the repository's root."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from gdpr_as_code.cli import main
from gdpr_as_code.cli.demo import run_demo
from gdpr_as_code.spec import load_spec
from gdpr_as_code.spec.scaffold import TEMPLATES


@pytest.mark.parametrize("language", sorted(TEMPLATES))
def test_each_language_validates_and_converges(language: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path / "p"), "--language", language, "--company", 'Ça "va" AG',
                 "--privacy-url", "https://shop.example/privacy", "--dpo-address", "dpo@shop.example"]) == 0
    out = capsys.readouterr().out
    assert "valid (2 fields, 2 segments, 3 emails, 1 form)" in out and "demo --spec" in out
    spec = load_spec(tmp_path / "p" / "gdpr.yaml")
    template = TEMPLATES[language]
    assert spec.variables[template.company] == 'Ça "va" AG'
    assert spec.variables[template.dpo_address] == "dpo@shop.example"
    shown: list[str] = []
    assert run_demo(tmp_path / "p" / "gdpr.yaml", shown.append) == 0
    assert shown[-2:] == ["No changes. Mautic matches the spec.", "(5 requests, 0 writes)"]


def test_no_terminal_takes_the_defaults_and_asks_nothing(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0  # pytest's stdin is no terminal: a prompt would fail here
    assert "Example Ltd" in (tmp_path / "gdpr.yaml").read_text()
    assert "?" not in capsys.readouterr().out.split("Wrote")[0]


def test_never_overwrites_without_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "gdpr.yaml").write_text("mine\n")
    assert main(["init", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "gdpr.yaml: already there, so init wrote nothing" in err and "--force" in err
    assert (tmp_path / "gdpr.yaml").read_text() == "mine\n" and not (tmp_path / "emails").exists()
    assert main(["init", str(tmp_path), "--force"]) == 0
    assert "version: 1" in (tmp_path / "gdpr.yaml").read_text()


def test_the_workflow_goes_to_the_repository_root_and_names_the_spec(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert main(["init", str(tmp_path / "gdpr"), "--language", "de"]) == 0
    workflow = yaml.safe_load((tmp_path / ".github" / "workflows" / "gdpr-as-code.yml").read_text())
    used = [step["with"] for step in workflow["jobs"]["plan"]["steps"] if "spec" in step.get("with", {})]
    assert used == [{"spec": "gdpr/gdpr.yaml", "command": "plan"}]
    assert workflow[True]["pull_request"]["paths"] == ["gdpr/**"]  # YAML 1.1 reads the key "on" as true
    assert (tmp_path / "gdpr" / "gdpr-spec.schema.json").exists()
    assert "$schema=gdpr-spec.schema.json" in (tmp_path / "gdpr" / "gdpr.yaml").read_text()
