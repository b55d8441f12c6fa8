"""The public surface: every exported name resolves and is documented; nothing is exported by accident."""

from __future__ import annotations

import subprocess
import sys

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


def test_the_docstring_example_runs_against_a_sandbox(sandbox: Sandbox) -> None:
    """The usage example in the package docstring is real code: plan then apply converges a fresh instance."""
    from gdpr_as_code import BasicAuth, MauticClient, converge, load_spec, render_text

    spec = load_spec("configs/gdpr.yaml")
    with MauticClient(sandbox.url, BasicAuth("admin", "sandbox")) as client:
        first = converge.plan(spec, client)
        assert "Plan: " in render_text(first)
        converge.apply(first, client)
        assert render_text(converge.plan(spec, client)).startswith("No changes.")


def test_importing_the_package_does_not_load_the_engine_or_httpx() -> None:
    code = (
        "import sys, gdpr_as_code; "
        "print('httpx' in sys.modules, 'gdpr_as_code.converge.apply' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
