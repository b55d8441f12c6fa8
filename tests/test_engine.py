"""The pure half of the engine: desired state, diff, ownership rules and the plan value, without any server.

Live states are built from Mautic-shaped answers (``live_from_raw``), as ``read_live`` builds them from list
calls; what goes over HTTP is tested in ``test_e2e_plan_apply.py`` against the sandbox.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gdpr_as_code import converge
from gdpr_as_code.converge.changes import FieldChange, Plan, Update
from gdpr_as_code.errors import PlanError
from gdpr_as_code.render.text import render_text
from gdpr_as_code.resources import registry_body
from gdpr_as_code.spec import (
    ContactField,
    Email,
    Form,
    FormAction,
    FormField,
    Segment,
    SegmentFilter,
    Spec,
    Target,
)

REQUEST = ContactField(
    "request",
    "gdpr_request",
    "GDPR Request",
    "multiselect",
    (("Access my data", "access"), ("Forget me", "forget")),
)
FORGET = Segment(
    "forget",
    "Request to be Forgotten",
    "request-to-be-forgotten",
    filters=(SegmentFilter("gdpr_request", "multiselect", "in", ("forget",), "request"),),
)
COLLECTED = Segment("collected", "Data Requested", "data-requested")
CONFIRM = Email("confirm", "GDPR request received", "We received your request", "<p>Hello</p>")
FORM = Form(
    "gdpr_form",
    "GDPR Request",
    fields=(
        FormField("email", "Email", "email", True, contact_field="email"),
        FormField("request", "Request", "checkboxgrp", True, REQUEST.options, "gdpr_request", "request"),
    ),
    actions=(
        FormAction("collect", "add_to_segments", "Collect", segments=("collected",)),
        FormAction("confirm", "send_email", "Confirm", email="confirm"),
    ),
    message="Thank you.",
)


def make_spec(**parts: Any) -> Spec:
    base: dict[str, Any] = {
        "fields": (REQUEST,),
        "segments": (FORGET, COLLECTED),
        "emails": (CONFIRM,),
        "forms": (FORM,),
        "consent": None,
    }
    base.update(parts)
    return Spec(Path("gdpr.yaml"), "0" * 64, Target(), {}, gdpr=None, **base)


def raw_segment(id_: int, name: str, alias: str, description: str | None = None) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "alias": alias,
        "publicName": name,
        "description": description,
        "isPublished": True,
        "isGlobal": True,
        "filters": [],
    }


def field_registry(**owners: str) -> dict[str, Any]:
    """The registry segment that makes contact fields managed (Mautic keeps no marker in a field)."""
    return {"id": 90, **registry_body(owners)}


def test_fresh_instance_plans_every_object_as_a_create_in_dependency_order() -> None:
    changes = converge.diff(converge.desired_state(make_spec()), converge.live_from_raw({}))
    assert [(c.action, c.kind, c.key) for c in changes] == [
        ("create", "fields", "request"),
        ("create", "segments", "forget"),
        ("create", "segments", "collected"),
        ("create", "emails", "confirm"),
        ("create", "forms", "gdpr_form"),
    ]
    text = render_text(Plan("https://mautic.example.com", changes))
    assert '  + segment.forget  "Request to be Forgotten"' in text
    assert text.endswith("Plan: 5 to add, 0 to change, 0 to destroy.")


def test_an_unmanaged_look_alike_stops_the_plan_with_the_import_command() -> None:
    live = converge.live_from_raw(
        {"segments": [raw_segment(12, "Forget (by hand)", "request-to-be-forgotten")]}
    )
    with pytest.raises(PlanError) as caught:
        converge.diff(converge.desired_state(make_spec()), live)
    message = str(caught.value)
    assert "unmanaged segment #12 with the same alias 'request-to-be-forgotten'" in message
    assert "gdpr-as-code import segment.forget 12" in message


def test_managed_object_is_recognised_by_its_marker_after_a_rename_in_the_spec() -> None:
    live = converge.live_from_raw(
        {
            "segments": [
                raw_segment(3, "Data Requested", "data-requested", "[gdpr-as-code:collected]"),
            ]
        }
    )
    renamed = Segment("collected", "Data access requests", "data-requested")
    changes = converge.diff(
        converge.desired_state(make_spec(segments=(renamed,), fields=(), emails=(), forms=())), live
    )
    (change,) = changes
    assert (change.action, change.mautic_id) == ("update", 3)
    assert {(f.path, f.before, f.after) for f in change.fields} == {
        ("name", "Data Requested", "Data access requests"),
        ("publicName", "Data Requested", "Data access requests"),
    }


def test_managed_object_gone_from_the_spec_is_a_suppressed_delete_unless_pruned() -> None:
    live = converge.live_from_raw(
        {
            "segments": [
                raw_segment(3, "Old", "old", "[gdpr-as-code:old]"),
                raw_segment(4, "Someone else's", "theirs"),
            ]
        }
    )
    desired = converge.desired_state(make_spec(segments=(), fields=(), emails=(), forms=()))
    (kept,) = converge.diff(desired, live)
    assert (kept.action, kept.mautic_id, kept.suppressed) == ("delete", 3, True)
    assert not Plan("x", (kept,)).has_changes
    assert "deleted only with --prune" in render_text(Plan("x", (kept,)))
    (pruned,) = converge.diff(desired, live, prune=True)  # the unmanaged #4 is never touched
    assert (pruned.action, pruned.mautic_id, pruned.suppressed) == ("delete", 3, False)
    assert render_text(Plan("x", (pruned,))).splitlines()[2] == '  - segment.old (id 3)  "Old"'


def test_pruning_a_contact_field_warns_that_its_data_goes_with_it() -> None:
    live = converge.live_from_raw(
        {
            "fields": [
                {
                    "id": 44,
                    "label": "Old",
                    "alias": "old",
                    "type": "text",
                    "properties": {},
                }
            ],
            "segments": [field_registry(old="old")],
        }
    )
    (change,) = converge.diff(
        converge.desired_state(make_spec(fields=(), segments=(), emails=(), forms=())), live, prune=True
    )
    assert "the value of every contact is lost" in render_text(Plan("x", (change,)))


def test_two_objects_claiming_one_key_are_a_plan_error() -> None:
    live = converge.live_from_raw(
        {
            "segments": [
                raw_segment(3, "Data Requested", "data-requested", "[gdpr-as-code:collected]"),
                raw_segment(9, "Data Requested (copy)", "data-requested1", "[gdpr-as-code:collected]"),
            ]
        }
    )
    with pytest.raises(PlanError, match=r"2 segments in Mautic \(#3, #9\) carry its marker"):
        converge.diff(
            converge.desired_state(make_spec(segments=(COLLECTED,), fields=(), emails=(), forms=())), live
        )


def test_a_contact_field_type_change_is_refused_not_planned() -> None:
    live = converge.live_from_raw(
        {
            "fields": [
                {
                    "id": 44,
                    "label": "GDPR Request",
                    "alias": "gdpr_request",
                    "type": "text",
                    "group": "core",
                    "isPublished": True,
                    "defaultValue": None,
                    "properties": {},
                }
            ],
            "segments": [field_registry(request="gdpr_request")],
        }
    )
    with pytest.raises(
        PlanError, match="the type of field #44 is 'text' in Mautic and 'multiselect'"
    ):
        converge.diff(converge.desired_state(make_spec(segments=(), emails=(), forms=())), live)


def _managed_form(fields: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": 5,
        "name": "GDPR Request",
        "description": "[gdpr-as-code:gdpr_form]",
        "isPublished": True,
        "formType": "standalone",
        "postAction": "message",
        "postActionProperty": "Thank you.",
        "fields": fields,
        "actions": actions,
    }


def _live_form_parts() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    options = [{"label": label, "value": value} for label, value in REQUEST.options]
    fields = [
        {
            "id": 1,
            "alias": "email",
            "label": "Email",
            "type": "email",
            "isRequired": True,
            "order": 1,
            "properties": [],
            "mappedObject": "contact",
            "mappedField": "email",
        },
        {
            "id": 2,
            "alias": "request",
            "label": "Request",
            "type": "checkboxgrp",
            "isRequired": True,
            "order": 2,
            "properties": {"syncList": 0, "optionlist": {"list": options}},
            "mappedObject": "contact",
            "mappedField": "gdpr_request",
        },
    ]
    actions = [
        {
            "id": 7,
            "name": "Collect",
            "description": "[gdpr-as-code:collect]",
            "type": "lead.changelist",
            "properties": {"addToLists": [2], "removeFromLists": []},
        },
        {
            "id": 8,
            "name": "Confirm",
            "description": "[gdpr-as-code:confirm]",
            "type": "email.send.lead",
            "properties": {"email": "1"},
        },
    ]
    return fields, actions


def _others() -> dict[str, list[dict[str, Any]]]:
    return {
        "segments": [raw_segment(2, "Data Requested", "data-requested", "[gdpr-as-code:collected]")],
        "emails": [
            {
                "id": 1,
                "name": "GDPR request received",
                "customHtml": "<p>x</p>\n<!-- [gdpr-as-code:confirm] -->",
            }
        ],
    }


def form_diff(fields: list[dict[str, Any]], actions: list[dict[str, Any]]) -> list[tuple[str, Any, Any]]:
    live = converge.live_from_raw({**_others(), "forms": [_managed_form(fields, actions)]})
    desired = converge.desired_state(make_spec(fields=(), segments=(COLLECTED,), emails=(), forms=(FORM,)))
    return [
        (f.path, f.before, f.after)
        for c in converge.diff(desired, live)
        if c.kind == "forms"
        for f in c.fields
    ]


def test_a_converged_form_has_no_changes_even_with_ids_as_strings() -> None:
    assert form_diff(*_live_form_parts()) == []


def test_form_drift_is_reported_by_spec_key_not_by_position() -> None:
    fields, actions = _live_form_parts()
    fields[1]["mappedField"] = None  # the mapping Mautic did not store
    del actions[0]  # an action removed by hand
    actions.append(
        {
            "id": 9,
            "name": "Hand-made",
            "description": None,
            "type": "lead.changelist",
            "properties": {"addToLists": [99], "removeFromLists": []},
        }
    )
    changes = form_diff(fields, actions)
    paths = [path for path, _, _ in changes]
    assert paths == ["actions.#9", "actions.collect", "fields.request.mappedField"]
    assert changes[0][1]["properties"]["addToLists"] == ["#99"] and changes[0][2] is None
    assert changes[2][1:] == (None, "gdpr_request")


def test_a_deleted_form_field_is_planned_back_whole() -> None:
    fields, actions = _live_form_parts()
    changes = form_diff(fields[:1], actions)
    assert [(p, b) for p, b, _ in changes] == [("fields.request", None)]
    assert changes[0][2]["mappedField"] == "gdpr_request"


def test_plan_round_trips_through_json() -> None:
    fields, actions = _live_form_parts()
    live = converge.live_from_raw({**_others(), "forms": [_managed_form(fields[:1], actions)]})
    desired = converge.desired_state(make_spec(fields=(), segments=(COLLECTED,), emails=(), forms=(FORM,)))
    plan = Plan("https://mautic.example.com", converge.diff(desired, live), live.ids(), spec_sha256="ab")
    data = json.loads(json.dumps(plan.to_dict()))
    again = Plan.from_dict(data)
    assert again.to_dict() == data
    (change,) = (c for c in again.changes if c.kind == "forms")
    assert change.sub_ids == {"fields": {"email": 1}, "actions": {"collect": 7, "confirm": 8}}
    assert data["ids"] == {"@emails.confirm": 1, "@forms.gdpr_form": 5, "@segments.collected": 2}
    assert len(data["plan_sha256"]) == 64 and change.fingerprint


def test_an_edit_deep_in_a_long_consent_text_is_visible_in_the_plan() -> None:
    text = "Example Ltd uses cookies on this site. We only keep what we need, for as long as we need it."
    edited = text.replace("for as long as", "for longer than")
    change = Update(kind="focus", key="consent", name="Consent banner", mautic_id=4, desired={},
                    fields=(FieldChange("properties.content.tagline", edited, text),), fingerprint="0" * 64)
    lines = render_text(Plan("https://mautic.example.com", (change,))).splitlines()
    assert '  ~ focus.consent (id 4)  "Consent banner"' in lines
    assert (
        '      properties.content.tagline: "…p what we need, for longer than we need it." → '
        '"…p what we need, for as long as we need it."' in lines
    )


def test_a_segment_with_our_name_but_another_alias_is_in_the_way_too() -> None:
    live = converge.live_from_raw({"segments": [raw_segment(8, "Data Requested", "data-requested-2019")]})
    with pytest.raises(PlanError, match="unmanaged segment #8 with the same name 'Data Requested'"):
        converge.diff(converge.desired_state(make_spec(fields=(), emails=(), forms=())), live)
