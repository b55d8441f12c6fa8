"""``validate --var-file FILE`` (a name the spec does not know is reported at its line in FILE; ``--var``
wins), and ``validate SPEC INVENTORY`` checking each instance's overrides against the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdpr_as_code.cli import main

ROOT = Path(__file__).resolve().parents[1]
SPEC = str(ROOT / "configs" / "gdpr.yaml")
INVENTORY = ROOT / "configs" / "inventory.example.yaml"


def test_a_var_file_overrides_and_its_typo_is_located(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "prod.yaml"
    good.write_text("# production\ncompany: Brand AG\nprivacy_url: https://brand.example/privacy\n")
    assert main(["validate", SPEC, "--var-file", str(good)]) == 0
    bad = tmp_path / "typo.yaml"
    bad.write_text("company: Brand AG\ncompny: Brand AG\n")
    assert main(["validate", SPEC, "--var-file", str(good), "--var-file", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:2:1: variable 'compny' is not known to {SPEC}" in out and "did you mean 'company'?" in out


def test_var_wins_over_the_file_and_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "vars.yaml"
    file.write_text("compny: A\n")
    assert main(["validate", SPEC, "--var-file", str(file), "--var", "compny=B"]) == 1
    assert capsys.readouterr().out.startswith("--var compny: variable 'compny' is not known")


@pytest.mark.parametrize(("text", "expected"), [
    ("company: [a, b]\n", ":1:10: company must be text or a number or true or false"),
    ("- company\n", ":1:1: "),
])
def test_a_var_file_that_is_no_flat_mapping_is_refused(text: str, expected: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "vars.yaml"
    file.write_text(text)
    assert main(["validate", SPEC, "--var-file", str(file)]) == 1
    assert f"{file}{expected}" in capsys.readouterr().out


def test_an_empty_var_file_sets_nothing(tmp_path: Path) -> None:
    (tmp_path / "vars.yaml").write_text("# nothing yet\n")
    assert main(["validate", SPEC, "--var-file", str(tmp_path / "vars.yaml")]) == 0


def test_validate_checks_an_inventorys_overrides_against_the_spec(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", SPEC, str(INVENTORY)]) == 0
    assert f"{SPEC} with {INVENTORY}: valid for its 3 instance(s)" in capsys.readouterr().out
    lines = INVENTORY.read_text().splitlines()
    typo = next(i for i, line in enumerate(lines) if line.strip() == "company: Brand GmbH")
    lines[typo] = lines[typo].replace("company", "compny")
    broken = tmp_path / "inventory.yaml"
    broken.write_text("\n".join(lines) + "\n")
    assert main(["validate", SPEC, str(broken)]) == 1
    out = capsys.readouterr().out
    assert f"{broken}:{typo + 1}:7: variable 'compny' is not known to {SPEC}" in out
