"""Apply receipts: written atomically with the evidence a privacy officer needs, listed by ``history``."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.receipts import build_receipt, read_receipts, render_history, touching, write_receipt
from gdpr_as_code.redact import EMAIL_MASK, SECRET_MASK, Redactor

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
CONSENT_V1 = {"properties.content.headline": "We use cookies"}


def plan_dict(plan_hash: str = "ab" * 32) -> dict[str, Any]:
    return {
        "instance": "https://mautic.example.org",
        "tool_version": "0.1.0",
        "spec_sha256": "cd" * 32,
        "plan_sha256": plan_hash,
    }


def change(key: str, after: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    action = "update" if before else "create"
    return {"action": action, "kind": "focus", "key": key, "mautic_id": 4, "before": before, "after": after}


def receipt(spec: Path, changes: list[dict[str, Any]], at: datetime, plan_hash: str = "ab" * 32) -> dict:
    return build_receipt(
        plan=plan_dict(plan_hash), spec_path=spec, status="applied", started=at - timedelta(seconds=3),
        finished=at, changes=changes, redactor=Redactor(),
    )


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_receipt_records_the_git_commit_of_the_spec_and_whether_it_was_modified(tmp_path: Path) -> None:
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x")
    git(tmp_path, "add", "gdpr.yaml")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "spec")
    head = git(tmp_path, "rev-parse", "HEAD")

    clean = receipt(spec, [change("banner", CONSENT_V1)], T0)
    expected = {"path": "gdpr.yaml", "sha256": "cd" * 32, "git_commit": head, "git_modified": False}
    assert clean["spec"] == expected
    spec.write_text("version: 1\n# edited\n")
    assert receipt(spec, [], T0)["spec"]["git_modified"] is True


def test_receipt_outside_git_has_no_commit(tmp_path: Path) -> None:
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\n")
    r = receipt(spec, [change("banner", CONSENT_V1)], T0)
    assert r["spec"]["git_commit"] is None
    assert r["summary"] == {"create": 1, "update": 0, "delete": 0}
    assert r["instance"] == "https://mautic.example.org"
    assert (r["tool_version"], r["plan_sha256"]) == ("0.1.0", "ab" * 32)
    assert r["started_at"] == "2026-11-29T05:59:57+00:00" and r["finished_at"] == "2026-11-29T06:00:00+00:00"


def test_write_is_atomic_and_names_sort_by_time(tmp_path: Path) -> None:
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\n")
    out = tmp_path / "receipts"
    late = write_receipt(out, receipt(spec, [], T0 + timedelta(days=1), "11" * 32))
    early = write_receipt(out, receipt(spec, [], T0, "22" * 32))
    assert sorted(p.name for p in out.iterdir()) == [early.name, late.name]  # no temporary file left behind
    assert early.name == "20261129T060000000000Z-mautic.example.org-22222222.json"
    assert json.loads(early.read_text())["plan_sha256"] == "22" * 32


def test_history_lists_receipts_oldest_first_and_follows_one_object(tmp_path: Path) -> None:
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\n")
    out = tmp_path / "receipts"
    write_receipt(out, receipt(spec, [change("banner", CONSENT_V1)], T0, "11" * 32))
    write_receipt(out, receipt(spec, [change("form", {"name": "GDPR"})], T0 + timedelta(hours=1), "22" * 32))
    v2 = {"properties.content.headline": "Cookies, with your consent"}
    write_receipt(out, receipt(spec, [change("banner", v2, CONSENT_V1)], T0 + timedelta(days=2), "33" * 32))
    (out / "notes.json").write_text('{"not": "a receipt"}')

    entries = read_receipts(out)
    assert [e.receipt["plan_sha256"][:2] for e in entries] == ["11", "22", "33"]
    table = render_history(entries).splitlines()
    assert table[1].startswith("2026-11-29 06:00:00  applied  1/0/0     -        11111111 https://mautic.example.org")
    assert table[3].startswith("2026-12-01 06:00:00  applied  0/1/0")

    banner = render_history(touching(entries, "banner"), key="banner")
    assert '    create banner: {"properties.content.headline": "We use cookies"}' in banner
    assert '    update banner: {"properties.content.headline": "Cookies, with your consent"}' in banner
    assert "22222222" not in banner
    assert render_history([], key="nothing") == "No apply receipt changed nothing."


def test_receipt_is_redacted(tmp_path: Path) -> None:
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\n")
    redactor = Redactor().with_secrets("pw-Canary-1").allowing_emails("dpo@example.org")
    before = {"fromAddress": "jane.doe@example.org", "replyTo": "dpo@example.org"}
    r = build_receipt(
        plan=plan_dict(), spec_path=spec, status="failed", started=T0, finished=T0,
        changes=[change("mail", {"fromAddress": "dpo@example.org"}, before)],
        error="login failed for pw-Canary-1", redactor=redactor,
    )
    assert r["changes"][0]["before"] == {"fromAddress": EMAIL_MASK, "replyTo": "dpo@example.org"}
    assert r["error"] == f"login failed for {SECRET_MASK}"


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GdprAsCodeError, match=r"No receipts directory at .*pass that directory to history"):
        read_receipts(tmp_path / "nope")
