"""The wheel a user installs (``pipx install .``) is complete: built from this checkout, installed into a
fresh venv outside it, ``demo``, ``init``, ``validate`` and ``schema`` work from there.

The fresh venv gets only the wheel (``--no-deps``); its dependencies are this test's own site-packages, named
by a ``.pth`` file, so the test needs no network. That directory holds no ``gdpr_as_code`` (the dev install
is editable and its finder is not loaded through a plain path line), so the package can only come from the
wheel: the test checks it does.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``bin`` folder of a fresh venv holding the wheel built from this checkout."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(where / "dist"),
                    str(ROOT)], check=True, cwd=where, capture_output=True)
    (wheel,) = (where / "dist").glob("gdpr_as_code-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert not [n for n in names if "/exports/" in n or "/receipts/" in n or "/gdpr-state/" in n], names
    venv.EnvBuilder(with_pip=False).create(where / "venv")
    target = where / "venv"
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(target), "platbase": str(target)}))
    (purelib / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, cwd=where, capture_output=True)
    return target / "bin"


def run(bin_dir: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_dir / "gdpr-as-code"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, env={"PATH": "/usr/bin:/bin"})


def test_the_package_comes_from_the_wheel(installed: Path, tmp_path: Path) -> None:
    code = "import gdpr_as_code; print(gdpr_as_code.__file__)"
    where = subprocess.run([str(installed / "python"), "-c", code], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    assert where.startswith(str(installed.parent)), where


def test_demo_runs_the_shipped_spec(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "demo")
    assert result.returncode == 0, result.stderr
    assert "Plan: 9 to add" in result.stdout and result.stdout.rstrip().endswith("(5 requests, 0 writes)")


def test_schema_prints_the_shipped_schema(installed: Path, tmp_path: Path) -> None:
    result = run(installed, tmp_path, "schema")
    assert result.returncode == 0, result.stderr
    assert result.stdout == (ROOT / "schemas" / "gdpr-spec.schema.json").read_text()
    assert json.loads(result.stdout)["title"]


def test_init_then_validate_then_demo(installed: Path, tmp_path: Path) -> None:
    made = run(installed, tmp_path, "init", "shop", "--company", "Café Müller", "--language", "fr")
    assert made.returncode == 0, made.stderr
    checked = run(installed, tmp_path, "validate", "shop/gdpr.yaml")
    assert checked.returncode == 0 and "valid (2 fields, 2 segments, 3 emails, 1 form)" in checked.stdout
    converged = run(installed, tmp_path, "demo", "--spec", "shop/gdpr.yaml")
    assert converged.returncode == 0, converged.stderr
    assert converged.stdout.rstrip().endswith("(5 requests, 0 writes)")
    assert "Café Müller" in (tmp_path / "shop" / "gdpr.yaml").read_text()
