"""The GDPR request flow on a real Mautic, as a visitor and an operator live it.

The spec is applied; two people submit the public request form as a browser does (Mautic's own
``/form/submit``, no API); Mautic's segment cron runs; ``requests list`` and ``requests fulfil`` run. The
export is checked field by field against what Mautic holds, the erased contact answers 404, and each
notification is in Mautic's own records (the email's send count and the contact's timeline). Whoever asks
for erasure confirms it as the person would: the form's confirmation email as Mautic sent it (its web view),
the tracked link in it clicked by a browser; an unconfirmed erasure waits, then expires.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from browser import click, request_form_body, tracked_links

from .conftest import RealMautic
from .test_setup_journeys import by_name, converge
from .tooling import Tool

RECEIPT_KEY = "acceptance-receipt-key-0123456789abcdef"


def submit(mautic: RealMautic, api: httpx.Client, name: str, address: str, choice: str) -> int:
    """Post the request form as a new visitor's browser does; answers the contact Mautic made."""
    form = api.get(f"/api/forms/{by_name(api, '/api/forms', 'forms', 'GDPR request')['id']}").json()["form"]
    body = request_form_body(form, name, address, [choice])
    posted = httpx.post(f"{mautic.proxy.url}/form/submit", params={"formId": form["id"]}, data=body,
                        headers={"Referer": f"{mautic.url}/privacy"}, timeout=120)
    assert posted.status_code in (200, 302), posted.text[:300]
    found = api.get("/api/contacts", params={"search": f"email:{address}"}).json()["contacts"]
    (contact,) = found.values()
    return int(contact["id"])


def confirm(mautic: RealMautic, api: httpx.Client, contact: int) -> None:
    """The person opens the request form's confirmation as Mautic sent it (``/email/view/{tracking hash}``,
    the hash from the email's stat) and clicks its link in a browser; both through the recording proxy."""
    stats = api.get("/api/stats/email_stats", params={
        "where[0][col]": "lead_id", "where[0][expr]": "eq", "where[0][val]": str(contact)}).json()["stats"]
    (stat,) = [s for s in stats if s.get("source") == "form"]  # the form's action sent it at submission
    page = httpx.get(f"{mautic.proxy.url}/email/view/{stat['tracking_hash']}", timeout=120)
    assert page.status_code == 200, page.text[:300]
    (link, *_) = tracked_links(page.text)
    assert "/r/" in link and "ct=" in link, link
    assert click(link.replace(mautic.url, mautic.proxy.url)).status_code == 302


def ready(mautic: RealMautic, tool: Tool) -> tuple[Path, list[str], dict[str, str]]:
    """The spec applied to the instance; the state folder option and the receipt key every command takes."""
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    converge(tool, spec)
    return spec, ["--state-dir", str(tool.work / "state")], {"GDPR_AS_CODE_RECEIPT_KEY": RECEIPT_KEY}


def sent_count(api: httpx.Client, name: str) -> int:
    email = by_name(api, "/api/emails", "emails", name)
    return int(api.get(f"/api/emails/{email['id']}").json()["email"]["sentCount"] or 0)


def test_access_and_erasure_from_the_public_form_to_export_notification_and_404(
    mautic: RealMautic, tool: Tool
) -> None:
    spec, state, env = ready(mautic, tool)
    with mautic.api() as api:
        alice = submit(mautic, api, "Alice", "alice@example.com", "access")
        bob = submit(mautic, api, "Bob", "bob@example.com", "forget")
        confirm(mautic, api, bob)
        mautic.cron()
        before = api.get(f"/api/contacts/{alice}").json()["contact"]
        sent_before = {n: sent_count(api, n) for n in ("GDPR data export sent", "GDPR erasure done")}

        listed = tool("requests", "list", spec, "--json", *state, env=env)
        assert listed.code == 0, listed.err
        rows = {row["contact"]: row for row in json.loads(listed.out)["requests"]}
        assert (rows[alice]["type"], rows[alice]["email"]) == ("access", "a***@example.com")
        assert (rows[bob]["type"], rows[bob]["email"]) == ("erasure", "b***@example.com")

        done = tool("requests", "fulfil", spec, "--yes", *state, env=env)
        assert done.code == 0, done.out + done.err
        assert "1 done, 0 failed, 0 skipped, 1 waiting for hand-over" in done.out, done.out
        assert "alice@" not in done.out + done.err and "bob@" not in done.out + done.err
        (folder,) = (tool.work / "exports").glob(f"*/access-{alice}-*")
        assert f"export in {folder}" in done.out  # where the export went
        # Folder delivery: no "your data" email before the operator says the person has it.
        assert sent_count(api, "GDPR data export sent") == sent_before["GDPR data export sent"]
        handed = tool("requests", "delivered", spec, folder.name, *state, env=env)
        assert handed.code == 0 and "1 done, 0 failed" in handed.out, handed.out + handed.err

        data = json.loads((folder / "data.json").read_text())
        assert data["fields"] == {k: v for k, v in before["fields"]["all"].items() if k != "id"}
        assert data["fields"]["email"] == "alice@example.com" and data["fields"]["firstname"] == "Alice"
        assert data["contact"]["ipAddresses"] == before["ipAddresses"]
        (submission,) = data["formSubmissions"]
        assert submission["results"]["email"] == "alice@example.com"
        assert "data-requested" in {s["alias"] for s in data["segments"]}
        assert any(e["event"] == "form.submitted" for e in data["activity"])

        assert api.get(f"/api/contacts/{bob}").status_code == 404
        assert api.get(f"/api/contacts/{alice}").status_code == 200
        # Mautic's own record of each notification: one more send of the right email each.
        assert {n: sent_count(api, n) - c for n, c in sent_before.items()} == {
            "GDPR data export sent": 1, "GDPR erasure done": 1}
        events = api.get(f"/api/contacts/{alice}/activity", params={"limit": 100}).json()["events"]
        assert any(e["event"] == "email.sent" and "Your personal data" in json.dumps(e) for e in events)

    again = tool("requests", "fulfil", spec, "--yes", *state, env=env)
    assert again.code == 0, again.err
    with mautic.api() as api:
        assert sent_count(api, "GDPR erasure done") - sent_before["GDPR erasure done"] == 1  # nothing twice

    # The case as the privacy team reads it, and the receipts as the answer to "did we erase Bob?".
    shown = tool("requests", "show", spec, folder.name, *state, env=env)
    assert shown.code == 0, shown.err
    for event in ("received", "exported", "delivered", "notified", "closed"):
        assert event in shown.out, shown.out
    assert "a***@example.com" in shown.out and "alice@" not in shown.out
    verified = tool("requests", "verify-erasure", spec, "Bob@Example.com", *state, env=env)
    assert verified.code == 0 and f"receipt erasure-{bob}-" in verified.out, verified.out + verified.err
    assert tool("requests", "verify-erasure", spec, "nobody@example.com", *state, env=env).code == 1


def listing(tool: Tool, spec: Path, state: list[str]) -> dict[int, dict[str, Any]]:
    """``requests list --json``'s rows by contact id."""
    listed = tool("requests", "list", spec, "--json", *state)
    assert listed.code in (0, 2), listed.err
    return {row["contact"]: row for row in json.loads(listed.out)["requests"]}


def test_extend_refuse_and_an_erased_person_imported_again(mautic: RealMautic, tool: Tool) -> None:
    """Art. 12(3) and 12(4) on a real Mautic, and marketing's re-import of an erased address."""
    spec, state, env = ready(mautic, tool)
    with mautic.api() as api:
        carol = submit(mautic, api, "Carol", "carol@example.com", "access")
        dave = submit(mautic, api, "Dave", "dave@example.com", "forget")
        erin = submit(mautic, api, "Erin", "erin@example.com", "forget")
        confirm(mautic, api, erin)
        mautic.cron()
        rows = listing(tool, spec, state)
        sent = {n: sent_count(api, n) for n in ("GDPR request extended", "GDPR request refused")}

        extended = tool("requests", "extend", spec, rows[carol]["request"], "--reason",
                        "many requests this month", *state, env=env)
        assert extended.code == 0 and "extended by 61 days" in extended.out, extended.out + extended.err
        again = tool("requests", "extend", spec, rows[carol]["request"], "--reason", "x", *state, env=env)
        assert again.code != 0 and "extended already" in again.err and "Traceback" not in again.err
        refused = tool("requests", "refuse", spec, rows[dave]["request"], "--reason", "manifestly unfounded",
                       *state, env=env)
        assert refused.code == 0 and "refused and closed" in refused.out, refused.out + refused.err
        assert {n: sent_count(api, n) - c for n, c in sent.items()} == {
            "GDPR request extended": 1, "GDPR request refused": 1}
        events = api.get(f"/api/contacts/{dave}/activity", params={"limit": 100}).json()["events"]
        assert any(e["event"] == "email.sent" and "About your request" in json.dumps(e) for e in events)
        listed = listing(tool, spec, state)
        assert listed[carol]["extended"] and listed[carol]["days_left"] == 91  # 30 + 61
        assert dave not in listed and api.get(f"/api/contacts/{dave}").status_code == 200  # refused: kept

        erased = tool("requests", "fulfil", spec, "--type", "erasure", "--yes", *state, env=env)
        assert erased.code == 0 and api.get(f"/api/contacts/{erin}").status_code == 404, erased.out
        # Marketing imports an old list: Erin is back.
        back = api.post("/api/contacts/new", json={"email": "erin@example.com", "firstname": "Erin"})
        back_id = int(back.json()["contact"]["id"])
        found = tool("requests", "reimported", spec, *state, env=env)
        assert found.code == 2 and f"contact {back_id:>7}" in found.out and "e***@example.com" in found.out
        assert "erin@" not in found.out
        again_erased = tool("requests", "reimported", spec, "--erase", "--yes", *state, env=env)
        assert again_erased.code == 0 and "1 done" in again_erased.out, again_erased.out + again_erased.err
        assert api.get(f"/api/contacts/{back_id}").status_code == 404
    journal = (tool.work / "state" / "journal.jsonl").read_text()
    assert f'"request":"reimport-{back_id}-' in journal  # journaled as a re-import


def test_an_erasure_goes_ahead_only_once_the_person_clicks_and_an_unclicked_one_expires(
    mautic: RealMautic, tool: Tool
) -> None:
    """Identity verification on a real Mautic: Mautic's own tracked link, clicked from the mailbox, is the
    proof; a forged click-through naming the victim proves nothing; unclicked, the request lapses."""
    spec, state, env = ready(mautic, tool)
    with mautic.api() as api:
        bob = submit(mautic, api, "Bob", "bob@example.com", "forget")
        vic = submit(mautic, api, "Vic", "vic@example.com", "forget")  # typed in by somebody else
        mautic.cron()
        sent_before = sent_count(api, "GDPR erasure done")
        waiting = tool("requests", "fulfil", spec, "--yes", *state, env=env)
        two = "0 done, 0 failed, 0 skipped, 2 waiting for verification"
        assert waiting.code == 0 and two in waiting.out, waiting.out + waiting.err
        rows = listing(tool, spec, state)
        assert rows[bob]["verification"] == rows[vic]["verification"] == "awaiting"

        # Whoever typed Vic's address has no mailbox to read: a click-through naming Vic, with a made-up stat.
        email = by_name(api, "/api/emails", "emails", "GDPR request received")
        stats = api.get("/api/stats/email_stats", params={"where[0][col]": "lead_id", "where[0][expr]": "eq",
                                                          "where[0][val]": str(vic)}).json()["stats"]
        view = httpx.get(f"{mautic.proxy.url}/email/view/{stats[0]['tracking_hash']}", timeout=120).text
        redirect = tracked_links(view)[0].split("/r/", 1)[1].split("?", 1)[0]
        forged = (f'a:5:{{s:6:"source";a:2:{{i:0;s:4:"form";i:1;i:1;}}s:5:"email";i:{email["id"]};'
                  f's:4:"stat";s:22:"{"0" * 22}";s:4:"lead";s:{len(str(vic))}:"{vic}";'
                  f's:7:"channel";a:1:{{s:5:"email";i:{email["id"]};}}}}')
        ct = base64.b64encode(forged.encode()).decode()
        assert click(f"{mautic.proxy.url}/r/{redirect}?ct={quote(ct, safe='')}").status_code == 302
        confirm(mautic, api, bob)  # Bob reads his mailbox and clicks

        done = tool("requests", "fulfil", spec, "--yes", *state, env=env)
        assert done.code == 0 and "1 done, 0 failed, 0 skipped, 1 waiting for verification" in done.out, (
            done.out + done.err)
        assert api.get(f"/api/contacts/{bob}").status_code == 404
        assert api.get(f"/api/contacts/{vic}").status_code == 200
        hits = api.get("/api/stats/page_hits").json()["stats"]
        leads = [h.get("lead_id") for h in hits]  # Bob's click: lead_id null since he was deleted
        assert len(hits) == 2 and str(vic) not in leads  # the forged one is on a new anonymous contact

        later = (datetime.now(UTC) + timedelta(days=15)).isoformat(timespec="seconds")
        fortnight = {**env, "GDPR_AS_CODE_TEST_NOW": later}  # the tool's clock, 15 days on
        expired = tool("requests", "fulfil", spec, "--yes", *state, env=fortnight)
        assert expired.code == 0 and "1 expired unverified" in expired.out, expired.out + expired.err
        assert api.get(f"/api/contacts/{vic}").status_code == 200  # not erased
        assert sent_count(api, "GDPR erasure done") - sent_before == 1  # Bob's only
        listed = tool("requests", "list", spec, "--json", *state, env=fortnight)
        assert [row["contact"] for row in json.loads(listed.out)["expired"]] == [vic], listed.out + listed.err

    journal = [json.loads(line) for line in (tool.work / "state" / "journal.jsonl").read_text().splitlines()]
    steps = {(r["contact"], r["step"], r["status"]) for r in journal}
    assert {(bob, "verify_send", "done"), (bob, "verify", "done"), (bob, "delete", "done")} <= steps
    assert {(vic, "verify_send", "done"), (vic, "expire", "done")} <= steps
    assert (vic, "verify", "done") not in steps and (vic, "delete", "start") not in steps
    bob_request = next(str(r["request"]) for r in journal if r["contact"] == bob)
    shown = tool("requests", "show", spec, bob_request, *state, env=env)
    for event in ("received", "verification sent", "verified", "notified", "erased", "closed"):
        assert event in shown.out, shown.out + shown.err
