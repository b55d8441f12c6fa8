"""The sandbox's contacts, segment membership, public form submit and email send, over real HTTP.

The fidelity replay checks shapes against recorded Mautic answers; these tests check the values clients rely
on: who is in a segment after a rebuild, what a form submit writes to the contact, what lands in the outbox.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gdpr_as_code.sandbox import Sandbox

GDPR_OPTIONS = [{"label": "Access my data", "value": "access"}, {"label": "Forget me", "value": "forget"}]


def created(answer: httpx.Response, key: str) -> dict[str, Any]:
    assert answer.status_code in (200, 201), answer.text
    return answer.json()[key]


def gdpr_field(api: httpx.Client) -> None:
    body = {
        "label": "GDPR Request",
        "alias": "gdpr_request",
        "type": "multiselect",
        "properties": {"list": GDPR_OPTIONS},
    }
    created(api.post("/api/fields/contact/new", json=body), "field")


def segment(
    api: httpx.Client,
    name: str,
    alias: str,
    filters: list[dict[str, Any]] | None = None,
    published: bool = True,
) -> int:
    body = {"name": name, "alias": alias, "isPublished": published, "filters": filters or []}
    return created(api.post("/api/segments/new", json=body), "list")["id"]


def contact(api: httpx.Client, **values: Any) -> int:
    return created(api.post("/api/contacts/new", json=values), "contact")["id"]


def member_ids(api: httpx.Client, search: str) -> set[int]:
    answer = api.get("/api/contacts", params={"search": search, "limit": 0})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert isinstance(body["total"], str)
    return {int(k) for k in body["contacts"]}


def in_filter(value: str, operator: str = "in") -> dict[str, Any]:
    return {
        "glue": "and",
        "field": "gdpr_request",
        "object": "lead",
        "type": "multiselect",
        "operator": operator,
        "properties": {"filter": [value] if operator in ("in", "!in") else None},
    }


def test_new_contact_is_an_upsert_on_email(api: httpx.Client) -> None:
    first = api.post("/api/contacts/new", json={"email": "ann@example.com", "firstname": "Ann"})
    again = api.post("/api/contacts/new", json={"email": "ANN@example.com", "lastname": "Lee"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["contact"]["id"] == again.json()["contact"]["id"]
    values = api.get(f"/api/contacts/{first.json()['contact']['id']}").json()["contact"]["fields"]["all"]
    assert (values["firstname"], values["lastname"]) == ("Ann", "Lee")
    assert api.get("/api/contacts", params={"search": "email:nobody@"}).json() == {
        "total": "0",
        "contacts": {},
    }


def test_multiselect_values_are_stored_pipe_joined_and_checked(api: httpx.Client) -> None:
    gdpr_field(api)
    as_list = contact(api, email="a@example.com", gdpr_request=["access", "forget"])
    as_pipe = contact(api, email="b@example.com", gdpr_request="access|forget")
    for contact_id in (as_list, as_pipe):
        assert api.get(f"/api/contacts/{contact_id}").json()["contact"]["fields"]["all"]["gdpr_request"] == (
            "access|forget"
        )
    for bad in ("access,forget", ["nope"]):
        answer = api.post("/api/contacts/new", json={"email": "c@example.com", "gdpr_request": bad})
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["message"] == "gdpr_request: This value is not valid."


def test_list_paging_and_search_follow_mautic(api: httpx.Client) -> None:
    ids = [contact(api, email=f"bulk{n:03d}@example.com", firstname=f"Bulk{n:03d}") for n in range(5)]
    assert member_ids(api, "email:bulk00") == set(ids)
    assert member_ids(api, "email:bulk00*") == set()  # "*" is no wildcard in Mautic's search
    assert member_ids(api, "email:bulk00%@example.com") == set(ids)
    assert member_ids(api, "firstname:Bulk003") == {ids[3]}
    assert member_ids(api, "!firstname:Bulk003") == set(ids) - {ids[3]}
    page = api.get("/api/contacts", params={"orderBy": "id", "orderByDir": "desc", "limit": 2, "start": 1})
    assert list(page.json()["contacts"]) == [str(ids[3]), str(ids[2])] and page.json()["total"] == "5"
    for params in ({"limit": -1}, {"limit": "abc"}, {"start": -5}, {"orderBy": "nonexistent_col"}):
        assert api.get("/api/contacts", params=params).status_code == 500, params


def test_batches_limit_and_report_per_item(api: httpx.Client) -> None:
    too_many = [{"email": f"x{n}@example.com"} for n in range(201)]
    answer = api.post("/api/contacts/batch/new", json=too_many)
    assert answer.status_code == 500
    assert answer.json()["errors"][0]["message"] == "A max of 200 entities are supported at a time."
    existing = contact(api, email="dup@example.com")
    answer = api.post(
        "/api/contacts/batch/new",
        json=[{"email": "new@example.com"}, {"email": "not-an-email"}, {"email": "dup@example.com"}],
    )
    body = answer.json()
    assert answer.status_code == 201 and body["statusCodes"] == [201, 400, 200]
    assert body["errors"]["1"]["message"] == "email: not-an-email is invalid."
    assert set(body["contacts"]) == {"0", "2"} and body["contacts"]["2"]["id"] == existing
    deleted = api.delete("/api/contacts/batch/delete", params={"ids": f"{existing},999999"}).json()[
        "contacts"
    ]
    # the batch delete answers each contact with its id (the single delete nulls it), unknown ids are skipped
    assert [c["id"] for c in deleted] == [existing]
    assert api.get(f"/api/contacts/{existing}").status_code == 404


def test_membership_needs_a_published_segment_and_keeps_its_date(api: httpx.Client, sandbox: Sandbox) -> None:
    hidden = segment(api, "Hidden", "hidden", published=False)
    shown = segment(api, "Data Requested", "data-requested")
    person = contact(api, email="dee@example.com")
    assert api.post(f"/api/segments/{hidden}/contact/{person}/add").status_code == 403
    assert api.post(f"/api/segments/{shown}/contact/999999/add").json()["errors"][0]["message"] == (
        "Contact not found."
    )
    httpx.post(sandbox.url + "/_sandbox/clock", json={"now": "2026-03-01T10:00:00+00:00"})
    try:
        assert api.post(f"/api/segments/{shown}/contact/{person}/add").json() == {"success": 1}
    finally:
        httpx.post(sandbox.url + "/_sandbox/clock", json={"now": None})
    lists = api.get(f"/api/contacts/{person}/segments").json()["lists"]
    assert (
        lists[str(shown)]["dateAdded"] == "2026-03-01T10:00:00+00:00" and lists[str(shown)]["manuallyAdded"]
    )
    events = api.get(f"/api/contacts/{person}/activity").json()["events"]
    assert [(e["event"], e["timestamp"]) for e in events] == [
        ("segment_membership", "2026-03-01T10:00:00+00:00")
    ]
    assert member_ids(api, "segment:data-requested") == {person}
    api.post(f"/api/segments/{shown}/contact/{person}/remove")
    assert member_ids(api, "segment:data-requested") == set()
    assert api.get(f"/api/contacts/{person}/segments").json() == {"total": 0, "lists": []}


def test_rebuild_fills_filter_segments_like_the_console_command(api: httpx.Client, sandbox: Sandbox) -> None:
    gdpr_field(api)
    forget = segment(api, "Forget", "forget", [in_filter("forget")])
    segment(api, "Not forget", "not-forget", [in_filter("forget", "!in")])
    segment(api, "Any request", "any-request", [in_filter("", "!empty")])
    plain = {
        "glue": "and",
        "field": "gdpr_request",
        "object": "lead",
        "type": None,
        "operator": "in",
        "properties": {"filter": ["access"]},
    }
    segment(api, "Exactly access", "exactly-access", [plain])
    mail = {
        "glue": "and",
        "field": "email",
        "object": "lead",
        "type": "email",
        "operator": "contains",
        "properties": {"filter": "@corp."},
    }
    segment(api, "Corp", "corp", [mail])
    both = contact(api, email="both@corp.example", gdpr_request=["access", "forget"])
    access = contact(api, email="access@example.com", gdpr_request="access")
    nothing = contact(api, email="none@example.com")
    assert member_ids(api, "segment:forget") == set()  # dynamic segments fill only on a rebuild
    rebuilt = httpx.post(sandbox.url + "/_sandbox/segments/rebuild").json()["segments"]
    assert rebuilt[str(forget)] == {"added": 1, "removed": 0}
    assert member_ids(api, "segment:forget") == {both}
    assert member_ids(api, "segment:not-forget") == {access, nothing}
    assert member_ids(api, "segment:any-request") == {both, access}
    assert member_ids(api, "segment:exactly-access") == {access}  # no type: plain IN on the stored "a|b"
    assert member_ids(api, "segment:corp") == {both}
    api.post(f"/api/segments/{forget}/contact/{both}/remove")  # a filter-added member removed by hand...
    httpx.post(sandbox.url + "/_sandbox/segments/rebuild", params={"id": forget})
    assert member_ids(api, "segment:forget") == set()  # ...stays out
    api.patch(f"/api/contacts/{access}/edit", json={"gdpr_request": "forget"})
    httpx.post(sandbox.url + "/_sandbox/segments/rebuild")
    assert member_ids(api, "segment:exactly-access") == set()
    assert member_ids(api, "segment:forget") == {access}


def gdpr_form(api: httpx.Client, data_requested: int, email_id: int, *, mapped: bool) -> dict[str, Any]:
    def mapping(alias: str) -> dict[str, Any]:
        if mapped:
            return {"mappedObject": "contact", "mappedField": alias}
        return {"leadField": alias}

    fields = [
        {"label": "Name", "alias": "name", "type": "text", **mapping("firstname")},
        {"label": "Email", "alias": "email", "type": "email", "isRequired": True, **mapping("email")},
        {
            "label": "Request",
            "alias": "request",
            "type": "checkboxgrp",
            "isRequired": True,
            "properties": {"syncList": 0, "optionlist": {"list": GDPR_OPTIONS}},
            **mapping("gdpr_request"),
        },
        {"label": "Submit", "alias": "submit", "type": "button"},
    ]
    actions = [
        {
            "name": "Data requested",
            "type": "lead.changelist",
            "properties": {"addToLists": [data_requested], "removeFromLists": []},
        },
        {"name": "Confirm", "type": "email.send.lead", "properties": {"email": email_id}},
    ]
    body = {
        "name": "GDPR Request",
        "formType": "standalone",
        "isPublished": True,
        "postAction": "message",
        "postActionProperty": "Thanks",
        "fields": fields,
        "actions": actions,
    }
    return created(api.post("/api/forms/new", json=body), "form")


def submit(
    sandbox: Sandbox, form_id: int, fields: list[tuple[str, str]], *, ajax: bool = True
) -> httpx.Response:
    names = [f"mauticform[{n[:-2]}][]" if n.endswith("[]") else f"mauticform[{n}]" for n, _ in fields]
    body = [*zip(names, (v for _, v in fields), strict=True), ("mauticform[formId]", str(form_id))]
    url = f"{sandbox.url}/form/submit?formId={form_id}" + ("&ajax=true" if ajax else "")
    return httpx.post(url, files=[(k, (None, v)) for k, v in body], headers={"Referer": "http://site/page"})


@pytest.fixture
def gdpr_setup(api: httpx.Client, sandbox: Sandbox) -> dict[str, int]:
    gdpr_field(api)
    data_requested = segment(api, "Data Requested", "data-requested")
    template = {
        "name": "Received",
        "subject": "We received your request, {contactfield=firstname}",
        "emailType": "template",
        "isPublished": True,
        "customHtml": "<p>Hello {contactfield=firstname|there}, ref {ref}</p>",
    }
    email_id = created(api.post("/api/emails/new", json=template), "email")["id"]
    httpx.delete(sandbox.url + "/_sandbox/outbox")
    return {"segment": data_requested, "email": email_id}


def test_form_submit_maps_values_and_runs_the_actions(
    api: httpx.Client, sandbox: Sandbox, gdpr_setup: dict[str, int]
) -> None:
    form = gdpr_form(api, gdpr_setup["segment"], gdpr_setup["email"], mapped=True)
    answer = submit(
        sandbox,
        form["id"],
        [("name", "Carol"), ("email", "carol@example.com"), ("request[]", "access"), ("request[]", "forget")],
    )
    assert answer.status_code == 200
    assert answer.json()["success"] == 1 and answer.json()["results"]["request"] == "access, forget"
    [carol] = member_ids(api, "segment:data-requested")
    values = api.get(f"/api/contacts/{carol}").json()["contact"]["fields"]["all"]
    assert (values["email"], values["firstname"], values["gdpr_request"]) == (
        "carol@example.com",
        "Carol",
        "access|forget",
    )
    outbox = httpx.get(sandbox.url + "/_sandbox/outbox").json()["messages"]
    assert [(m["emailId"], m["contactId"], m["to"], m["subject"]) for m in outbox] == [
        (gdpr_setup["email"], carol, "carol@example.com", "We received your request, Carol")
    ]
    subs = api.get(f"/api/forms/{form['id']}/submissions/contact/{carol}").json()
    assert subs["total"] == "1" and subs["submissions"][0]["results"]["email"] == "carol@example.com"
    kinds = {e["event"] for e in api.get(f"/api/contacts/{carol}/activity").json()["events"]}
    assert kinds == {"form.submitted", "segment_membership", "lead.source.identified", "email.sent"}


def test_form_submit_validates_and_answers_as_a_browser_expects(
    api: httpx.Client, sandbox: Sandbox, gdpr_setup: dict[str, int]
) -> None:
    form = gdpr_form(api, gdpr_setup["segment"], gdpr_setup["email"], mapped=True)
    missing = submit(sandbox, form["id"], [("name", "NoMail"), ("email", "")])
    assert missing.status_code == 200 and missing.json()["success"] == 0
    assert missing.json()["validationErrors"] == {
        "email": "'Email' is required.",
        "request": "'Request' is required.",
    }
    invalid = submit(sandbox, form["id"], [("email", "not-an-email"), ("request[]", "access")])
    assert invalid.json()["validationErrors"] == {"email": ["The email is invalid."]}
    browser = submit(sandbox, form["id"], [("email", "b@example.com"), ("request[]", "access")], ajax=False)
    assert browser.status_code == 302 and browser.headers["location"] == "/form/message"
    assert httpx.get(f"{sandbox.url}/form/submit?formId={form['id']}").status_code == 403
    gone = submit(sandbox, 999, [("email", "x@example.com")])
    assert gone.json() == {"success": 0, "errorMessage": "This form is no longer available."}
    # every cookieless submit to an existing form tracks a contact, even the failed ones
    assert api.get("/api/contacts").json()["total"] == "3"


def test_form_field_with_only_leadfield_yields_a_contact_without_values(
    api: httpx.Client, sandbox: Sandbox, gdpr_setup: dict[str, int]
) -> None:
    form = gdpr_form(api, gdpr_setup["segment"], gdpr_setup["email"], mapped=False)
    answer = submit(sandbox, form["id"], [("email", "ann@example.com"), ("request[]", "forget")])
    assert answer.json()["success"] == 1
    [anonymous] = member_ids(api, "segment:data-requested")
    assert api.get(f"/api/contacts/{anonymous}").json()["contact"]["fields"]["all"]["email"] is None
    assert httpx.get(sandbox.url + "/_sandbox/outbox").json()["total"] == 0  # no address, nothing sent


def test_send_to_contact_ignores_dnc_and_fills_tokens(
    api: httpx.Client, sandbox: Sandbox, gdpr_setup: dict[str, int]
) -> None:
    person = contact(api, email="ed@example.com", firstname="Ed")
    added = api.post(f"/api/contacts/{person}/dnc/email/add", json={"reason": 3, "comments": "GDPR"})
    assert [d["reason"] for d in added.json()["contact"]["doNotContact"]] == [3]
    sent = api.post(
        f"/api/emails/{gdpr_setup['email']}/contact/{person}/send", json={"tokens": {"ref": "<42>"}}
    )
    assert sent.json() == {"success": True}
    [message] = httpx.get(sandbox.url + "/_sandbox/outbox").json()["messages"]
    assert message["body"] == "<p>Hello Ed, ref &lt;42&gt;</p>"
    assert api.post(f"/api/emails/{gdpr_setup['email']}/contact/999999/send").status_code == 404
    assert httpx.delete(sandbox.url + "/_sandbox/outbox").json()["total"] == 0
    removed = api.post(f"/api/contacts/{person}/dnc/email/remove").json()
    assert removed["recordFound"] is True and removed["contact"]["doNotContact"] == []


def test_notes_belong_to_a_contact(api: httpx.Client) -> None:
    person = contact(api, email="nina@example.com")
    assert (
        api.post("/api/notes/new", json={"text": "x"}).json()["errors"][0]["message"]
        == "lead ID is mandatory"
    )
    assert api.post("/api/notes/new", json={"lead": person, "type": "bogus"}).status_code == 400
    note = created(
        api.post("/api/notes/new", json={"lead": person, "text": "handled", "type": "call"}), "note"
    )
    listed = api.get(f"/api/contacts/{person}/notes").json()
    assert listed["total"] == 1 and listed["notes"][0]["id"] == note["id"]
    api.delete(f"/api/contacts/{person}/delete")
    assert api.get(f"/api/notes/{note['id']}").status_code == 404


def test_patch_to_another_contacts_email_merges_them(api: httpx.Client) -> None:
    kept = contact(api, email="new@example.com", firstname="New")
    merged = contact(api, email="old@example.com", lastname="Old")
    shown = segment(api, "Shown", "shown")
    api.post(f"/api/segments/{shown}/contact/{merged}/add")
    answer = api.patch(f"/api/contacts/{kept}/edit", json={"email": "old@example.com"})
    values = answer.json()["contact"]["fields"]["all"]
    assert answer.json()["contact"]["id"] == kept
    assert (values["firstname"], values["lastname"]) == ("New", "Old")
    assert api.get(f"/api/contacts/{merged}").status_code == 404
    assert member_ids(api, "segment:shown") == {kept}


def test_a_boolean_field_is_typed_by_the_answer_as_real_mautic_does(api: httpx.Client) -> None:
    """Real 5.1.0: ``true`` in the create answer, ``1`` in a GET, ``"1"`` in a list (the column's text)."""
    api.post("/api/fields/contact/new", json={"label": "Consent", "alias": "consent_given", "type": "boolean",
                                              "properties": {"no": "No", "yes": "Yes"}}).raise_for_status()
    made = api.post("/api/contacts/new", json={"email": "b@example.com", "consent_given": 1}).json()
    made = made["contact"]
    assert made["fields"]["all"]["consent_given"] is True
    alone = api.get(f"/api/contacts/{made['id']}").json()["contact"]["fields"]
    assert alone["all"]["consent_given"] == 1 and alone["core"]["consent_given"]["value"] == 1
    (listed,) = api.get("/api/contacts", params={"search": "email:b@example.com"}).json()["contacts"].values()
    assert listed["fields"]["all"]["consent_given"] == "1"
    assert listed["fields"]["core"]["consent_given"]["value"] == "1"


def test_an_ip_address_named_by_the_api_caller_is_recorded_and_none_otherwise(api: httpx.Client) -> None:
    """Real 5.1.0 and 7.0.2: a contact created through the API from loopback has no address, one sent as
    ``ipAddress`` is kept."""
    bare = api.post("/api/contacts/new", json={"email": "a@example.com"}).json()["contact"]
    assert api.get(f"/api/contacts/{bare['id']}").json()["contact"]["ipAddresses"] == []
    named = api.post("/api/contacts/new", json={"email": "b@example.com", "ipAddress": "203.0.113.9"})
    ips = api.get(f"/api/contacts/{named.json()['contact']['id']}").json()["contact"]["ipAddresses"]
    assert [ip["ipAddress"] for ip in ips] == ["203.0.113.9"]


def test_the_batch_delete_answers_booleans_as_a_list_does(api: httpx.Client) -> None:
    """Real 5.1.0 (tests/recorded/5.1.0/request-journey/049): the deleted contacts' booleans are ``"1"``."""
    api.post("/api/fields/contact/new", json={"label": "Consent", "alias": "consent_given", "type": "boolean",
                                              "properties": {"no": "No", "yes": "Yes"}}).raise_for_status()
    made = api.post("/api/contacts/new", json={"email": "c@example.com", "consent_given": 1})
    made = made.json()["contact"]
    (gone,) = api.delete("/api/contacts/batch/delete", params={"ids": str(made["id"])}).json()["contacts"]
    assert gone["fields"]["all"]["consent_given"] == "1"


def test_a_library_user_agent_gets_no_device_type_and_no_os_keys(sandbox: Any, api: httpx.Client) -> None:
    """Real 5.1.0 (request-journey/043): a form posted by python-httpx records a device with no type."""
    email = {"label": "Email", "alias": "email", "type": "email", "mappedObject": "contact",
             "mappedField": "email"}
    form = api.post("/api/forms/new", json={"name": "F", "formType": "standalone", "fields": [
        email, {"label": "Send", "alias": "submit", "type": "button"}]}).json()["form"]
    httpx.post(f"{sandbox.url}/form/submit", params={"formId": form["id"]}, data={
        "mauticform[formId]": str(form["id"]), "mauticform[email]": "d@example.com"})
    found = api.get("/api/contacts", params={"search": "email:d@example.com"}).json()["contacts"]
    (contact,) = found.values()
    (device,) = api.get(f"/api/contacts/{contact['id']}/devices").json()["devices"]
    assert {k: v for k, v in device.items() if k not in ("id", "lead")} == {
        "device": "", "deviceBrand": "", "deviceModel": ""}
