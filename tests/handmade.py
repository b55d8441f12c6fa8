"""The seed's GDPR setup built by hand through the API, as a person does it in Mautic's UI: no markers,
static segments, a select field on the request form, a confirmation email, a consent focus item; and a
newsletter form without consent. Used by the sandbox tests and the acceptance journey alike (any httpx
client whose base URL is Mautic's)."""

from __future__ import annotations

from typing import Any

import httpx
import yaml

REQUEST_OPTIONS = [{"label": "Request for data", "value": "access"},
                   {"label": "Request to be forgotten", "value": "forget"}]


def _made(answer: httpx.Response, key: str) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return dict(answer.json()[key])


def build_seed_by_hand(api: httpx.Client) -> dict[str, int]:
    """The article's setup, the ids of what was made by name."""
    field = _made(api.post("/api/fields/contact/new", json={
        "label": "GDPR request", "alias": "gdpr_request", "type": "select", "group": "core",
        "isPublished": True, "properties": {"list": REQUEST_OPTIONS}}), "field")
    forget = _made(api.post("/api/segments/new", json={
        "name": "Request to be Forgotten", "alias": "request-to-be-forgotten", "isPublished": True,
        "filters": []}), "list")
    data = _made(api.post("/api/segments/new", json={
        "name": "Data Requested", "alias": "data-requested", "isPublished": True, "filters": []}), "list")
    email = _made(api.post("/api/emails/new", json={
        "name": "GDPR request received", "subject": "We received your request", "emailType": "template",
        "isPublished": True, "customHtml": "<html><body><p>We received your request.</p></body></html>"}),
        "email")
    form = _made(api.post("/api/forms/new", json={
        "name": "GDPR Request", "formType": "standalone", "isPublished": True, "postAction": "message",
        "postActionProperty": "Thank you, we will answer within 30 days.",
        "fields": [
            {"label": "Your name", "alias": "name", "type": "text", "mappedObject": "contact",
             "mappedField": "firstname"},
            {"label": "Email", "alias": "email", "type": "email", "isRequired": True,
             "mappedObject": "contact", "mappedField": "email"},
            {"label": "Your request", "alias": "request", "type": "select", "isRequired": True,
             "mappedObject": "contact", "mappedField": "gdpr_request",
             "properties": {"list": {"list": REQUEST_OPTIONS}}},
            {"label": "Send", "alias": "submit", "type": "button"},
        ],
        "actions": [
            {"name": "Confirm receipt", "type": "email.send.lead", "properties": {"email": email["id"]}}
        ],
    }), "form")
    focus = _made(api.post("/api/focus/new", json={
        "name": "Cookie consent", "type": "link", "style": "bar", "isPublished": True,
        "properties": {"bar": {"placement": "bottom"}, "when": "immediately", "frequency": "everypage",
                       "content": {"headline": "We use cookies", "link_text": "Privacy notice",
                                   "link_url": "https://www.example.com/privacy"}}}), "focus")
    newsletter = add_newsletter(api)
    return {"field": int(field["id"]), "forget": int(forget["id"]), "data": int(data["id"]),
            "email": int(email["id"]), "form": int(form["id"]), "focus": int(focus["id"]),
            "newsletter": newsletter}


def add_newsletter(api: httpx.Client) -> int:
    """A newsletter form the marketing team added by hand: an email address, no consent checkbox."""
    form = _made(api.post("/api/forms/new", json={
        "name": "Newsletter", "formType": "standalone", "isPublished": True, "postAction": "message",
        "postActionProperty": "Thanks for subscribing!",
        "fields": [
            {"label": "Email", "alias": "email", "type": "email", "isRequired": True,
             "mappedObject": "contact", "mappedField": "email"},
            {"label": "Subscribe", "alias": "submit", "type": "button"},
        ]}), "form")
    return int(form["id"])


def add_webinar(api: httpx.Client) -> dict[str, Any]:
    """A form the marketing team adds by hand after the spec was written: name, email, a note, a button."""
    return _made(api.post("/api/forms/new", json={
        "name": "Webinar signup", "formType": "standalone", "isPublished": True, "postAction": "message",
        "postActionProperty": "See you there!",
        "fields": [
            {"label": "Name", "alias": "name", "type": "text", "mappedObject": "contact",
             "mappedField": "firstname"},
            {"label": "Email", "alias": "email", "type": "email", "isRequired": True,
             "mappedObject": "contact", "mappedField": "email"},
            {"label": "Join", "alias": "join", "type": "button"},
            {"label": "Questions?", "alias": "note", "type": "textarea"},
        ]}), "form")


def complete_the_exported_spec(path: Any) -> None:
    """What the privacy officer adds to the exported spec: the notification emails, the consent field, the
    filters routing requests into the (so far static) segments, and ``gdpr:`` with consent on every form."""
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    body = "<html><body><p>Done.</p></body></html>"
    spec["emails"].update({
        "access_done": {"name": "GDPR data export sent", "subject": "Your data", "body": body,
                        "body_format": "html"},
        "erasure_done": {"name": "GDPR erasure done", "subject": "Erased", "body": body,
                         "body_format": "html"},
    })
    spec["fields"]["consent"] = {"alias": "gdpr_consent", "label": "Consent", "type": "boolean"}
    for key, value in (("data_requested", "access"), ("request_to_be_forgotten", "forget")):
        spec["segments"][key]["filters"] = [{"field": "gdpr_request", "operator": "in", "value": [value]}]
    spec["gdpr"] = {
        "request_form": "gdpr_request", "request_field": "gdpr_request",
        "requests": {"access": {"value": "access", "segment": "data_requested", "email": "access_done"},
                     "erasure": {"value": "forget", "segment": "request_to_be_forgotten",
                                 "email": "erasure_done"}},
        "consent": {"required": True, "field": "consent", "forms": "all",
                    "label": "I agree that my data is processed as the privacy notice says."},
        "verification": {"erasure": False},  # the exported setup had none; this journey is about adoption
    }
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
