"""Apply receipts: written atomically with the evidence a privacy officer needs, listed by ``history``."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code.converge import Outcome
from gdpr_as_code.converge.changes import Change, Create, FieldChange, Plan, Update
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.guard.receipts import (
    Run,
    build_receipt,
    read_receipts,
    touching,
    write_receipt,
)
from gdpr_as_code.redact import EMAIL_MASK, SECRET_MASK, Redactor
from gdpr_as_code.render.text import render_history

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
URL = "https://mautic.example.org"
HEADLINE = "properties.content.headline"


def change(key: str, after: str, before: str | None = None, path: str = HEADLINE) -> Change:
    fields = (FieldChange(path, before, after),)
    if before:
        return Update(kind="focus", key=key, name=key.title(), mautic_id=4, desired={}, fields=fields,
                      fingerprint="0" * 64)
    return Create(kind="focus", key=key, name=key.title(), desired={}, fields=fields)


def make_plan(changes: list[Change], spec_hash: str = "cd" * 32) -> Plan:
    return Plan(instance=URL, changes=tuple(changes), spec_sha256=spec_hash, tool_version="0.1.0")


def receipt(spec: Path, plan: Plan, at: datetime, error: str = "", redactor: Redactor | None = None) -> dict:
    outcomes = [Outcome(c.action, c.kind, c.key, c.mautic_id or 11) for c in plan.changes]
    run = Run(plan, spec, at - timedelta(seconds=3), at, outcomes, error)
    return build_receipt(run, redactor or Redactor())


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "gdpr.yaml"
    path.write_text("version: 1\n")
    return path


def test_receipt_records_the_git_commit_of_the_spec_and_whether_it_was_modified(spec: Path) -> None:
    who = ["-c", "user.name=t", "-c", "user.email=t@t"]
    git(spec.parent, "init", "-q")
    git(spec.parent, "add", "gdpr.yaml")
    git(spec.parent, *who, "commit", "-q", "-m", "spec")
    head = git(spec.parent, "rev-parse", "HEAD")

    clean = receipt(spec, make_plan([change("banner", "We use cookies")]), T0)
    assert clean["spec"] == {"path": "gdpr.yaml", "sha256": "cd" * 32, "git_commit": head,
                             "git_modified": False}
    spec.write_text("version: 1\n# edited\n")
    assert receipt(spec, make_plan([]), T0)["spec"]["git_modified"] is True


def test_receipt_has_instance_time_versions_hashes_and_each_change(spec: Path) -> None:
    plan = make_plan([change("banner", "We use cookies")])
    r = receipt(spec, plan, T0)
    assert r["spec"]["git_commit"] is None  # tmp_path is not in a git work tree
    assert (r["status"], r["instance"], r["tool_version"]) == ("applied", URL, "0.1.0")
    assert r["plan_sha256"] == plan.to_dict()["plan_sha256"]
    assert (r["started_at"], r["finished_at"]) == ("2026-11-29T05:59:57+00:00", "2026-11-29T06:00:00+00:00")
    assert r["summary"] == {"create": 1, "update": 0, "delete": 0, "adopt": 0, "consent": 0}
    assert r["changes"] == [
        {
            "action": "create", "kind": "focus", "key": "banner", "address": "focus.banner", "mautic_id": 11,
            "fields": [{"path": HEADLINE, "before": None, "after": "We use cookies"}],
        }
    ]


def test_write_is_atomic_and_names_sort_by_time(spec: Path) -> None:
    out = spec.parent / "receipts"
    late = write_receipt(out, receipt(spec, make_plan([], "11" * 32), T0 + timedelta(days=1)))
    early_plan = make_plan([], "22" * 32)
    early = write_receipt(out, receipt(spec, early_plan, T0))
    assert sorted(p.name for p in out.iterdir()) == [early.name, late.name]  # no temporary file left behind
    digest = early_plan.to_dict()["plan_sha256"]
    assert early.name == f"20261129T060000000000Z-mautic.example.org-{digest[:8]}.json"
    assert json.loads(early.read_text())["plan_sha256"] == digest


def test_history_lists_receipts_oldest_first_and_follows_one_object(spec: Path) -> None:
    out = spec.parent / "receipts"
    first = make_plan([change("banner", "We use cookies")], "11" * 32)
    write_receipt(out, receipt(spec, first, T0))
    write_receipt(out, receipt(spec, make_plan([change("form", "GDPR")], "22" * 32), T0 + timedelta(hours=1)))
    v2 = make_plan([change("banner", "Cookies, with your consent", "We use cookies")], "33" * 32)
    write_receipt(out, receipt(spec, v2, T0 + timedelta(days=2)))
    (out / "notes.json").write_text('{"not": "a receipt"}')

    entries = read_receipts(out)
    assert [e.receipt["spec"]["sha256"][:2] for e in entries] == ["11", "22", "33"]
    table = render_history(entries).splitlines()
    digest = first.to_dict()["plan_sha256"][:8]
    assert table[1].startswith(f"2026-11-29 06:00:00  applied  1/0/0     -        {digest} {URL}")
    assert table[3].startswith("2026-12-01 06:00:00  applied  0/1/0")

    banner = render_history(touching(entries, "banner"), key="banner").splitlines()
    assert banner[2:4] == ["    create focus.banner", f'      {HEADLINE}: "We use cookies"']
    assert banner[5:7] == ["    update focus.banner", f'      {HEADLINE}: "Cookies, with your consent"']
    assert len(banner) == 7  # the form's apply is not listed
    assert render_history([], key="nothing") == "No apply receipt changed nothing."


def test_receipt_is_redacted(spec: Path) -> None:
    redactor = Redactor().with_secrets("pw-Canary-1").allowing_emails("dpo@example.org")
    plan = make_plan([change("mail", "dpo@example.org", "jane.doe@example.org", path="fromAddress")])
    r = receipt(spec, plan, T0, error="login failed for pw-Canary-1", redactor=redactor)
    fields: list[dict[str, Any]] = r["changes"][0]["fields"]
    assert fields == [{"path": "fromAddress", "before": EMAIL_MASK, "after": "dpo@example.org"}]
    assert (r["status"], r["error"]) == ("failed", f"login failed for {SECRET_MASK}")


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GdprAsCodeError, match=r"No receipts directory at .*pass the spec \(history"):
        read_receipts(tmp_path / "nope")
