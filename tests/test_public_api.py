"""The public surface: every exported name resolves and is documented; nothing is exported by accident."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import gdpr_as_code
from gdpr_as_code.sandbox import Sandbox


def test_every_exported_name_resolves_and_has_a_docstring() -> None:
    for name in gdpr_as_code.__all__:
        value = getattr(gdpr_as_code, name)
        assert value.__doc__, f"gdpr_as_code.{name} has no docstring"


def test_all_is_sorted_and_lists_exactly_the_public_names() -> None:
    assert gdpr_as_code.__all__ == sorted(gdpr_as_code.__all__)
    code = "import gdpr_as_code; print(' '.join(n for n in dir(gdpr_as_code) if not n.startswith('_')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    imported_helpers = {"annotations", "import_module", "Any", "errors"}
    assert set(out.split()) - imported_helpers == set(gdpr_as_code.__all__)


def test_the_docstring_example_runs_against_a_sandbox(sandbox: Sandbox, tmp_path: Path) -> None:
    """The usage example in the package docstring is real code: plan then the guarded apply converges a
    fresh instance and leaves a receipt."""
    import gdpr_as_code as g

    spec = g.load_spec("configs/gdpr.yaml")
    with g.MauticClient(sandbox.url, g.BasicAuth("admin", "sandbox")) as client:
        planned = g.plan(spec, client)
        assert "Plan: " in g.render_text(planned)
        applied = g.apply(planned, spec, client, g.ApplyOptions(receipts=tmp_path))
        assert applied.receipt is not None and applied.receipt.parent == tmp_path
        assert g.render_text(g.plan(spec, client)).startswith("No changes.")


def test_the_converge_package_is_reachable_from_the_top() -> None:
    code = "import gdpr_as_code as g; print(g.converge.plan is g.plan, g.StalePlanError.__mro__[1].__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "PlanError"]


def test_importing_the_package_does_not_load_the_engine_or_httpx() -> None:
    code = (
        "import sys, gdpr_as_code; "
        "print('httpx' in sys.modules, 'gdpr_as_code.converge.apply' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_cli_help_imports_no_command_module_and_no_library_module() -> None:
    """``--help`` is typed often and answers from the command table alone; a command module or the library
    loaded for it is start-up time every user pays (``COMMANDS`` in ``cli/app.py``)."""
    code = (
        "import sys; from gdpr_as_code.cli import main; code = main(['--help']); "
        "print(code, *sorted(m for m in sys.modules if m.startswith('gdpr_as_code')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split()[-4:] == ["0", "gdpr_as_code", "gdpr_as_code.cli", "gdpr_as_code.cli.app"]
    assert "Commands:" in out and "requests  GDPR requests" in out
