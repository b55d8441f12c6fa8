"""Identity verification on the sandbox, through the CLI: nothing is erased before the person clicks the link
Mautic sent to the address of record; a forged click proves nothing; an unclicked request expires, closed with
nothing done; a request filed without the form gets the verification email from the tool, once."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from browser import BROWSER_AGENT
from test_requests_e2e import Site, _fulfil_and_hand_over, _fulfil_in_child
from test_requests_e2e import site as site  # the fixture: shared, not copied

from gdpr_as_code.dsr.journal import CRASH_EXIT, NOW_ENV
from gdpr_as_code.sandbox.php import php_serialize


@contextmanager
def days_later(monkeypatch: pytest.MonkeyPatch, days: int) -> Iterator[None]:
    """The tool's clock ``days`` ahead (the journal's test hook); Mautic's dates stay as they were."""
    moment = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    monkeypatch.setenv(NOW_ENV, moment.isoformat())
    try:
        yield
    finally:
        monkeypatch.delenv(NOW_ENV)


def journal(site: Site) -> list[dict[str, object]]:
    return [json.loads(line) for line in (site.state / "journal.jsonl").read_text().splitlines()]


def test_an_erasure_waits_for_the_click_and_a_forged_one_does_not_count(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget", confirm=False)
    site.rebuild()
    erasure_done = site.email_id("GDPR erasure done")
    capsys.readouterr()
    assert site.cli("requests", "fulfil", "--yes") == 0
    out = capsys.readouterr().out
    assert "0 done, 0 failed, 0 skipped, 1 waiting for verification" in out and "expires" in out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200
    assert site.cli("requests", "list") == 0
    assert re.search(r"unverified \(expires \d{4}-\d\d-\d\d\)", capsys.readouterr().out)

    # Someone without the mailbox guesses: the click-through names Bob but not his send's stat.
    (page,) = [m["body"] for m in site.outbox() if m["contactId"] == bob]
    redirect = re.search(r"/r/([0-9a-f]+)\?", page).group(1)  # type: ignore[union-attr]
    email = site.email_id("GDPR request received")
    forged = {"source": ["form", 1], "email": email, "stat": "0" * 22, "lead": str(bob),
              "channel": {"email": email}}
    ct = base64.b64encode(php_serialize(forged).encode()).decode()
    httpx.get(f"{site.url}/r/{redirect}", params={"ct": ct}, headers={"User-Agent": BROWSER_AGENT})
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 waiting for verification" in capsys.readouterr().out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200

    site.confirm(bob)  # Bob opens his email and clicks
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 done, 0 failed" in capsys.readouterr().out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 404
    assert [(m["emailId"], m["contactId"]) for m in site.outbox()].count((erasure_done, bob)) == 1
    steps = [(r["step"], r["status"], (r.get("data") or {}).get("verify_by")) for r in journal(site)]
    assert steps[:4] == [("begin", "done", None), ("verify_send", "done", "form"), ("verify", "done", None),
                         ("receipt", "start", None)]
    assert "tracking_hash" not in (site.state / "journal.jsonl").read_text()  # the hash opens the web view
    request_id = str(journal(site)[0]["request"])
    assert site.cli("requests", "show", request_id) == 0
    shown = capsys.readouterr().out
    for event in ("received", "verification sent", "verified", "notified", "erased", "closed"):
        assert event in shown, shown


def test_an_unverified_erasure_expires_and_nobody_is_erased(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget", confirm=False)
    site.rebuild()
    sent = len(site.outbox())
    assert site.cli("requests", "fulfil", "--yes") == 0
    with days_later(monkeypatch, 13):
        assert site.cli("requests", "fulfil", "--yes") == 0
        assert "1 waiting for verification" in capsys.readouterr().out
    with days_later(monkeypatch, 15):
        capsys.readouterr()
        assert site.cli("requests", "fulfil", "--yes") == 0
        out = capsys.readouterr().out
        assert "0 done, 0 failed, 0 skipped, 1 expired unverified" in out, out
        assert "not verified within 14 days" in out
        assert site.cli("requests", "list", "--json") == 0
        listed = json.loads(capsys.readouterr().out)
        assert listed["requests"] == [] and [r["contact"] for r in listed["expired"]] == [bob]
        assert site.cli("requests", "list") == 0
        assert "expired  erasure-" in capsys.readouterr().out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200  # not erased
    assert len(site.outbox()) == sent  # and told nothing: we cannot know who asked
    fields = site.api.get(f"/api/contacts/{bob}").json()["contact"]["fields"]["all"]
    assert fields["gdpr_request"] in (None, "")  # out of the request segment: asking again is seen
    request_id = str(journal(site)[0]["request"])
    assert site.cli("requests", "show", request_id) == 0
    assert "expired unverified" in capsys.readouterr().out


def test_a_request_filed_without_the_form_gets_the_email_from_the_tool_once(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    made = site.api.post("/api/contacts/new", json={"email": "cleo@example.com", "firstname": "Cleo",
                                                    "gdpr_request": "forget"})
    cleo = int(made.json()["contact"]["id"])
    site.rebuild()
    verification = site.email_id("GDPR request received")
    for _ in range(2):
        assert site.cli("requests", "fulfil", "--yes") == 0
        assert "1 waiting for verification" in capsys.readouterr().out
    assert [(m["emailId"], m["contactId"]) for m in site.outbox()] == [(verification, cleo)]
    site.confirm(cleo)
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 done" in capsys.readouterr().out and site.api.get(f"/api/contacts/{cleo}").status_code == 404
    by = [(r.get("data") or {}).get("verify_by") for r in journal(site) if r["step"] == "verify_send"]
    assert by[-1] == "tool" and "tool" in by


def test_access_is_not_verified_by_default_but_can_be(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    alice = site.submit("Alice", "alice@example.com", "access")
    site.rebuild()
    assert site.cli("requests", "fulfil", "--dry-run") == 0
    assert "would run: export, deliver" in capsys.readouterr().out
    text = site.spec.read_text().replace("    expire_days: 14\n", "    expire_days: 14\n    access: true\n")
    site.spec.write_text(text)
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 waiting for verification" in capsys.readouterr().out
    assert not list((site.spec.parent / "exports").glob(f"*/access-{alice}-*"))


def test_killed_at_any_step_boundary_the_tool_sends_the_verification_once(site: Site) -> None:
    """The tool's own send is unrepeatable: killed anywhere around it, the rerun sends it only if Mautic has
    no stat of it."""
    verification = site.email_id("GDPR request received")
    for crash_at in range(1, 7):  # begin, verify_send start and done: a boundary before and after each
        made = site.api.post("/api/contacts/new", json={"email": f"cleo{crash_at}@example.com",
                                                        "gdpr_request": "forget"})
        cleo = int(made.json()["contact"]["id"])
        site.rebuild()
        base = len(site.outbox())
        assert _fulfil_in_child(site, crash_at) == CRASH_EXIT, f"boundary {crash_at} was not reached"
        assert _fulfil_and_hand_over(site) == 0, f"rerun after {crash_at}"
        sent = [(m["emailId"], m["contactId"]) for m in site.outbox()[base:]]
        assert sent == [(verification, cleo)], f"boundary {crash_at}"
        steps = [(r["step"], r["status"]) for r in journal(site) if r["contact"] == cleo]
        assert ("verify_send", "done") in steps and ("verify", "done") not in steps
