"""Click tracking: the links of a sent email, its web view, and the page hit a click records.

Measured on real 5.1.0 and 7.0.2 (tests/recorded/*/verification; PageBundle PublicController::redirectAction,
EmailBundle TrackingSubscriber::onIdentifyContact, CoreBundle IpLookupHelper):

- on send, every ``href="http(s)://..."`` becomes ``{site}/r/{redirect id}?ct={click-through}&``: one
  redirect (25 hex characters) per URL, and the click-through is base64 of a PHP-serialised array
  ``source: [source, id], email: id, stat: tracking hash, lead: "id", channel: {email: id}`` (7.0 adds
  ``sent_time`` after ``stat``);
- ``GET /email/view/{tracking hash}`` shows the email as sent and counts an open; an unknown hash is a 404;
- ``GET /r/{id}`` answers a 302 to the URL with the query appended; with a ``ct`` and a user agent not on
  Mautic's do-not-track list (curl, Wget, python-requests, ...) it records a ``page_hits`` row. The contact is
  the stat's when a stat has that tracking hash and the email id matches; otherwise the browser's tracked
  contact, which for a browser without cookies is a new anonymous one (a forged ``ct`` cannot name a victim).
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.http import Request, Response
from gdpr_as_code.sandbox.php import php_serialize, php_unserialize
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

HTML = "text/html; charset=UTF-8"
LINK = re.compile(r"""(<a\s[^>]*?href=)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
# Part of Mautic's default ``do_not_track_bots`` (CoreBundle/Config/config.php): no hit for these agents.
BOTS = ("curl", "Wget", "python-requests", "Python-urllib", "Apache-HttpClient", "Googlebot", "bingbot")
NOT_FOUND_PAGE = b"<!DOCTYPE html>\n<html><head><title>404</title></head><body>Not found.</body></html>\n"


def click_through(stat: dict[str, Any], sent_time: bool) -> str:
    """The ``ct`` of a send: which email, stat and contact a click comes from."""
    email_id = int(stat["email"])
    ct: dict[str, Any] = {"source": [stat["source"], int(stat["sourceId"])], "email": email_id,
                          "stat": stat["idHash"]}
    if sent_time:
        ct["sent_time"] = int(datetime.fromisoformat(stat["dateSent"]).timestamp())
    ct.update(lead=str(stat["contact"]), channel={"email": email_id})
    return base64.b64encode(php_serialize(ct).encode()).decode()


def rewrite_links(store: Store, html: str, stat: dict[str, Any], site: str, sent_time: bool) -> str:
    """The body as Mautic sends it: each web link through ``/r/{id}`` with this send's click-through."""
    ct = quote(click_through(stat, sent_time), safe="")

    def tracked(match: Any) -> str:
        redirect = redirect_for(store, match.group(3))
        return f"{match.group(1)}{match.group(2)}{site}/r/{redirect['redirectId']}?ct={ct}&{match.group(2)}"

    return LINK.sub(tracked, html)


def redirect_for(store: Store, url: str) -> dict[str, Any]:
    """The one redirect Mautic keeps per URL (``page_redirects``), made on first use."""
    for row in store.table("redirects").values():
        if row["url"] == url:
            return row
    row = {"redirectId": secrets.token_hex(13)[:25], "url": url, "hits": 0, "dateAdded": iso(now(store))}
    store.insert("redirects", row)
    return row


def _stat_by_hash(store: Store, tracking_hash: str) -> dict[str, Any] | None:
    return next((s for s in store.table("email_stats").values() if s["idHash"] == tracking_hash), None)


def _opened(req: Request, stat: dict[str, Any], agent: str, browser: bool) -> None:
    """A web view or a click counts as an open of the send (recorded: open_count 3 after two views and a
    click, each in ``open_details``, and the reader's IP address)."""
    from gdpr_as_code.sandbox.contact_write import ip_id  # late: these build on contacts
    from gdpr_as_code.sandbox.submit import client_ip

    store = req.store
    stat["ip"] = ip_id(store, client_ip(req))
    moment = iso(now(store))
    stat["openCount"] = int(stat.get("openCount") or 0) + 1
    stat["lastOpened"] = moment
    stat.setdefault("dateRead", moment)
    stat["isRead"] = True
    stat.setdefault("opens", []).append({"datetime": moment[:19].replace("T", " "), "useragent": agent,
                                          "inBrowser": True})
    if browser:
        stat["viewedInBrowser"] = True


@route("GET", "/email/view/{hash:[A-Za-z0-9]+}")
def web_view(req: Request) -> Response:
    """The email as its recipient got it (the link in every sent email's timeline entry)."""
    stat = _stat_by_hash(req.store, req.path_args["hash"])
    if stat is None or "html" not in stat:
        return Response(404, NOT_FOUND_PAGE, controller=False, content_type=HTML)
    _opened(req, stat, req.headers.get("user-agent", ""), browser=True)
    cookie = {"Set-Cookie": f"mtc_id={stat['contact']}; path=/; secure; samesite=none"}
    return Response(200, stat["html"].encode(), cookie, controller=False, content_type=HTML)


@route("GET", "/r/{redirect:[A-Za-z0-9]+}")
def follow(req: Request) -> Response:
    """A click: the page hit (unless a bot), then the redirect to the link's URL."""
    store = req.store
    redirect = next(
        (r for r in store.table("redirects").values() if r["redirectId"] == req.path_args["redirect"]), None
    )
    if redirect is None:
        return Response(404, NOT_FOUND_PAGE, controller=False, content_type=HTML)
    query = {k: v for k, v in req.query.items() if isinstance(v, str)}
    ct = query.get("ct", "")
    agent = req.headers.get("user-agent", "")
    if ct and not any(bot in agent for bot in BOTS):
        _hit(store, req, redirect, ct, agent)
    url = redirect["url"]
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    page = f'<!DOCTYPE html>\n<html><head><meta http-equiv="refresh" content="0;url={url}" /></head></html>'
    return Response(302, page.encode(), {"Location": url}, controller=False, content_type=HTML)


def _hit(store: Store, req: Request, redirect: dict[str, Any], ct: str, agent: str) -> None:
    """One ``page_hits`` row, attached to the contact the click-through proves (or an anonymous one)."""
    from gdpr_as_code.sandbox.contact_routes import device_details  # late: these build on contacts
    from gdpr_as_code.sandbox.contact_write import ip_id
    from gdpr_as_code.sandbox.submit import client_ip, track_contact

    try:
        decoded = php_unserialize(base64.b64decode(ct).decode())
    except (ValueError, UnicodeDecodeError):
        decoded = {}
    decoded = decoded if isinstance(decoded, dict) else {}
    channel = decoded.get("channel") if isinstance(decoded.get("channel"), dict) else {}
    email_id = channel.get("email") or decoded.get("email")
    stat = _stat_by_hash(store, str(decoded.get("stat") or ""))
    contact = None
    if stat is not None and str(stat["email"]) == str(email_id):
        contact = store.table("contacts").get(stat["contact"])
        _opened(req, stat, agent, browser=False)
    if contact is None:
        contact, _ = track_contact(store, req)
    details = device_details(agent)
    devices = store.table("devices")
    device = next((d for d in devices.values() if d["contact"] == contact["id"] and d["details"] == details),
                  None)  # DeviceTracker: a contact's device with the same properties, else a new one
    if device is None:
        device = {"contact": contact["id"], "details": details}
        store.insert("devices", device)
    redirect["hits"] += 1
    query = {"ct": _as_text(decoded), "page_url": redirect["url"]}  # a query string's values are text
    store.insert("page_hits", {
        "redirect": redirect["id"], "email": int(email_id) if str(email_id).isdigit() else None,
        "contact": contact["id"], "ip": ip_id(store, client_ip(req)), "device": device["id"],
        "dateHit": iso(now(store)), "url": redirect["url"], "userAgent": agent, "query": php_serialize(query),
        "trackingId": secrets.token_hex(12)[:23],
    })


def _as_text(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _as_text(v) for k, v in value.items()}
    return str(value) if not isinstance(value, str) else value
