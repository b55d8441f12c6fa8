"""Email sending (to one contact, to segments, by form action) and the sandbox outbox of sent messages.

Mautic 5.1 (CONTRACT §5, recorded flows/120-129): ``POST /api/emails/{id}/contact/{cid}/send`` sends a
transactional copy that ignores do-not-contact and answers ``{"success": true}``; custom ``tokens`` are
``{name}: value`` (braces added when missing). Each send writes an email stat (the contact's ``email.sent``
activity event). The sandbox delivers nothing: every message lands in the outbox instead.

    GET    /_sandbox/outbox     {"total", "messages": [{id, emailId, contactId, to, subject, body, sentAt}]}
    DELETE /_sandbox/outbox     empty it (stats, which are Mautic data, stay)
"""

from __future__ import annotations

import html
import re
import secrets
from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_write import as_list
from gdpr_as_code.sandbox.http import Request, Response, controller_error, not_found
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

CONTACT_FIELD_TOKEN = re.compile(r"\{contactfield=([a-z0-9_]+)(?:\|([^}]*))?\}", re.IGNORECASE)


def render_body(template: str, contact: dict[str, Any], tokens: dict[str, str]) -> str:
    """Replace ``{contactfield=alias|default}`` with the contact's values and the request's custom tokens."""

    def field(match: re.Match[str]) -> str:
        value = contact["values"].get(match.group(1).lower())
        return str(value) if value not in (None, "") else (match.group(2) or "")

    text = CONTACT_FIELD_TOKEN.sub(field, template)
    for name, value in tokens.items():
        text = text.replace(name, value)
    return text


def send(
    store: Store,
    email: dict[str, Any],
    contact: dict[str, Any],
    tokens: dict[str, str],
    site: str,
    source: tuple[str | None, int] = ("api", 0),
    timed_links: bool = False,
) -> None:
    """Send ``email`` to ``contact``: an email stat (activity) and a message in the outbox, its links tracked
    (``tracking``). ``source`` is what the stat records as the sender: ``api`` for the send API (recorded),
    ``form`` and the form id for a form action (recorded); a segment send leaves it unknown (not measured).
    ``timed_links``: the line puts the send time into the links' click-through (7.0, ``versions``)."""
    from gdpr_as_code.sandbox.tracking import rewrite_links  # tracking reads the stats this writes

    moment = iso(now(store))
    subject = render_body(str(email.get("subject") or ""), contact, tokens)
    stat = {
        "email": email["id"],
        "contact": contact["id"],
        "dateSent": moment,
        "subject": subject,
        "emailName": email.get("name"),
        "idHash": secrets.token_hex(11),
        "site": site,
        "address": contact["values"].get("email"),
        "source": source[0],
        "sourceId": source[1],
    }
    stat_id = store.insert("email_stats", stat)
    body = render_body(str(email.get("customHtml") or ""), contact, tokens)
    stat["html"] = rewrite_links(store, body, stat, site, timed_links)
    store.insert(
        "outbox",
        {
            "emailId": email["id"],
            "contactId": contact["id"],
            "to": contact["values"].get("email"),
            "subject": subject,
            "body": stat["html"],
            "sentAt": moment,
            "statId": stat_id,
        },
    )


def custom_tokens(data: Any) -> dict[str, str]:
    """``tokens`` of a send request: names wrapped in braces when they are not, values HTML-escaped."""
    raw = data.get("tokens") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return {}
    tokens = {}
    for name, value in raw.items():
        key = name if str(name).startswith("{") else f"{{{name}}}"
        tokens[key] = html.escape(str(value), quote=False)
    return tokens


def email_of(req: Request) -> dict[str, Any]:
    email = req.store.table("emails").get(req.int_arg())
    if email is None:
        raise not_found()
    return email


@route("POST", "/api/emails/{id}/contact/{cid}/send")
def send_to_contact(req: Request) -> Response:
    """Transactional send; DNC is ignored as in 5.x. A contact without an address fails in the answer only."""
    store = req.store
    email = email_of(req)
    contact = store.table("contacts").get(int(req.path_args["cid"]))
    if contact is None:
        raise controller_error(404, "Contact not found.")
    if not contact["values"].get("email"):
        return Response(
            200, {"success": False, "failed": {str(contact["id"]): "Contact has no email address."}}
        )
    site = f"http://{req.headers.get('host', '')}"
    send(store, email, contact, custom_tokens(req.data), site, timed_links=req.app.profile.ct_sent_time)
    return Response(200, {"success": True})


@route("POST", "/api/emails/{id}/send")
def send_to_segments(req: Request) -> Response:
    """Segment send of a published list email to members not on email DNC and not yet sent this email."""
    from gdpr_as_code.sandbox.membership import memberships  # membership builds on contacts

    store = req.store
    email = email_of(req)
    if not email.get("isPublished", True):
        raise not_found()
    data = req.data if isinstance(req.data, dict) else {}
    wanted = {int(i) for i in as_list(data.get("lists")) if str(i).isdigit()}
    lists = [seg["id"] if isinstance(seg, dict) else int(seg) for seg in email.get("lists") or []]
    if email.get("emailType") != "list":
        return Response(200, {"success": 1, "sentCount": 0, "failedRecipients": 0})
    already = {s["contact"] for s in store.table("email_stats").values() if s["email"] == email["id"]}
    sent = failed = 0
    contacts = store.table("contacts")
    for segment_id in lists:
        if wanted and segment_id not in wanted:
            continue
        for member in memberships(store, segment=segment_id):
            contact = contacts.get(member["contact"])
            if member["manuallyRemoved"] or contact is None or contact["id"] in already:
                continue
            already.add(contact["id"])
            if any(d["channel"] == "email" for d in contact["doNotContact"]):
                continue
            if not contact["values"].get("email"):
                failed += 1
                continue
            site = f"http://{req.headers.get('host', '')}"
            send(store, email, contact, {}, site, (None, 0), timed_links=req.app.profile.ct_sent_time)
            sent += 1
    return Response(200, {"success": 1, "sentCount": sent, "failedRecipients": failed})


@route("GET", "/_sandbox/outbox")
def outbox(req: Request) -> Response:
    messages = [
        {
            "id": m["id"],
            "emailId": m["emailId"],
            "contactId": m["contactId"],
            "to": m["to"],
            "subject": m["subject"],
            "body": m["body"],
            "sentAt": m["sentAt"],
        }
        for m in req.store.table("outbox").values()
    ]
    return Response(200, {"total": len(messages), "messages": messages}, controller=False)


@route("DELETE", "/_sandbox/outbox")
def clear_outbox(req: Request) -> Response:
    req.store.table("outbox").clear()
    return Response(200, {"total": 0, "messages": []}, controller=False)


def sent_events(store: Store, contact_id: int | None) -> list[dict[str, Any]]:
    """``email.sent`` activity events from the email stats (for the contacts timeline)."""
    events = []
    for stat in store.table("email_stats").values():
        if stat["contact"] is None or (contact_id is not None and stat["contact"] != contact_id):
            continue
        details = {
            "email_id": str(stat["email"]),
            "id": str(stat["id"]),
            "dateSent": stat["dateSent"],
            "subject": stat["subject"],
            "email_name": stat["emailName"],
            "isRead": "0",
            "isFailed": "0",
            "viewedInBrowser": "0",
            "retryCount": "0",
            "idHash": stat["idHash"],
            "openDetails": [],
            "storedSubject": stat["subject"],
            "timeToRead": False,
        }
        events.append(
            {
                "event": "email.sent",
                "eventId": f"email.sent{stat['id']}",
                "eventLabel": {
                    "label": stat["emailName"],
                    "href": f"{stat['site']}/email/view/{stat['idHash']}",
                    "isExternal": True,
                },
                "eventType": "Email sent",
                "timestamp": stat["dateSent"],
                "contactId": str(stat["contact"]),
                "details": {"stat": details, "type": "sent"},
                "_id": stat["id"],
            }
        )
    return events
