"""The pre-commit hook, run the way pre-commit runs it: the files of a commit filtered by the hook's
``files`` pattern and ``types`` (yaml), passed after its ``entry``, as one process (``require_serial``); exit
0 lets the commit through, anything else stops it. (pre-commit itself is not a dependency: ``try-repo``
would install this repository into a new venv from the package index.)"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
(HOOK,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())


def run_hook(checkout: Path, staged: list[str]) -> subprocess.CompletedProcess[str]:
    chosen = [name for name in staged if re.search(HOOK["files"], name) and name.endswith((".yaml", ".yml"))]
    assert chosen, "the hook would not run for these files"
    words = shlex.split(HOOK["entry"])
    command = [str(Path(sys.executable).parent / words[0]), *words[1:], *chosen]
    return subprocess.run(command, cwd=checkout, capture_output=True, text=True, timeout=60)


def test_the_hook_is_the_validate_command() -> None:
    assert (HOOK["id"], HOOK["entry"], HOOK["language"]) == ("gdpr-as-code-validate", "gdpr-as-code validate",
                                                             "python")


def test_the_hook_passes_good_specs_and_inventories_and_stops_a_broken_one(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "configs", tmp_path / "gdpr", ignore=shutil.ignore_patterns("receipts", "exports"))
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "ci.yml").write_text("on: push\n")  # other YAML: not the hook's business
    staged = ["gdpr/gdpr.yaml", "gdpr/gdpr-fr.yaml", "gdpr/inventory.example.yaml", ".github/ci.yml",
              "gdpr/emails/request-received.md"]
    good = run_hook(tmp_path, staged)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "gdpr/inventory.example.yaml: valid inventory (3 instances)" in good.stdout
    assert ".github/ci.yml" not in good.stdout
    spec = tmp_path / "gdpr" / "gdpr.yaml"
    spec.write_text(spec.read_text().replace("deadline_days: 30", "deadline_days: thirty"))
    bad = run_hook(tmp_path, staged)
    assert bad.returncode == 1 and re.search(r"gdpr/gdpr.yaml:\d+:\d+: gdpr.deadline_days", bad.stdout)
