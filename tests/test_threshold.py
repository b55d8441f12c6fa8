"""The safety threshold: apply refuses, before any write, a plan that deletes managed objects or updates more
than 30% (and at least 4) of them, unless --allow-large-changes; plans show the warning; a rollout applies it
per instance. Over HTTP against the sandbox, counting its writes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.converge.changes import Change, Delete, Plan, Update
from gdpr_as_code.converge.threshold import large_change

ROOT = Path(__file__).resolve().parents[1]
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def plan_of(updates: int, managed: int, deletes: int = 0) -> Plan:
    changes: list[Change] = [Update(kind="segments", key=f"s{i}", name=f"S{i}", mautic_id=i, desired={},
                                    fields=(), fingerprint="f") for i in range(updates)]
    changes += [Delete(kind="forms", key=f"f{i}", name=f"F{i}", mautic_id=100 + i, fingerprint="f")
                for i in range(deletes)]
    return Plan("http://mautic.test", tuple(changes), ids={f"@segments.s{i}": i for i in range(managed)})


@pytest.mark.parametrize(("updates", "managed", "large"), [
    (3, 3, False),   # fewer than 4: an ordinary edit of a small setup
    (4, 13, True),   # 31% > 30%
    (4, 14, False),  # 29%
    (9, 9, True),
])
def test_updates_are_large_past_the_share_and_the_minimum(updates: int, managed: int, large: bool) -> None:
    assert (large_change(plan_of(updates, managed)) is not None) is large


def test_any_delete_is_large_and_named() -> None:
    why = large_change(plan_of(0, 9, deletes=1))
    assert why == "this plan deletes 1 managed object(s) (form.f0)"


@pytest.fixture
def project(tmp_path: Path, sandbox_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """configs/ copied and applied to the sandbox; the working directory is the copy."""
    shutil.copytree(ROOT / "configs", tmp_path / "p", ignore=shutil.ignore_patterns("receipts", "exports"))
    monkeypatch.chdir(tmp_path / "p")
    assert main(["apply", "gdpr.yaml", "--auto-approve"]) == 0
    return tmp_path / "p"


def rename_company(spec: Path) -> None:
    """One variable edited: the banner and the five emails change (6 of 11; the request form has no box)."""
    spec.write_text(spec.read_text().replace("company: Example Ltd", "company: Other Ltd"))


def writes(controls: Any) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in controls.requests()["requests"] if r["method"] in WRITES]


def test_apply_refuses_a_large_update_before_any_write(project: Path, controls: Any,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    rename_company(project / "gdpr.yaml")
    capsys.readouterr()
    assert main(["plan", "gdpr.yaml"]) == 0
    out = capsys.readouterr().out
    assert ("Warning: this plan updates 6 of the 11 managed objects (55%, more than 30%: "
            "email.request_received, email.data_export_sent, email.erasure_done, email.request_extended, "
            "email.request_refused and 1 more); apply refuses it without --allow-large-changes.") in out
    assert main(["plan", "gdpr.yaml", "--json"]) == 0
    assert "apply refuses it" in json.loads(capsys.readouterr().out)["warnings"][0]
    controls.clear_requests()
    assert main(["apply", "gdpr.yaml", "--auto-approve"]) == 1
    err = capsys.readouterr().err
    assert "Not applying: this plan updates 6 of the 11 managed objects" in err
    assert "Nothing was changed" in err and "--allow-large-changes" in err
    assert writes(controls) == []
    assert main(["apply", "gdpr.yaml", "--auto-approve", "--allow-large-changes"]) == 0
    assert main(["plan", "gdpr.yaml", "--detailed-exitcode"]) == 0


def test_a_saved_plan_that_deletes_is_refused_too(project: Path, controls: Any,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    spec = project / "gdpr.yaml"
    text = spec.read_text()
    spec.write_text(text[: text.index("# Step 0")] + text[text.index("# The contact fields"):])  # no banner
    assert main(["plan", "gdpr.yaml", "--prune", "--out", "gdpr.plan"]) == 0
    assert "Warning: this plan deletes 1 managed object(s) (focus.consent)" in capsys.readouterr().out
    controls.clear_requests()
    assert main(["apply", "gdpr.plan"]) == 1
    assert "Not applying: this plan deletes 1 managed object(s) (focus.consent)" in capsys.readouterr().err
    assert writes(controls) == []
    assert main(["apply", "gdpr.plan", "--allow-large-changes"]) == 0
    assert [w for w in writes(controls) if w.startswith("DELETE /api/focus")]


def test_a_rollout_refuses_per_instance(project: Path, controls: Any, sandbox: Any,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    (project / "inventory.yaml").write_text(
        "version: 1\ninstances:\n"
        f"  - name: shop\n    url: {sandbox.url}\n    auth: basic\n"
        "    username_env: MAUTIC_USERNAME\n    password_env: MAUTIC_PASSWORD\n"
        "    variables: {company: Other Ltd}\n"
    )
    controls.clear_requests()
    assert main(["apply", "gdpr.yaml", "--inventory", "inventory.yaml", "--auto-approve"]) == 1
    out = capsys.readouterr()
    assert "Not applying: this plan updates 6 of the 11 managed objects" in out.out + out.err
    assert writes(controls) == []
    assert main(["apply", "gdpr.yaml", "--inventory", "inventory.yaml", "--auto-approve",
                 "--allow-large-changes"]) == 0
