"""``gdpr-as-code audit`` on the sandbox, over HTTP: the checks the issue lists, each named by object, article
and fix; text, JSON and Markdown; exit 0 clean, 2 with findings, 1 on error; one list call per kind."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import click, tracked_links
from handmade import build_seed_by_hand

from gdpr_as_code.cli import main

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
KIND_LISTS = (
    "GET /api/fields/contact", "GET /api/segments", "GET /api/emails", "GET /api/forms", "GET /api/focus"
)


@pytest.fixture
def api(sandbox: Any, sandbox_env: dict[str, str]) -> httpx.Client:
    return httpx.Client(base_url=sandbox.url, auth=("admin", "sandbox"), timeout=10)


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    shutil.copytree(CONFIGS, tmp_path / "ops", ignore=shutil.ignore_patterns("*.example.yaml"))
    return tmp_path / "ops" / "gdpr.yaml"


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    capsys.readouterr()
    code = main(["audit", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def rows_of(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = body[key]
    return list(found.values()) if isinstance(found, dict) else list(found)


def rows(api: httpx.Client, path: str, key: str) -> list[dict[str, Any]]:
    return rows_of(api.get(path).json(), key)


def named(report: dict[str, Any], check: str) -> list[str]:
    return [f["object"]["name"] for f in report["findings"] if f["check"] == check]


def test_hand_made_setup_names_the_newsletter_form_and_exits_2(
    api: httpx.Client, controls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = build_seed_by_hand(api)
    controls.clear_requests()
    code, report = audit(capsys)
    assert code == 2
    (newsletter,) = [f for f in report["findings"] if f["check"] == "form-without-consent"]
    assert newsletter["object"] == {"kind": "form", "id": ids["newsletter"], "name": "Newsletter"}
    assert newsletter["article"] == "Art. 6(1)(a), 7(1)" and "consent" in newsletter["fix"]
    # the request form is exempt (Art. 7(4), 12(2)); the static segments route nothing; no notification emails
    assert sorted(named(report, "request-segment")) == ["Data Requested", "Request to be Forgotten"]
    assert len(named(report, "notification-email")) == 2 and not named(report, "consent-banner")
    assert any("'GDPR Request'" in g for g in report["recognised"])
    counts = controls.requests()["counts"]
    assert all(counts.get(route) == 1 for route in KIND_LISTS), counts  # one list call per kind
    assert not [r for r in controls.requests()["requests"] if r["method"] != "GET"]


def test_text_and_markdown_name_object_article_and_fix(
    api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    build_seed_by_hand(api)
    capsys.readouterr()
    assert main(["audit"]) == 2
    text = capsys.readouterr().out
    assert "form #" in text and "'Newsletter'" in text and "[Art. 6(1)(a), 7(1)]" in text and "fix:" in text
    assert main(["audit", "--format", "markdown"]) == 2
    markdown = capsys.readouterr().out
    assert markdown.startswith("### GDPR audit of") and "| form #" in markdown and "Newsletter" in markdown


def test_applied_spec_is_clean_and_breaking_it_is_found(
    api: httpx.Client, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    code, report = audit(capsys, str(spec))
    assert (code, report["findings"], report["clean"]) == (0, [], True)
    assert audit(capsys)[0] == 0  # Mautic alone recognises the applied setup as complete too
    forms, segments = rows(api, "/api/forms", "forms"), rows(api, "/api/segments", "lists")
    emails, focus = rows(api, "/api/emails", "emails"), rows(api, "/api/focus", "focus")
    forget = next(s for s in segments if s["name"] == "Request to be Forgotten")
    api.patch(f"/api/segments/{forget['id']}/edit", json={"isPublished": False}).raise_for_status()
    done = next(e for e in emails if e["name"] == "GDPR erasure done")
    api.patch(f"/api/emails/{done['id']}/edit", json={"isPublished": False}).raise_for_status()
    banner = focus[0]
    api.patch(f"/api/focus/{banner['id']}/edit", json={
        "style": banner["style"], "properties": {"content": {"link_url": ""}}}).raise_for_status()
    code, report = audit(capsys, str(spec))
    assert code == 2
    assert named(report, "request-segment") == ["Request to be Forgotten"]
    assert named(report, "notification-email") == ["GDPR erasure done"]
    (banner_finding,) = [f for f in report["findings"] if f["check"] == "consent-banner"]
    assert banner_finding["object"]["name"] == "Consent banner"
    assert "privacy notice" in banner_finding["problem"]
    request = next(f for f in forms if f["name"] == "GDPR request")
    api.patch(f"/api/forms/{request['id']}/edit", json={"isPublished": False, "postAction": "message"})
    assert named(audit(capsys, str(spec))[1], "request-form") == ["GDPR request"]


def _submit(url: str, api: httpx.Client, address: str, choice: str) -> int:
    form = next(f for f in rows(api, "/api/forms", "forms") if f["name"] == "GDPR request")
    body: dict[str, Any] = {"mauticform[formId]": str(form["id"]), "mauticform[return]": "",
                            "mauticform[email]": address, "mauticform[request][]": [choice],
                            "mauticform[gdpr_consent][]": ["1"]}
    answer = httpx.post(f"{url}/form/submit", params={"formId": form["id"]}, data=body)
    assert answer.status_code == 302, answer.text
    (contact,) = rows_of(api.get("/api/contacts", params={"search": f"email:{address}"}).json(), "contacts")
    return int(contact["id"])


def test_stale_cron_overdue_requests_and_retention(
    sandbox: Any, api: httpx.Client, spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mautic's clock is pinned in the past (the sandbox stamps submissions and memberships with it); the
    audit judges them at the real time."""
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    clock = httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=10)

    def mautic_time(ago: timedelta) -> None:
        clock.post("/clock", json={"now": (datetime.now(UTC) - ago).isoformat()}).raise_for_status()

    try:
        mautic_time(timedelta(minutes=30))
        _submit(sandbox.url, api, "ann@example.com", "forget")
        assert audit(capsys, str(spec))[0] == 0  # within the hour a cron run may still be due
        mautic_time(timedelta(hours=2))
        _submit(sandbox.url, api, "bob@example.com", "forget")
        code, report = audit(capsys, str(spec))
        (stale,) = [f for f in report["findings"] if f["check"] == "stale-segment-cron"]
        assert code == 2 and stale["object"]["name"] == "Request to be Forgotten"
        assert stale["problem"].startswith("1 erasure request submission(s)")
        mautic_time(timedelta(days=31))  # the cron rebuild ran a month ago, and nobody answered
        clock.post("/segments/rebuild").raise_for_status()
        code, report = audit(capsys, str(spec))
        late = [f for f in report["findings"] if f["check"] == "request-overdue"]
        assert sorted(f["object"]["name"] for f in late) == ["a***@example.com", "b***@example.com"]
        assert {f["article"] for f in late} == {"Art. 12(3)"} and not named(report, "stale-segment-cron")
        assert "ann@example.com" not in json.dumps(report)
        mautic_time(timedelta(days=1200))
        old = _submit(sandbox.url, api, "carl@example.com", "access")
        code, report = audit(capsys, str(spec))
        assert [f["object"]["id"] for f in report["findings"] if f["check"] == "past-retention"] == [old]
    finally:
        clock.post("/clock", json={"now": None})


def test_unreachable_mautic_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MAUTIC_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("MAUTIC_USERNAME", "admin")
    monkeypatch.setenv("MAUTIC_PASSWORD", "x")
    monkeypatch.delenv("MAUTIC_CLIENT_ID", raising=False)
    assert main(["audit"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_an_erased_person_imported_again_is_a_finding_read_in_one_list_call(
    sandbox: Any, api: httpx.Client, controls: Any, spec: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Erase Eve through ``requests fulfil``, import her address again: audit names the new contact (masked,
    by id), Art. 17 and the fix, from the state folder's receipts, with one contacts list for the check."""
    monkeypatch.setenv("GDPR_AS_CODE_RECEIPT_KEY", "audit-receipt-key-0123456789abcdef")
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    eve = _submit(sandbox.url, api, "eve@example.com", "forget")
    outbox = httpx.get(f"{sandbox.url}/_sandbox/outbox").json()["messages"]
    (page, *_) = [m["body"] for m in outbox if int(m["contactId"]) == eve and tracked_links(m["body"])]
    assert click(tracked_links(page)[0]).status_code == 302  # Eve confirms her erasure request
    httpx.post(f"{sandbox.url}/_sandbox/segments/rebuild").raise_for_status()
    state = ["--state-dir", str(tmp_path / "state")]
    assert main(["requests", "fulfil", str(spec), "--yes", *state]) == 0
    api.post("/api/contacts/new", json={"email": "someone@example.com"}).raise_for_status()
    assert audit(capsys, str(spec), *state)[0] == 0  # erased, nobody came back: clean
    back = int(api.post("/api/contacts/new", json={"email": "Eve@Example.com"}).json()["contact"]["id"])
    controls.clear_requests()
    code, report = audit(capsys, str(spec), *state)
    (finding,) = [f for f in report["findings"] if f["check"] == "reimported-erased"]
    assert code == 2 and finding["object"] == {"kind": "contact", "id": back, "name": "E***@Example.com"}
    assert finding["article"] == "Art. 17"
    assert finding["fix"] == "gdpr-as-code requests reimported SPEC --erase"
    assert f"receipt erasure-{eve}-" in finding["problem"] and "eve@" not in json.dumps(report).lower()
    lists = [r["query"] for r in controls.requests()["requests"] if r["path"] == "/api/contacts"]
    assert len([q for q in lists if "isNotEmpty" in q]) == 1, lists  # the other lists: the request segments
    monkeypatch.delenv("GDPR_AS_CODE_RECEIPT_KEY")
    code, report = audit(capsys, str(spec), *state)
    assert not named(report, "reimported-erased")
    assert "GDPR_AS_CODE_RECEIPT_KEY is not set" in report["notes"][0]
