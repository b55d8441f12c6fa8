"""The public form submission ``POST /form/submit?formId=N`` as a browser posts it.

Faithful to Mautic 5.1 (recorded flows/035-078, 178, 227; CONTRACT §3):

- the body is ``mauticform[...]`` fields, multipart or urlencoded, checkboxes as ``mauticform[x][]``; no CSRF;
- every submit to an existing form tracks a contact: the one of the ``mtc_id`` cookie, else a new anonymous
  contact, created even when validation then fails (flows/053 NOTE) - but not for a request without a
  User-Agent (flows/227);
- ``?ajax=true`` answers JSON, always HTTP 200; ``mauticform[messenger]`` answers the ``postMessage`` page;
  otherwise a 302 to the return URL, the Referer, or ``/form/message``;
- values reach the contact only through fields with ``mappedObject: contact`` and ``mappedField`` set; an
  identified email that belongs to another contact merges that older contact into the tracked one (flows/064);
- then the form's actions run: ``lead.changelist`` (published segments only) and ``email.send.lead``.
"""

from __future__ import annotations

import re
import secrets
from typing import Any
from urllib.parse import quote

from gdpr_as_code.sandbox.activity import log_event
from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_routes import device_details
from gdpr_as_code.sandbox.contact_write import clean_values, ip_id, merge_into, new_row, touch, write
from gdpr_as_code.sandbox.http import Request, Response, truthy
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

NOT_PERSISTED = {"button", "captcha", "freetext", "freehtml", "pagebreak"}
TRACKING_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
UNAVAILABLE = "This form is no longer available."
HTML = "text/html; charset=UTF-8"
AJAX_HEADERS = {
    "Access-Control-Allow-Origin": "",
    "Access-Control-Allow-Headers": "Origin, X-Requested-With, Content-Type, Authorization",
    "Access-Control-Allow-Methods": "PUT, GET, POST, DELETE, OPTIONS",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Max-Age": "36000",
}


def stored_fields(form: dict[str, Any]) -> list[dict[str, Any]]:
    """Fields that keep a result column, in form order."""
    fields = [f for f in form.get("fields") or [] if f.get("type") not in NOT_PERSISTED]
    return sorted(fields, key=lambda f: (f.get("order") or 0, f["id"]))


def mapping(field: dict[str, Any]) -> str | None:
    """The contact field a form field writes to, as Mautic stored it (``mappedObject``/``mappedField``)."""
    if field.get("mappedObject") == "contact" and field.get("mappedField"):
        return str(field["mappedField"])
    return None


def cookies(req: Request) -> dict[str, str]:
    jar: dict[str, str] = {}
    for part in req.headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            jar[name] = value
    return jar


def site_url(req: Request) -> str:
    """The instance's base URL as the browser reached it (Mautic's ``site_url``)."""
    url = f"http://{req.headers.get('host', '127.0.0.1')}"
    req.store.meta["site_url"] = url
    return url


def validate(form: dict[str, Any], posted: dict[str, Any]) -> dict[str, Any]:
    """Mautic's submit validation: required fields, then email syntax; messages keyed by field alias."""
    errors: dict[str, Any] = {}
    for field in stored_fields(form):
        value = posted.get(field["alias"])
        empty = value in (None, "", []) or (isinstance(value, list) and not any(value))
        if field.get("isRequired") and empty:
            errors[field["alias"]] = field.get("validationMessage") or f"'{field['label']}' is required."
        elif (
            field.get("type") == "email"
            and not empty
            and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(value))
        ):
            errors[field["alias"]] = ["The email is invalid."]
    return errors


def result_value(value: Any) -> Any:
    """A posted value as the results table stores it: checkbox lists joined by ``", "``."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def track_contact(store: Store, req: Request) -> tuple[dict[str, Any], bool]:
    """The contact this browser is: the ``mtc_id`` cookie's, else a new anonymous one (with IP and device)."""
    cookie_id = cookies(req).get("mtc_id", "")
    contacts = store.table("contacts")
    if cookie_id.isdigit() and int(cookie_id) in contacts:
        return contacts[int(cookie_id)], False
    row = new_row(store, req, tracked=True)
    row["preferredProfileImage"] = "gravatar"
    row["ipAddresses"] = [ip_id(store, client_ip(req))]
    store.insert("contacts", row)
    store.insert(
        "devices", {"contact": row["id"], "details": device_details(req.headers.get("user-agent", ""))}
    )
    return row, True


def client_ip(req: Request) -> str:
    """The browser's address as Mautic sees it behind a proxy (``X-Forwarded-For``), else loopback."""
    return req.headers.get("x-forwarded-for", "127.0.0.1").split(",")[0].strip() or "127.0.0.1"


def identify(
    store: Store,
    req: Request,
    contact: dict[str, Any],
    fresh: bool,
    values: dict[str, Any],
    form: dict[str, Any],
) -> dict[str, Any]:
    """Write the mapped values to the right contact and return it (LeadModel's form identification)."""
    values, _invalid = clean_values(store, values, overwrite_blank=False)  # a bad option is dropped
    if not values:
        return contact
    email = str(values.get("email") or "").lower()
    others = [
        r
        for r in store.table("contacts").values()
        if r["id"] != contact["id"] and email and str(r["values"].get("email") or "").lower() == email
    ]
    known_email = str(contact["values"].get("email") or "").lower()
    identified_before = False
    if not fresh and known_email and email and known_email != email:
        # The cookie's contact is somebody else: a new contact gets the values directly (flows/062).
        contact = new_row(store, req)
        contact.update(
            preferredProfileImage="gravatar",
            lastActive=iso(now(store)),
            ipAddresses=[ip_id(store, client_ip(req))],
        )
        write(store, contact, values)
        store.insert("contacts", contact)
        store.insert(
            "devices",
            {"contact": contact["id"], "details": device_details(req.headers.get("user-agent", ""))},
        )
    else:
        identified_before = contact["dateIdentified"] is not None
        write(store, contact, {**values, "overwriteWithBlank": False})
        touch(store, contact, None)
        contact["modifiedByUser"] = " "
    for other in others:
        if other["id"] != contact["id"]:
            merge_into(store, contact, other)
    if identified_before:
        return contact
    log_event(
        store,
        contact["id"],
        "lead.source.identified",
        f"Contact was identified by {form['name']}",
        form["name"],
    )
    return contact


def run_actions(store: Store, req: Request, form: dict[str, Any], contact: dict[str, Any]) -> None:
    """The form's submit actions, in order; the sandbox runs the two GDPR flows need."""
    from gdpr_as_code.sandbox.membership import add, remove, segments  # late: both build on contacts
    from gdpr_as_code.sandbox.messages import send

    for action in sorted(form.get("actions") or [], key=lambda a: (a.get("order") or 0, a["id"])):
        props = action.get("properties") or {}
        if action.get("type") == "lead.changelist":
            table = segments(store)
            for raw in props.get("addToLists") or []:
                segment = table.get(int(raw)) if str(raw).isdigit() else None
                if segment and segment.get("isPublished", True):
                    add(store, segment, contact["id"], manually=True)
            for raw in props.get("removeFromLists") or []:
                segment = table.get(int(raw)) if str(raw).isdigit() else None
                if segment and segment.get("isPublished", True):
                    remove(store, segment, contact["id"], manually=True)
        elif action.get("type") == "email.send.lead":
            email_id = str(props.get("email") or "")
            email = store.table("emails").get(int(email_id)) if email_id.isdigit() else None
            if email and email.get("isPublished", True) and contact["values"].get("email"):
                send(store, email, contact, {}, site_url(req), ("form", int(form["id"])),
                     timed_links=req.app.profile.ct_sent_time)


def redirect_page(location: str) -> bytes:
    """Symfony's RedirectResponse body."""
    safe = location.replace("&", "&amp;")
    return (
        f'<!DOCTYPE html>\n<html>\n    <head>\n        <meta charset="UTF-8" />\n        <meta http-equiv='
        f'"refresh" content="0;url=\'{safe}\'" />\n\n        <title>Redirecting to {safe}</title>\n'
        "    </head>\n"
        f'    <body>\n        Redirecting to <a href="{safe}">{safe}</a>.\n    </body>\n</html>'
    ).encode()


def answer(req: Request, body: dict[str, Any], location: str, cookie: dict[str, str]) -> Response:
    """The three ways Mautic answers a submit: JSON (ajax), the postMessage page (messenger), or a 302."""
    from gdpr_as_code.sandbox.http import php_json

    headers = {"Cache-Control": "max-age=0, must-revalidate, private"}
    if cookie:  # the tracked contact, which the browser sends back as its identity on the next submit
        headers["Set-Cookie"] = f"mtc_id={cookie['contact']}; path=/; samesite=none"
    posted = req.data.get("mauticform") if isinstance(req.data, dict) else None
    if truthy(req.query.get("ajax", False)):
        return Response(200, body, {**headers, **AJAX_HEADERS}, controller=False)
    if isinstance(posted, dict) and truthy(posted.get("messenger", False)):
        script = php_json(body).replace('"', "\\u0022")
        page = (
            f'<html>\n    <head>\n        <script type="text/javascript">\n            parent.postMessage('
            f"\"{script}\", '*');\n        </script>\n    </head>\n    <body></body>\n</html>\n"
        )
        return Response(200, page.encode(), headers, controller=False, content_type=HTML)
    headers["Location"] = location
    return Response(
        302, redirect_page(location), headers, controller=False, content_type="text/html; charset=utf-8"
    )


@route("POST", "/form/submit")
def submit(req: Request) -> Response:
    store = req.store
    data = req.data if isinstance(req.data, dict) else {}
    posted = data.get("mauticform") if isinstance(data.get("mauticform"), dict) else {}
    form_id = str(req.query.get("formId", ""))
    form = store.table("forms").get(int(form_id)) if form_id.isdigit() else None
    referer = req.headers.get("referer", "")
    return_url = str(posted.get("return") or "")
    if form is None or not form.get("isPublished", True):
        body: dict[str, Any] = {"success": 0, "errorMessage": UNAVAILABLE}
        if posted.get("formName"):
            body["formName"] = posted["formName"]
        return answer(req, body, return_url or referer or "/form/message", {})
    tracking_id = "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(23))
    errors = validate(form, posted)
    name = {"formName": posted["formName"]} if posted.get("formName") else {}  # echoed as posted (flows/227)
    # A request without a User-Agent is not tracked: no contact, no cookie (flows/227 and the ids after it).
    browser = bool(req.headers.get("user-agent"))
    if browser or not errors:
        contact, fresh = track_contact(store, req)
        contact["lastActive"] = iso(now(store))
    if errors:
        cookie = {"device": tracking_id, "contact": str(contact["id"])} if browser else {}
        target = return_url or referer
        if target:
            listed = "".join(f"<li>{m if isinstance(m, str) else m[0]}</li>" for m in errors.values())
            message = quote(f"Errors:<br /><ol>{listed}</ol>", safe="")
            target = f"{target}{'&' if '?' in target else '?'}mauticError={message}#{form.get('alias', '')}"
        failed = {"success": 0, "validationErrors": errors, **name}
        return answer(req, failed, target or "/form/message", cookie)
    results = {f["alias"]: result_value(posted.get(f["alias"])) for f in stored_fields(form)}
    values = {
        mapping(f): posted.get(f["alias"])
        for f in stored_fields(form)
        if mapping(f) and posted.get(f["alias"]) not in (None, "", [])
    }
    contact = identify(store, req, contact, fresh, values, form)
    store.insert(
        "submissions",
        {
            "form": form["id"],
            "contact": contact["id"],
            "results": results,
            "dateSubmitted": iso(now(store)),
            "referer": referer,
            "trackingId": tracking_id,
            "ip": client_ip(req),
        },
    )
    run_actions(store, req, form, contact)
    body = {"success": 1, "results": {f["alias"]: results[f["alias"]] for f in stored_fields(form)}}
    post_action = form.get("postAction") or "return"
    if post_action == "message":
        body["successMessage"] = form.get("postActionProperty") or ""
    body.update(name)
    if post_action == "redirect":
        location = str(form.get("postActionProperty") or "/form/message")
    elif post_action == "message":
        location = "/form/message"
    else:
        location = return_url or referer or "/form/message"
    return answer(req, body, location, {"device": tracking_id, "contact": str(contact["id"])})


@route("GET", "/form/submit")
def submit_by_get(req: Request) -> Response:
    """Mautic refuses a GET on the submit URL with its HTML 403 page."""
    page = b"<!DOCTYPE html>\n<html><head><title>Forbidden</title></head><body>Forbidden</body></html>\n"
    return Response(403, page, controller=False, content_type=HTML)


@route("GET", "/form/message")
def message_page(req: Request) -> Response:
    """The thank-you page a non-AJAX submit without a return URL is sent to."""
    page = b"<!DOCTYPE html>\n<html><head><title>Thank you</title></head><body>Thank you.</body></html>\n"
    return Response(200, page, controller=False, content_type=HTML)


# --- submissions API ---------------------------------------------------------------------------------------
