"""The GDPR request flow on a real Mautic, as a visitor and an operator live it.

The spec is applied; two people submit the public request form as a browser does (Mautic's own
``/form/submit``, no API); Mautic's segment cron runs; ``requests list`` and ``requests fulfil`` run. The
export is checked field by field against what Mautic holds, the erased contact answers 404, and each
notification is in Mautic's own records (the email's send count and the contact's timeline).
"""

from __future__ import annotations

import json

import httpx
from browser import request_form_body

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


def sent_count(api: httpx.Client, name: str) -> int:
    email = by_name(api, "/api/emails", "emails", name)
    return int(api.get(f"/api/emails/{email['id']}").json()["email"]["sentCount"] or 0)


def test_access_and_erasure_from_the_public_form_to_export_notification_and_404(
    mautic: RealMautic, tool: Tool
) -> None:
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    converge(tool, spec)
    state = ["--state-dir", str(tool.work / "state")]
    env = {"GDPR_AS_CODE_RECEIPT_KEY": RECEIPT_KEY}
    with mautic.api() as api:
        alice = submit(mautic, api, "Alice", "alice@example.com", "access")
        bob = submit(mautic, api, "Bob", "bob@example.com", "forget")
        mautic.cron()
        before = api.get(f"/api/contacts/{alice}").json()["contact"]
        sent_before = {n: sent_count(api, n) for n in ("GDPR data export sent", "GDPR erasure done")}

        listed = tool("requests", "list", spec, "--json", *state, env=env)
        assert listed.code == 0, listed.err
        rows = {row["contact"]: row for row in json.loads(listed.out)["requests"]}
        assert (rows[alice]["type"], rows[alice]["email"]) == ("access", "a***@example.com")
        assert (rows[bob]["type"], rows[bob]["email"]) == ("erasure", "b***@example.com")

        done = tool("requests", "fulfil", spec, "--yes", *state, env=env)
        assert done.code == 0 and "2 done, 0 failed, 0 skipped" in done.out, done.out + done.err
        assert "alice@" not in done.out + done.err and "bob@" not in done.out + done.err

        (folder,) = (tool.work / "exports").glob(f"*/access-{alice}-*")
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
