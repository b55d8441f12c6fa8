"""The seed's GDPR setup built by hand through the API, as a person does it in Mautic's UI: no markers,
static segments, a select field on the request form, a confirmation email, a consent focus item; and a
newsletter form without consent. Used by the sandbox tests and the acceptance journey alike (any httpx
client whose base URL is Mautic's)."""

from __future__ import annotations

from typing import Any

import httpx

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
