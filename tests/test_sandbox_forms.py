"""Forms in the sandbox: Mautic 5.1 quirks of fields, actions, PATCH and PUT (crud/023-079, flows/031-179)."""

from __future__ import annotations

from typing import Any

import httpx

OPTIONS = [{"label": "Access my data", "value": "access"}, {"label": "Forget me", "value": "forget"}]


def segment(api: httpx.Client, name: str, published: bool = True) -> int:
    return api.post("/api/segments/new", json={"name": name, "isPublished": published}).json()["list"]["id"]


def form_body(segment_id: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": "GDPR Request",
        "alias": "ignored",
        "postAction": "message",
        "postActionProperty": "Thanks",
        "fields": [
            {"label": "Email", "alias": "email", "type": "email", "leadField": "email", "isRequired": True},
            {
                "label": "Request",
                "alias": "request",
                "type": "checkboxgrp",
                "properties": {"optionlist": {"list": OPTIONS}},
            },
            {"label": "Send", "alias": "submit", "type": "button"},
        ],
        "actions": [
            {
                "name": "Add",
                "type": "lead.changelist",
                "properties": {"addToLists": [segment_id], "removeFromLists": []},
            }
        ],
        **extra,
    }


def create(api: httpx.Client) -> dict[str, Any]:
    answer = api.post("/api/forms/new", json=form_body(segment(api, "Data Requested")))
    assert answer.status_code == 201
    return answer.json()["form"]


def aliases(form: dict[str, Any]) -> list[str]:
    return [f["alias"] for f in form["fields"]]


def test_alias_comes_from_the_name_and_lists_are_arrays(api: httpx.Client) -> None:
    form = create(api)
    assert form["alias"] == "gdpr_reque"
    assert aliases(form) == ["email", "request", "submit"] and [f["order"] for f in form["fields"]] == [
        1,
        2,
        3,
    ]
    assert form["fields"][2]["properties"] == [] and 'name="mauticform[email]"' in form["cachedHtml"]
    listed = api.get("/api/forms", params={"minimal": 1}).json()
    assert listed["total"] == 1 and isinstance(listed["forms"], list) and "fields" not in listed["forms"][0]


def test_lead_field_is_echoed_as_mapped_but_stored_unmapped(api: httpx.Client) -> None:
    form = create(api)
    echoed = form["fields"][0]
    assert (echoed["leadField"], echoed["mappedObject"], echoed["mappedField"]) == (
        "email",
        "contact",
        "email",
    )
    stored = api.get(f"/api/forms/{form['id']}").json()["form"]["fields"][0]
    assert (stored["leadField"], stored["mappedObject"], stored["mappedField"]) == ("email", None, None)
    fixed = api.patch(
        f"/api/forms/{form['id']}/edit",
        json={"fields": [{"id": echoed["id"], "mappedObject": "contact", "mappedField": "email"}]},
    )
    assert fixed.status_code == 200
    stored = api.get(f"/api/forms/{form['id']}").json()["form"]["fields"][0]
    assert (stored["mappedObject"], stored["mappedField"]) == ("contact", "email")


def test_patch_matches_by_id_only_and_appends_duplicates_with_random_aliases(api: httpx.Client) -> None:
    form = create(api)
    patched = api.patch(
        f"/api/forms/{form['id']}/edit",
        json={"fields": [{"label": "Email again", "alias": "email", "type": "email"}]},
    )
    fields = patched.json()["form"]["fields"]
    assert len(fields) == 4 and fields[3]["alias"] not in ("email", "email_again")
    assert len(fields[3]["alias"]) == 5 and fields[3]["alias"].isalpha() and fields[3]["order"] == 1
    assert patched.json()["form"]["postAction"] == "return"  # any write without postAction resets it
    again = api.patch(
        f"/api/forms/{form['id']}/edit", json={"actions": [form_body(0)["actions"][0] | {"properties": {}}]}
    )
    assert again.status_code == 200 and len(again.json()["form"]["actions"]) == 2
    ghost = api.patch(f"/api/forms/{form['id']}/edit", json={"fields": [{"id": 99999, "label": "Ghost"}]})
    assert ghost.json() == {
        "errors": [{"code": 404, "message": "Form Field ID 99999 not found", "details": []}]
    }


def test_put_deletes_what_it_omits_and_recreates_id_less_fields(api: httpx.Client) -> None:
    form = create(api)
    first = form["fields"][0]
    kept = api.put(
        f"/api/forms/{form['id']}/edit",
        json={"name": "GDPR Request", "fields": [{"id": first["id"], "label": "Email", "type": "email"}]},
    ).json()["form"]
    assert [f["id"] for f in kept["fields"]] == [first["id"]] and kept["actions"] == []
    assert (kept["isPublished"], kept["description"], kept["postAction"]) == (False, None, "return")
    rebuilt = api.put(
        f"/api/forms/{form['id']}/edit",
        json={"name": "GDPR Request", "fields": [{"label": "Email", "alias": "email", "type": "email"}]},
    ).json()["form"]
    assert rebuilt["fields"][0]["id"] != first["id"] and rebuilt["fields"][0]["alias"] != "email"


def test_put_of_a_synced_checkbox_group_as_read_back_fails(api: httpx.Client) -> None:
    api.post(
        "/api/fields/contact/new",
        json={
            "label": "GDPR Request",
            "alias": "gdpr_request",
            "type": "multiselect",
            "properties": {"list": OPTIONS},
        },
    )
    form = create(api)
    request = form["fields"][1]
    api.patch(
        f"/api/forms/{form['id']}/edit",
        json={
            "fields": [
                {
                    "id": request["id"],
                    "mappedObject": "contact",
                    "mappedField": "gdpr_request",
                    "properties": {"syncList": 1, "optionlist": {"list": OPTIONS}},
                }
            ]
        },
    )
    read = api.get(f"/api/forms/{form['id']}").json()["form"]
    synced = next(f for f in read["fields"] if f["id"] == request["id"])
    assert synced["properties"]["list"] == {"list": OPTIONS}
    refused = api.put(f"/api/forms/{form['id']}/edit", json={"name": read["name"], "fields": read["fields"]})
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["message"] == "properties: This form should not contain extra fields."


def test_changelist_needs_published_segments_and_a_failed_create_spends_the_id(api: httpx.Client) -> None:
    hidden = segment(api, "Hidden", published=False)
    refused = api.post("/api/forms/new", json=form_body(hidden))
    assert refused.status_code == 400
    assert refused.json()["errors"][0] == {
        "code": 400,
        "message": "addToLists: This value is not valid.",
        "details": [],
    }
    assert create(api)["id"] == 2  # id 1 went to the rolled-back insert (crud/031)
    assert api.get("/api/forms/1").status_code == 404


def test_unknown_action_type_is_a_400(api: httpx.Client) -> None:
    form = create(api)
    bogus = api.patch(
        f"/api/forms/{form['id']}/edit", json={"actions": [{"name": "B", "type": "no.such.action"}]}
    )
    assert (
        bogus.status_code == 400
        and bogus.json()["errors"][0]["message"] == "properties: This value is not valid."
    )


def test_field_and_action_delete_endpoints_answer_the_whole_form(api: httpx.Client) -> None:
    form = create(api)
    fields = api.delete(
        f"/api/forms/{form['id']}/fields/delete", params={"fields[]": form["fields"][1]["id"]}
    )
    assert fields.status_code == 200 and aliases(fields.json()["form"]) == ["email", "submit"]
    actions = api.delete(
        f"/api/forms/{form['id']}/actions/delete", params={"actions[]": form["actions"][0]["id"]}
    )
    assert actions.json()["form"]["actions"] == []
    not_array = api.delete(f"/api/forms/{form['id']}/fields/delete", params={"fields": 1})
    assert (
        not_array.status_code == 400
        and not_array.json()["errors"][0]["message"] == "The fields attribute must be array."
    )


def test_delete_answers_null_ids_down_to_the_fields(api: httpx.Client) -> None:
    form = create(api)
    deleted = api.delete(f"/api/forms/{form['id']}/delete").json()["form"]
    assert deleted["id"] is None and {f["id"] for f in deleted["fields"]} == {None}


def test_deleting_a_form_deletes_its_submissions(api: httpx.Client, sandbox: Any) -> None:
    form = create(api)
    posted = httpx.post(
        f"{sandbox.url}/form/submit",
        params={"formId": form["id"], "ajax": "true"},
        data={
            "mauticform[formId]": str(form["id"]),
            "mauticform[email]": "a@example.com",
            "mauticform[request][]": "access",
        },
    )
    assert posted.json()["success"] == 1
    assert api.get(f"/api/forms/{form['id']}/submissions").json()["total"] == "1"
    api.delete(f"/api/forms/{form['id']}/delete")
    remade = api.post("/api/forms/new", json=form_body(form["actions"][0]["properties"]["addToLists"][0]))
    assert api.get(f"/api/forms/{remade.json()['form']['id']}/submissions").json()["total"] == "0"
    assert api.get(f"/api/forms/{form['id']}/submissions").status_code == 404
