"""Click tracking in the sandbox, as real 5.1.0 and 7.0.2 do it (recorded verification sessions): links
rewritten on send, the web view, the page hit of a click, and a forged click-through that proves nothing."""

from __future__ import annotations

import base64
import re
from typing import Any

import httpx

from gdpr_as_code.sandbox import Sandbox
from gdpr_as_code.sandbox.php import php_serialize
from gdpr_as_code.sandbox.tracking import php_unserialize

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"}


def _stats(api: httpx.Client, table: str, contact: int) -> list[dict[str, Any]]:
    params = {"where[0][col]": "lead_id", "where[0][expr]": "in", "where[0][val]": str(contact)}
    return api.get(f"/api/stats/{table}", params=params).json()["stats"]


def _sent(api: httpx.Client, address: str) -> tuple[int, int, dict[str, Any]]:
    """An email with a link sent to a new contact through the API: ids and the send's stat."""
    contact = api.post("/api/contacts/new", json={"email": address, "firstname": "Vic"}).json()["contact"]
    body = '<p>Hi {contactfield=firstname}, <a href="https://www.example.com/confirm">confirm</a></p>'
    email = api.post("/api/emails/new", json={"name": "Verify", "subject": "Verify", "customHtml": body})
    email_id = int(email.json()["email"]["id"])
    assert api.post(f"/api/emails/{email_id}/contact/{contact['id']}/send").json() == {"success": True}
    (stat,) = _stats(api, "email_stats", int(contact["id"]))
    return int(contact["id"]), email_id, stat


def _link(sandbox: Sandbox, stat: dict[str, Any]) -> str:
    page = httpx.get(f"{sandbox.url}/email/view/{stat['tracking_hash']}")
    assert page.status_code == 200 and "Hi Vic" in page.text
    found = re.search(r'href="([^"]+/r/[^"]+)"', page.text)
    assert found is not None, page.text
    return found.group(1).replace("&amp;", "&")


def test_a_click_on_the_sent_link_records_a_hit_for_the_contact(sandbox: Sandbox, api: httpx.Client) -> None:
    contact, email_id, stat = _sent(api, "vic@example.com")
    assert (stat["source"], stat["source_id"], stat["open_count"]) == ("api", "0", "0")
    link = _link(sandbox, stat)
    ct = php_unserialize(base64.b64decode(httpx.URL(link).params["ct"]).decode())
    assert ct == {"source": {0: "api", 1: 0}, "email": email_id, "stat": stat["tracking_hash"],
                  "lead": str(contact), "channel": {"email": email_id}}
    followed = httpx.get(link, headers={"User-Agent": "curl/8.0"})
    assert followed.status_code == 302 and _stats(api, "page_hits", contact) == []  # curl: on the bot list
    clicked = httpx.get(link, headers=BROWSER)
    assert clicked.status_code == 302
    assert clicked.headers["location"].startswith("https://www.example.com/confirm?ct=")
    (hit,) = _stats(api, "page_hits", contact)
    assert (hit["email_id"], hit["lead_id"]) == (str(email_id), str(contact))
    assert (hit["source"], hit["code"]) == ("email", "200")
    assert f's:4:"stat";s:22:"{stat["tracking_hash"]}"' in hit["query"]
    assert _stats(api, "email_stats", contact)[0]["is_read"] == "1"


def test_a_forged_click_through_lands_on_a_new_anonymous_contact(sandbox: Sandbox, api: httpx.Client) -> None:
    contact, email_id, stat = _sent(api, "vic@example.com")
    redirect = re.search(r"/r/([0-9a-f]+)", _link(sandbox, stat)).group(1)  # type: ignore[union-attr]
    forged = {"source": ["api", 0], "email": email_id, "stat": "f" * 22, "lead": str(contact),
              "channel": {"email": email_id}}
    ct = base64.b64encode(php_serialize(forged).encode()).decode()
    assert httpx.get(f"{sandbox.url}/r/{redirect}", params={"ct": ct}, headers=BROWSER).status_code == 302
    assert _stats(api, "page_hits", contact) == []
    hits = api.get("/api/stats/page_hits").json()["stats"]
    assert len(hits) == 1 and hits[0]["lead_id"] != str(contact)
    stranger = api.get(f"/api/contacts/{hits[0]['lead_id']}").json()["contact"]
    assert stranger["fields"]["all"]["email"] in (None, "")
    assert httpx.get(f"{sandbox.url}/r/nothere", headers=BROWSER).status_code == 404
    assert httpx.get(f"{sandbox.url}/email/view/nothere").status_code == 404


def test_seven_puts_the_send_time_into_the_click_through() -> None:
    with Sandbox(mautic_version="7.0") as seven:
        api = httpx.Client(base_url=seven.url, auth=("admin", "sandbox"))
        _, _, stat = _sent(api, "vic@example.com")
        ct = php_unserialize(base64.b64decode(httpx.URL(_link(seven, stat)).params["ct"]).decode())
        assert list(ct) == ["source", "email", "stat", "sent_time", "lead", "channel"]
        api.close()
