"""The per-kind knowledge of Mautic, tested from answers a real Mautic 5.1 gave (tests/recorded/5.1.0).

Each row: a recorded answer, the kind, and what the normalised object must say. Then payload rules that matter
on a real server (postAction always sent, mapping explicit, marker carried, ids for existing parts).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from recordings import recorded_answer

from gdpr_as_code import resources as R
from gdpr_as_code.spec import (
    ConsentFocus,
    ContactField,
    Email,
    Form,
    FormAction,
    FormField,
    Segment,
    SegmentFilter,
)

REFS = {("segments", 1): "data_requested", ("emails", 1): "confirm", ("forms", 2): "signup"}


def answer(name: str) -> Any:
    """The JSON body of one recorded exchange."""
    return recorded_answer(name)


def _at(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


CASES = [
    # (recorded file, envelope key, kind, path in the normalised object, expected)
    (
        "flows/031_POST_forms_new_gdpr_form.json",
        "form",
        R.FORMS,
        "fields.request.mappedField",
        "gdpr_request",
    ),
    (
        "flows/031_POST_forms_new_gdpr_form.json",
        "form",
        R.FORMS,
        "actions.#2.properties.email",
        "@emails.confirm",
    ),
    (
        "flows/031_POST_forms_new_gdpr_form.json",
        "form",
        R.FORMS,
        "actions.#1.properties.addToLists",
        ["@segments.data_requested"],
    ),
    ("flows/031_POST_forms_new_gdpr_form.json", "form", R.FORMS, "fields.name.properties", {}),  # [] is {}
    # GET after a PATCH with syncList=1 adds a read-only `list` copy: not part of what we compare
    (
        "flows/160_GET_forms_1_before_quirks.json",
        "form",
        R.FORMS,
        "fields.request.properties",
        {
            "syncList": 1,
            "optionlist": {
                "list": [
                    {"label": "Access my data", "value": "access"},
                    {"label": "Forget me", "value": "forget"},
                ]
            },
        },
    ),
    # order is the position after sorting by Mautic's (possibly tied) order values
    ("flows/160_GET_forms_1_before_quirks.json", "form", R.FORMS, "fields.submit.order", 5),
    ("flows/168_GET_forms_1_after_reversed.json", "form", R.FORMS, "fields.submit.order", 1),
    # the mapping Mautic answered on create but did not store (flows/053) reads as unmapped on a fresh GET
    ("flows/054_GET_forms_1_fresh_get_mapped_null.json", "form", R.FORMS, "fields.email.mappedField", None),
    ("flows/161_PATCH_forms_1_edit_name_only.json", "form", R.FORMS, "postAction", "return"),
    # PATCHed filters come back with a stale root-level copy: properties.filter wins
    ("crud/080_PATCH_segments_2_edit_filters.json", "list", R.SEGMENTS, "filters.0.properties.filter", "pro"),
    (
        "flows/021_POST_segments_new_dynamic_forget_in.json",
        "list",
        R.SEGMENTS,
        "filters.0.properties.filter",
        ["forget"],
    ),
    ("flows/020_POST_segments_new_static_data_requested.json", "list", R.SEGMENTS, "description", None),
    (
        "flows/018_POST_fields_contact_new_gdpr_multiselect.json",
        "field",
        R.FIELDS,
        "properties.list.1.value",
        "forget",
    ),
    ("flows/018_POST_fields_contact_new_gdpr_multiselect.json", "field", R.FIELDS, "defaultValue", None),
    ("flows/019_POST_emails_new_gdpr_template_email.json", "email", R.EMAILS, "lists", []),
    ("crud/046_GET_focus_1.json", "focus", R.FOCUS, "form", "@forms.signup"),
    ("crud/046_GET_focus_1.json", "focus", R.FOCUS, "properties.stop_after_close", 0),  # null is "no"
    ("crud/046_GET_focus_1.json", "focus", R.FOCUS, "properties.modal", {"placement": "top"}),
    (
        "crud/048_PATCH_focus_1_edit_patch_nested_props.json",
        "focus",
        R.FOCUS,
        "properties.content.headline",
        "Patched headline",
    ),
]


@pytest.mark.parametrize(("name", "envelope", "kind", "path", "expected"), CASES)
def test_normalise_recorded_answer(name: str, envelope: str, kind: R.Kind, path: str, expected: Any) -> None:
    assert _at(kind.normalise(answer(name)[envelope], REFS), path) == expected


LISTS = [
    ("crud/009_GET_segments_two.json", R.SEGMENTS),
    ("crud/022_GET_fields_contact_limit3.json", R.FIELDS),
    ("crud/027_GET_forms_list.json", R.FORMS),
    ("crud/047_GET_focus_list.json", R.FOCUS),
]


@pytest.mark.parametrize(("name", "kind"), LISTS)
def test_every_object_of_a_recorded_list_normalises_and_is_unmanaged(name: str, kind: R.Kind) -> None:
    body = answer(name)[kind.list_key]
    items = body if isinstance(body, list) else list(body.values())
    assert items
    for raw in items:
        assert kind.key_of(raw) is None  # objects made by hand carry no marker
        assert kind.normalise(raw, {})[kind.identity] == raw[kind.identity]


def test_unknown_ids_stay_visible_not_silently_dropped() -> None:
    form = answer("flows/031_POST_forms_new_gdpr_form.json")["form"]
    assert R.normalise_form(form, {})["actions"]["#1"]["properties"]["addToLists"] == ["#1"]


@pytest.mark.parametrize(
    ("description", "human", "key"),
    [
        (None, None, None),
        ("created by hand", "created by hand", None),
        ("[gdpr-as-code:forget]", None, "forget"),
        ("Who asked to be forgotten.\n\n[gdpr-as-code:forget]", "Who asked to be forgotten.", "forget"),
    ],
)
def test_description_marker_round_trip(description: str | None, human: str | None, key: str | None) -> None:
    assert R.split_description(description) == (human, key)
    if key:
        assert R.split_description(R.with_marker(human, key)) == (human, key)


def test_email_marker_is_an_html_comment_that_round_trips() -> None:
    body = R.email_payload({"customHtml": "<p>Hi</p>", "name": "n"}, "confirm", None, _no_ref)["customHtml"]
    assert body.endswith("<!-- [gdpr-as-code:confirm] -->")
    assert R.email_key({"customHtml": body}) == "confirm"
    assert R.normalise_email({"customHtml": body}, {})["customHtml"] == "<p>Hi</p>"


def test_field_ownership_is_a_registry_segment_because_mautic_drops_unknown_properties() -> None:
    """Mautic 5.1 ``FormFieldHelper::validateProperties`` unsets every ``properties`` key a type does not
    define, so a field cannot carry a marker: the registry segment lists managed fields by alias."""
    desired = R.render_field(
        ContactField(
            "request",
            "gdpr_request",
            "GDPR Request",
            "multiselect",
            (("Access my data", "access"), ("Forget me", "forget")),
        )
    )
    body = R.field_payload(desired, "request", frozenset({"label"}), _no_ref)
    assert body == {"label": "GDPR Request"}  # alias/type only on create; no marker
    live = answer("flows/018_POST_fields_contact_new_gdpr_multiselect.json")["field"]
    assert R.field_key(live) is None
    assert R.normalise_field(live, {}) == desired
    registry = {"id": 7, **R.registry_body({"request": "gdpr_request"})}
    assert registry["isPublished"] is False and registry["filters"] == []
    copy = {**registry, "id": 9}  # a copy made in Mautic's UI
    found = R.read_registry([copy, registry, {"id": 3, "description": "[gdpr-as-code:forget]"}])
    assert (found.segment_id, found.key_of(live), found.key_of({"alias": "other"})) == (7, "request", None)
    assert R.read_registry([{"id": 3, "description": "[gdpr-as-code-fields] not json"}]).segment_id is None


def _no_ref(reference: str) -> int:
    raise AssertionError(reference)


GDPR_FORM = Form(
    key="gdpr_request",
    name="GDPR Request",
    fields=(
        FormField("email", "Email", "email", required=True, contact_field="email"),
        FormField("request", "Request", "checkboxgrp", True, (("Access my data", "access"),), "gdpr_request"),
    ),
    actions=(
        FormAction("collect", "add_to_segments", "Add to Data Requested", segments=("data_requested",)),
        FormAction("confirm", "send_email", "Send confirmation", email="confirm"),
    ),
    message="Thanks",
)


def test_form_create_payload_spells_out_mapping_and_resolves_references() -> None:
    ids = {"@segments.data_requested": 7, "@emails.confirm": 9}
    body = R.form_payload(R.render_form(GDPR_FORM), "gdpr_request", None, ids.__getitem__)
    assert body["postAction"] == "message" and body["postActionProperty"] == "Thanks"
    assert body["description"] == "[gdpr-as-code:gdpr_request]"
    email, request = body["fields"]
    assert (email["alias"], email["mappedObject"], email["mappedField"]) == ("email", "contact", "email")
    assert request["properties"] == {
        "syncList": 0,
        "optionlist": {"list": [{"label": "Access my data", "value": "access"}]},
    }
    collect, confirm = body["actions"]
    assert collect["properties"] == {"addToLists": [7], "removeFromLists": []}
    assert confirm["properties"] == {"email": 9} and confirm["description"] == "[gdpr-as-code:confirm]"
    assert "id" not in email and "id" not in collect


def test_form_patch_always_carries_post_action_and_ids_of_existing_parts() -> None:
    sub_ids = {"fields": {"email": 3}, "actions": {"collect": 4}}
    ids = {"@segments.data_requested": 7, "@emails.confirm": 9}
    desired = R.render_form(GDPR_FORM)
    name_only = R.form_payload(desired, "gdpr_request", frozenset({"name"}), ids.__getitem__, sub_ids)
    assert set(name_only) == {"name", "postAction", "postActionProperty"}
    whole = R.form_payload(
        desired, "gdpr_request", frozenset({"fields", "actions"}), ids.__getitem__, sub_ids
    )
    assert [(f["alias"], f.get("id")) for f in whole["fields"]] == [("email", 3), ("request", None)]
    assert [a.get("id") for a in whole["actions"]] == [4, None]


def test_form_fields_go_in_spec_order_even_from_a_saved_plan_with_sorted_keys() -> None:
    reordered = dataclasses.replace(GDPR_FORM, fields=GDPR_FORM.fields[::-1])  # request before email
    saved = json.loads(json.dumps(R.render_form(reordered), sort_keys=True))  # as a plan file reads back
    body = R.form_payload(
        saved, "gdpr_request", None, {"@segments.data_requested": 7, "@emails.confirm": 9}.get
    )
    assert [f["alias"] for f in body["fields"]] == ["request", "email"]


def test_segment_and_focus_render_to_what_mautic_answers() -> None:
    segment = Segment(
        "forget",
        "Request to be Forgotten",
        "request-to-be-forgotten",
        filters=(SegmentFilter("gdpr_request", "multiselect", "in", ("forget",)),),
    )
    live = R.normalise_segment(answer("flows/021_POST_segments_new_dynamic_forget_in.json")["list"], {})
    assert R.render_segment(segment)["filters"] == live["filters"]
    focus = ConsentFocus("consent", "Consent", "bar", "We use cookies", form="signup")
    rendered = R.render_focus(focus)
    assert rendered["type"] == "form" and rendered["form"] == "@forms.signup"
    assert R.focus_payload(rendered, "consent", frozenset({"name"}), {"@forms.signup": 2}.__getitem__) == {
        "name": "Consent",
        "style": "bar",
    }


def test_email_renders_every_attribute_it_compares() -> None:
    email = Email("confirm", "GDPR request received", "We received your GDPR request", "<p>Hello</p>")
    live = R.normalise_email(answer("flows/019_POST_emails_new_gdpr_template_email.json")["email"], {})
    assert set(R.render_email(email)) <= set(live)


def test_addresses_parse_singular_or_plural() -> None:
    assert R.kind_of_address("segment.forget") == (R.SEGMENTS, "forget")
    assert R.kind_of_address("forms.gdpr_request") == (R.FORMS, "gdpr_request")
    with pytest.raises(ValueError):
        R.kind_of_address("campaign.x")


def test_field_defaults_are_sent_as_mautic_accepts_them_for_each_type() -> None:
    """Real Mautic refuses ``defaultValue: ""`` on a new multiselect and a string for one at all
    (tests/recorded/*/field-defaults): no default is left out on create, cleared with null on update, and
    a multiselect's ``a|b`` is sent as the list of its values."""
    options = (("Access my data", "access"), ("Forget me", "forget"))
    bare = R.render_field(ContactField("request", "gdpr_request", "GDPR Request", "multiselect", options))
    assert "defaultValue" not in R.field_payload(bare, "request", None, _no_ref)
    assert R.field_payload(bare, "request", frozenset({"defaultValue"}), _no_ref) == {"defaultValue": None}
    chosen = {**bare, "defaultValue": "access|forget"}
    assert R.field_payload(chosen, "request", None, _no_ref)["defaultValue"] == ["access", "forget"]
    single = {**bare, "type": "select", "defaultValue": "access"}
    assert R.field_payload(single, "request", None, _no_ref)["defaultValue"] == "access"
