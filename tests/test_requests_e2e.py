"""The whole request lifecycle on the sandbox, over HTTP, as an operator and a website visitor would drive it.

The spec (configs/gdpr.yaml) is applied; people submit the request form through ``/form/submit`` as a browser
does; the filter-based segments are rebuilt (Mautic's cron); ``requests list`` and ``requests fulfil`` run
through the CLI. Nothing here is mocked: the sandbox serves every call.
"""

from __future__ import annotations

import io
import json
import multiprocessing
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import click, request_form_body, tracked_links
from headless import chromium, png_pixels

from gdpr_as_code.cli import main
from gdpr_as_code.dsr.erasure import RECEIPT_KEY_ENV, email_hash
from gdpr_as_code.dsr.journal import CRASH_ENV, CRASH_EXIT
from gdpr_as_code.spec import load_spec

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
KEY = "test-receipt-key-0123456789abcdef"


@dataclass
class Site:
    """A sandbox with the spec applied, and the operator's working folder."""

    url: str
    spec: Path
    state: Path
    api: httpx.Client
    control: httpx.Client

    def cli(self, *args: str) -> int:
        return main([args[0], args[1], str(self.spec), "--state-dir", str(self.state), *args[2:]])

    def submit(self, name: str, address: str, *choices: str, confirm: bool = True) -> int:
        """Post the request form as a browser does (no cookie: a new visitor); answers the contact id. Someone
        asking for erasure then ``confirm``s, as the person would: the link in the form's confirmation."""
        form = next(f for f in self.api.get("/api/forms").json()["forms"] if f["name"] == "GDPR request")
        body = request_form_body(form, name, address, list(choices))
        answer = httpx.post(
            f"{self.url}/form/submit",
            params={"formId": form["id"]},
            data=body,
            headers={"Referer": f"{self.url}/privacy"},
        )
        assert answer.status_code == 302, answer.text
        found = self.api.get("/api/contacts", params={"search": f"email:{address}"}).json()["contacts"]
        (contact,) = found.values()
        if confirm and "forget" in choices:
            self.confirm(int(contact["id"]))
        return int(contact["id"])

    def confirm(self, contact: int) -> None:
        """Click the verification link of the last email with tracked links this contact got."""
        pages = [m["body"] for m in self.outbox() if m["contactId"] == contact and tracked_links(m["body"])]
        assert pages, f"contact {contact} got no email with a tracked link"
        assert click(tracked_links(pages[-1])[0]).status_code == 302

    def rebuild(self) -> None:
        self.control.post("/segments/rebuild").raise_for_status()

    @contextmanager
    def clock(self, now: str) -> Iterator[None]:
        """The sandbox's clock at ``now`` inside the block, back to real time after it."""
        self.control.post("/clock", json={"now": now}).raise_for_status()
        try:
            yield
        finally:
            self.control.post("/clock", json={"now": None}).raise_for_status()

    def outbox(self) -> list[dict[str, Any]]:
        return self.control.get("/outbox").json()["messages"]

    def email_id(self, name: str) -> int:
        return int(
            next(e["id"] for e in self.api.get("/api/emails").json()["emails"].values() if e["name"] == name)
        )


@pytest.fixture
def site(sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Site:
    work = tmp_path / "ops"
    shutil.copytree(CONFIGS, work, ignore=shutil.ignore_patterns("*.example.yaml"))
    for name, value in {
        "MAUTIC_URL": sandbox.url,
        "MAUTIC_USERNAME": "admin",
        "MAUTIC_PASSWORD": "sandbox",
        RECEIPT_KEY_ENV: KEY,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MAUTIC_CLIENT_ID", raising=False)
    spec = work / "gdpr.yaml"
    assert main(["apply", str(spec), "--auto-approve"]) == 0
    api = httpx.Client(base_url=sandbox.url, auth=("admin", "sandbox"), timeout=10)
    control = httpx.Client(base_url=sandbox.url + "/_sandbox", timeout=10)
    return Site(sandbox.url, spec, tmp_path / "state", api, control)


def test_access_and_erasure_from_form_submit_to_export_notification_and_404(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = site.submit("Alice", "alice@example.com", "access")
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    before = site.api.get(f"/api/contacts/{alice}").json()["contact"]
    confirmations = len(site.outbox())  # the form's own "request received" emails

    capsys.readouterr()
    assert site.cli("requests", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    rows = {row["contact"]: row for row in listed["requests"]}
    assert rows[alice]["type"] == "access" and rows[alice]["email"] == "a***@example.com"
    assert rows[bob]["type"] == "erasure" and rows[bob]["email"] == "b***@example.com"
    assert not rows[alice]["overdue"] and rows[alice]["days_left"] == 30

    assert site.cli("requests", "fulfil", "--yes") == 0
    out = capsys.readouterr()
    # Bob is erased; Alice's export waits in the delivery folder, and the summary says where.
    assert "1 done, 0 failed, 0 skipped, 1 waiting for hand-over" in out.out
    (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
    assert f"waiting  {folder.name}: export in {folder}" in out.out
    assert "@" not in out.out.replace("a***@example.com", "").replace("b***@example.com", "")
    waiting = [(m["emailId"], m["contactId"]) for m in site.outbox()[confirmations:]]
    assert waiting == [(site.email_id("GDPR erasure done"), bob)]  # no "your data" before she has it
    assert site.cli("requests", "fulfil", "--yes") == 0  # still waiting: nothing sent
    assert len(site.outbox()) == confirmations + 1
    capsys.readouterr()
    assert site.cli("requests", "delivered", folder.name) == 0
    assert "1 done, 0 failed, 0 skipped" in capsys.readouterr().out

    # The export holds what Mautic holds, field by field.
    data = json.loads((folder / "data.json").read_text())
    expected = {k: v for k, v in before["fields"]["all"].items() if k != "id"}
    assert data["fields"] == expected
    assert data["fields"]["email"] == "alice@example.com" and data["fields"]["firstname"] == "Alice"
    assert data["fields"]["gdpr_request"] == "access"
    assert data["contact"]["id"] == alice and data["contact"]["ipAddresses"] == before["ipAddresses"]
    (submission,) = data["formSubmissions"]
    assert submission["results"]["email"] == "alice@example.com"
    assert {s["alias"] for s in data["segments"]} >= {"data-requested"}
    assert any(e["event"] == "form.submitted" for e in data["activity"])
    # ... and what is kept, why and for how long, from the spec's data inventory (the right to know).
    identity = next(p for p in data["processing"] if p["data"] == "Name and email address")
    assert identity == {
        "data": "Name and email address",
        "contactFields": ["firstname", "lastname", "email"],
        "purpose": "To answer your requests and send the emails you asked for",
        "legalBasis": "consent",
        "retention": "1095 days from last active",
    }
    assert len(data["processing"]) == len(load_spec(site.spec).gdpr.data_inventory)
    header, row = (folder / "contact.csv").read_text().splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["email"] == "alice@example.com"
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert {oct(p.stat().st_mode & 0o777) for p in folder.iterdir()} == {"0o600"}

    # Alice is done: her request is taken off the request field, so Mautic's next rebuild drops her from the
    # filter-based segment (and would add her again if she asked again). Bob is gone.
    fields = site.api.get(f"/api/contacts/{alice}").json()["contact"]["fields"]["all"]
    assert fields["gdpr_request"] in (None, "")
    site.rebuild()
    segments = site.api.get(f"/api/contacts/{alice}/segments").json()["lists"]
    assert "data-requested" not in {s["alias"] for s in (segments.values() if segments else [])}
    assert site.api.get(f"/api/contacts/{bob}").status_code == 404

    # One notification each, the right email to the right person.
    sent = [(m["emailId"], m["contactId"]) for m in site.outbox()[confirmations:]]
    assert sorted(sent) == sorted(
        [(site.email_id("GDPR data export sent"), alice), (site.email_id("GDPR erasure done"), bob)]
    )

    # The evidence: every step in the audit log, and a receipt without the address.
    state = site.state
    audit_text = (state / "audit.jsonl").read_text()
    assert "@" not in audit_text and "alice" not in audit_text.lower() and "bob" not in audit_text.lower()
    steps = {(line["contact"], line["step"]) for line in map(json.loads, audit_text.splitlines())}
    assert {(alice, s) for s in ("export", "deliver", "delivered", "notify", "mark_done", "finish")} <= steps
    assert {(bob, s) for s in ("receipt", "notify", "delete", "confirm", "finish")} <= steps
    (receipt,) = [json.loads(line) for line in (state / "receipts.jsonl").read_text().splitlines()]
    assert receipt["contact"] == bob and receipt["email_hmac"] == email_hash(KEY.encode(), "bob@example.com")

    # Nothing pending any more; a rerun does nothing and sends nothing.
    assert site.cli("requests", "list") == 0
    assert "No pending GDPR requests" in capsys.readouterr().out
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert len(site.outbox()) == confirmations + 2


def test_dry_run_shows_the_steps_and_touches_nothing(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    sent = len(site.outbox())
    capsys.readouterr()
    assert site.cli("requests", "fulfil", "--dry-run") == 0
    out = capsys.readouterr().out
    assert f"erasure-{bob}-" in out and "would run: verify, receipt, notify, delete, confirm" in out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200
    assert len(site.outbox()) == sent
    assert not site.state.exists()


def test_without_a_terminal_erasures_are_refused_unless_yes(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = site.submit("Alice", "alice@example.com", "access")
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    capsys.readouterr()
    assert site.cli("requests", "fulfil") == 1  # pytest's stdin is not a terminal
    out = capsys.readouterr().out
    assert "0 done, 0 failed, 1 skipped, 1 waiting for hand-over" in out and "rerun with --yes" in out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200
    assert f"waiting  access-{alice}-" in out  # its export is in the folder, waiting for `delivered`


def test_an_erasure_waits_for_the_access_request_of_the_same_person(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    carol = site.submit("Carol", "carol@example.com", "access", "forget")  # both boxes ticked
    site.rebuild()
    capsys.readouterr()
    assert site.cli("requests", "fulfil", "--type", "erasure", "--yes") == 0
    assert "access request that is not finished" in capsys.readouterr().out
    assert site.api.get(f"/api/contacts/{carol}").status_code == 200
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 skipped, 1 waiting for hand-over" in capsys.readouterr().out  # the export is not hers yet
    (export,) = (site.spec.parent / "exports").glob(f"*/access-{carol}-*/data.json")
    assert site.cli("requests", "delivered", export.parent.name) == 0
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "1 done, 0 failed, 0 skipped" in capsys.readouterr().out
    assert site.api.get(f"/api/contacts/{carol}").status_code == 404


def test_list_exits_2_when_a_request_is_past_the_deadline(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with site.clock("2026-01-01T10:00:00+00:00"):
        alice = site.submit("Alice", "alice@example.com", "access")
        site.rebuild()
    capsys.readouterr()
    assert site.cli("requests", "list") == 2
    out = capsys.readouterr().out
    assert f"{alice}" in out and "OVERDUE" in out and "1 pending, 1 overdue" in out


def test_erasures_need_the_receipt_key(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    monkeypatch.delenv(RECEIPT_KEY_ENV)
    assert site.cli("requests", "fulfil", "--yes") == 1
    err = capsys.readouterr().err
    assert f"{RECEIPT_KEY_ENV} is not set" in err and "Traceback" not in err
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200


def test_retention_lists_and_erases_contacts_inactive_too_long(
    site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    with site.clock("2023-01-01T10:00:00+00:00"):
        old = site.submit("Olga", "olga@example.com", "access")
    recent = site.submit("Rita", "rita@example.com", "access")
    capsys.readouterr()
    assert site.cli("requests", "retention", "--json") == 2
    rows = json.loads(capsys.readouterr().out)["requests"]
    assert [(row["contact"], row["email"]) for row in rows] == [(old, "o***@example.com")]
    assert site.cli("requests", "retention", "--erase", "--yes") == 0
    assert site.api.get(f"/api/contacts/{old}").status_code == 404
    assert site.api.get(f"/api/contacts/{recent}").status_code == 200
    (receipt,) = [json.loads(line) for line in (site.state / "receipts.jsonl").read_text().splitlines()]
    assert receipt["type"] == "retention" and receipt["email_hmac"] == email_hash(
        KEY.encode(), "olga@example.com"
    )


# --- crash safety: the process killed at every step boundary, then rerun ---


def _fulfil_in_child(site: Site, crash_at: int) -> int:
    """Run ``requests fulfil`` in a forked child that ``os._exit``s at boundary ``crash_at``; its exit code.

    Fork rather than spawn: the child inherits the imported modules, so forty kills cost well under a second
    each; it talks to the sandbox over HTTP like any other process."""

    def child() -> None:
        os.environ[CRASH_ENV] = str(crash_at)
        os._exit(_fulfil_and_hand_over(site))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode is not None, "the child hung"
    return process.exitcode


def _fulfil_and_hand_over(site: Site) -> int:
    """``requests fulfil``, then ``requests delivered`` for each export it left waiting: a whole round."""
    code = site.cli("requests", "fulfil", "--yes", "--workers", "1")
    journal = site.state / "journal.jsonl"
    records = [json.loads(line) for line in journal.read_text().splitlines()] if journal.exists() else []
    done = {r["request"] for r in records if r["step"] == "delivered" and r["status"] == "done"}
    waiting = {r["request"] for r in records if r["step"] == "deliver" and r["status"] == "done"} - done
    for request_id in sorted(waiting):
        code = max(code, site.cli("requests", "delivered", request_id, "--workers", "1"))
    return code


def _two_requests(site: Site, n: int) -> tuple[int, int]:
    """File one access and one erasure request by two new people (earlier rounds' requests are finished)."""
    alice = site.submit(f"Alice{n}", f"alice{n}@example.com", "access")
    bob = site.submit(f"Bob{n}", f"bob{n}@example.com", "forget")
    site.rebuild()
    return alice, bob


@pytest.mark.timeout(600)  # about 45 rounds of two requests, each killed once and finished by a rerun
def test_killed_at_any_step_boundary_a_rerun_loses_nothing_and_sends_nothing_twice(site: Site) -> None:
    journal = site.state / "journal.jsonl"
    _two_requests(site, 0)
    assert _fulfil_and_hand_over(site) == 0
    boundaries = 2 * len(journal.read_text().splitlines())  # one record: a boundary before it and after it
    export_email, erasure_email = site.email_id("GDPR data export sent"), site.email_id("GDPR erasure done")
    assert boundaries >= 30

    for crash_at in range(1, boundaries + 1):
        alice, bob = _two_requests(site, crash_at)
        base, lines = len(site.outbox()), len(journal.read_text().splitlines())
        assert _fulfil_in_child(site, crash_at) == CRASH_EXIT, f"boundary {crash_at} was not reached"
        assert len(journal.read_text().splitlines()) - lines == crash_at // 2, f"boundary {crash_at}"
        sent = [(m["emailId"], m["contactId"]) for m in site.outbox()[base:]]
        assert len(sent) == len(set(sent)), f"sent twice before boundary {crash_at}"
        if site.api.get(f"/api/contacts/{bob}").status_code == 404:
            assert (erasure_email, bob) in sent, f"deleted before notified (boundary {crash_at})"

        assert _fulfil_and_hand_over(site) == 0, f"rerun after {crash_at}"
        sent = [(m["emailId"], m["contactId"]) for m in site.outbox()[base:]]
        assert sorted(sent) == sorted([(export_email, alice), (erasure_email, bob)]), f"boundary {crash_at}"
        (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
        assert (
            json.loads((folder / "data.json").read_text())["fields"]["email"]
            == f"alice{crash_at}@example.com"
        )
        assert site.api.get(f"/api/contacts/{bob}").status_code == 404
        receipts = [json.loads(line) for line in (site.state / "receipts.jsonl").read_text().splitlines()]
        assert [r["contact"] for r in receipts].count(bob) == 1, f"boundary {crash_at}"
        assert "@" not in (site.state / "audit.jsonl").read_text()


class _Terminal(io.StringIO):
    """Standard input as a terminal on which the operator types ``value``."""

    def isatty(self) -> bool:
        return True


def test_on_a_terminal_fulfil_asks_before_erasing(
    site: Site, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    capsys.readouterr()
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))
    assert site.cli("requests", "fulfil") == 1
    out, err = capsys.readouterr()
    assert "Erase 1 contact(s) from" in err and "not confirmed" in out
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    assert site.cli("requests", "fulfil") == 0
    assert site.api.get(f"/api/contacts/{bob}").status_code == 404


def test_the_html_report_renders_in_a_real_browser(site: Site, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``requests list --format html``: one self-contained page (no script, nothing fetched) with each
    request's age against the deadline and the consent text live in Mautic, rendered by headless chromium."""
    with site.clock("2026-01-01T10:00:00+00:00"):
        alice = site.submit("Alice", "alice@example.com", "access")
        site.rebuild()
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    focus = next(iter(site.api.get("/api/focus").json()["focus"]))
    focus_id = focus["id"] if isinstance(focus, dict) else int(focus)
    edited = {"properties": {"content": {"headline": "Cookies!", "tagline": "Edited by hand."}}}
    site.api.patch(f"/api/focus/{focus_id}/edit", json=edited).raise_for_status()
    capsys.readouterr()
    assert site.cli("requests", "list", "--format", "html") == 2  # Alice's request is overdue
    page = capsys.readouterr().out
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "http" not in page.split("<body")[0]  # nothing fetched: no link, font or style from elsewhere
    assert "alice@example.com" not in page and "bob@example.com" not in page  # masked, as in the table
    report = tmp_path / "report.html"
    report.write_text(page)

    dom = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile").stdout
    for text in ("GDPR requests", "Pending requests", "2 pending", "1 overdue", str(alice), str(bob),
                 "Consent text live in Mautic", "Cookies! Edited by hand.", "differs from the spec"):
        assert text in dom, text
    assert "Consent box of form.gdpr_request" not in dom  # the request form carries none (Art. 7(4))
    assert dom.count("<svg") == 2  # one deadline bar per request

    shot = tmp_path / "report.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1000,900", report.as_uri(),
                      profile=tmp_path / "profile")
    assert shot.is_file(), result.stderr
    width, height, rows = png_pixels(shot)
    colours = {row[x:x + 3] for row in rows[::9] for x in range(0, width * 3, 27)}
    assert (width, height) == (1000, 900) and len(colours) > 8  # text, table lines, bars: not a blank page
    pdf = tmp_path / "report.pdf"
    chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", report.as_uri(), profile=tmp_path / "profile")
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 5_000


def test_list_warns_when_the_segment_cron_looks_stale(site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    """A request form submission newer than every request segment membership: the cron has not run."""
    with site.clock("2026-12-01T10:00:00+00:00"):
        site.submit("Alice", "alice@example.com", "access")
        site.rebuild()
    assert site.cli("requests", "list") == 0
    assert "looks stale" not in capsys.readouterr().out
    with site.clock("2026-12-01T10:05:00+00:00"):
        site.submit("Bob", "bob@example.com", "forget")  # no rebuild: Mautic's cron did not run
    assert site.cli("requests", "list") == 0
    out = capsys.readouterr().out
    assert "1 submission(s) of the request form" in out and "mautic:segments:update" in out, out
    site.rebuild()
    assert site.cli("requests", "list") == 0
    assert "looks stale" not in capsys.readouterr().out
