"""Emails and focus items in the sandbox, as Mautic 5.1 answers them (crud/043-081, flows/019)."""

from __future__ import annotations

import httpx

NO_LISTS = "Either no list was selected or you do not have access to one of the lists that was selected."


def test_email_requires_name_subject_and_published_segments_for_list_emails(api: httpx.Client) -> None:
    missing = api.post("/api/emails/new", json={"name": "No subject"})
    assert missing.json()["errors"][0]["details"] == {"subject": ["A subject is required."]}
    no_lists = api.post("/api/emails/new", json={"name": "Blast", "subject": "x", "emailType": "list"})
    assert no_lists.status_code == 400 and no_lists.json()["errors"][0]["details"] == {"lists": [NO_LISTS]}
    hidden = api.post("/api/segments/new", json={"name": "Hidden", "isPublished": False}).json()["list"]["id"]
    unpublished = api.post(
        "/api/emails/new", json={"name": "Blast", "subject": "x", "emailType": "list", "lists": [hidden]}
    )
    assert unpublished.status_code == 400
    shown = api.post("/api/segments/new", json={"name": "Shown"}).json()["list"]
    made = api.post(
        "/api/emails/new", json={"name": "Blast", "subject": "x", "emailType": "list", "lists": [shown["id"]]}
    )
    assert made.status_code == 201
    email = made.json()["email"]
    assert [s["alias"] for s in email["lists"]] == ["shown"] and email["language"] == "en"
    assert (email["revision"], email["modifiedBy"], email["dateModified"]) == (1, None, email["dateAdded"])


def test_each_email_edit_bumps_the_revision_and_delete_answers_null_id(api: httpx.Client) -> None:
    email = api.post("/api/emails/new", json={"name": "Welcome", "subject": "Hi"}).json()["email"]
    assert email["emailType"] == "template"
    for expected in (2, 3):
        edited = api.patch(f"/api/emails/{email['id']}/edit", json={"subject": f"Hi v{expected}"}).json()[
            "email"
        ]
        assert edited["revision"] == expected
    deleted = api.delete(f"/api/emails/{email['id']}/delete").json()["email"]
    assert deleted["id"] is None and deleted["subject"] == "Hi v3"
    minimal = api.get("/api/emails", params={"minimal": 1}).json()
    assert minimal == {"total": 0, "emails": []}


def test_focus_writes_html_mode_but_reads_html_mode_camel_cased(api: httpx.Client) -> None:
    made = api.post(
        "/api/focus/new",
        json={
            "name": "Notice",
            "type": "notice",
            "style": "bar",
            "html_mode": "basic",
            "htmlMode": "html",
            "properties": {"bar": {"sticky": True, "size": "large"}, "animate": False},
        },
    )
    assert made.status_code == 201
    focus = made.json()["focus"]
    assert focus["htmlMode"] == "basic" and "html_mode" not in focus
    assert focus["properties"]["bar"] == {
        "allow_hide": None,
        "push_page": None,
        "sticky": 1,
        "size": "large",
        "placement": None,
    }
    assert focus["properties"]["animate"] is None and focus["properties"]["page"] == []
    listed = api.get("/api/focus").json()
    assert listed["total"] == 1 and listed["focus"][str(focus["id"])]["name"] == "Notice"


def test_focus_requires_style_and_patch_merges_nested_properties(api: httpx.Client) -> None:
    refused = api.post("/api/focus/new", json={"type": "form"})
    assert refused.json()["errors"][0]["details"] == {
        "style": ["Use the builder to select what style should be used."],
        "name": ["A name is required."],
    }
    focus = api.post(
        "/api/focus/new",
        json={
            "name": "Modal",
            "type": "form",
            "style": "modal",
            "properties": {"content": {"headline": "Join", "tagline": "News"}},
        },
    ).json()["focus"]
    patched = api.patch(
        f"/api/focus/{focus['id']}/edit", json={"properties": {"content": {"headline": "New"}}}
    )
    content = patched.json()["focus"]["properties"]["content"]
    assert (content["headline"], content["tagline"]) == ("New", "News")


def test_focus_js_answers_the_embed_script(api: httpx.Client) -> None:
    focus = api.post("/api/focus/new", json={"name": "Bar", "type": "notice", "style": "bar"}).json()["focus"]
    script = api.post(f"/api/focus/{focus['id']}/js").json()["js"]
    assert script == focus["cache"] and f"MauticFocus{focus['id']}" in script
    assert api.post("/api/focus/999/js").status_code == 404


def test_email_lists_given_as_objects_without_ids_are_refused(api: httpx.Client) -> None:
    refused = api.post(
        "/api/emails/new", json={"name": "B", "subject": "x", "emailType": "list", "lists": [{}]}
    )
    assert refused.status_code == 400 and refused.json()["errors"][0]["details"] == {"lists": [NO_LISTS]}
