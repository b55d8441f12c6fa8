"""Saved plans without a server: the file round-trip, its refusals, and the freshness rule (pure).

The same rules over HTTP, through ``apply PLANFILE`` against the sandbox, are in ``test_ci_flow.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gdpr_as_code import converge
from gdpr_as_code.converge.changes import Plan, Update, fingerprint, tool_version
from gdpr_as_code.errors import PlanError
from gdpr_as_code.guard.planfile import (
    StalePlanError,
    check_origin,
    is_plan_file,
    read_plan,
    save_plan,
    staleness,
)
from gdpr_as_code.redact import Redactor
from gdpr_as_code.spec import Segment, Spec, Target

URL = "https://mautic.example.org"
SCHEMA = json.loads((Path(__file__).parents[1] / "schemas" / "plan.schema.json").read_text())
FORGET = Segment("forget", "Request to be Forgotten", "request-to-be-forgotten")
ACCESS = Segment("access", "Data Requested", "data-requested")
NEW = Segment("new", "Brand new", "brand-new")


def raw_segment(id_: int, name: str, alias: str, key: str | None = None) -> dict[str, Any]:
    return {
        "id": id_, "name": name, "alias": alias, "publicName": name, "isPublished": True, "isGlobal": True,
        "description": f"[gdpr-as-code:{key}]" if key else None, "filters": [],
    }


LIVE = {
    "segments": [
        raw_segment(3, "Forget me (old name)", "request-to-be-forgotten", "forget"),
        raw_segment(4, "Data Requested", "data-requested", "access"),
        raw_segment(8, "Newsletter", "newsletter"),  # not managed: never touched
    ]
}


def make_plan(live: dict[str, list[dict[str, Any]]] | None = None) -> Plan:
    """Rename segment.forget (update #3), keep segment.access, create segment.new."""
    spec = Spec(Path("gdpr.yaml"), "5" * 64, Target(), {}, gdpr=None, consent=None, fields=(),
                segments=(FORGET, ACCESS, NEW), emails=(), forms=())
    state = converge.live_from_raw(live or LIVE)
    changes = converge.diff(converge.desired_state(spec), state)
    return Plan(URL, changes, ids=state.ids(), spec_sha256="5" * 64)


def changed(segment_id: int, **values: Any) -> dict[str, list[dict[str, Any]]]:
    """LIVE with one segment's attributes changed, as someone editing Mautic by hand would."""
    return {"segments": [{**raw, **values} if raw["id"] == segment_id else raw for raw in LIVE["segments"]]}


def test_saved_plan_round_trips_and_validates(tmp_path: Path) -> None:
    plan = make_plan()
    assert [(c.action, c.key) for c in plan.changes] == [("update", "forget"), ("create", "new")]
    path = tmp_path / "out" / "gdpr.plan"
    save_plan(plan, path, Path("configs/gdpr.yaml"), Redactor())
    document = json.loads(path.read_text())
    jsonschema.validate(document, SCHEMA)
    assert document["spec_path"] == "configs/gdpr.yaml" and document["tool_version"] == tool_version()
    assert is_plan_file(path) and not is_plan_file(Path(__file__).parents[1] / "configs" / "gdpr.yaml")
    loaded, spec_path = read_plan(path)
    assert (loaded, spec_path) == (plan, Path("configs/gdpr.yaml"))


def test_an_edited_plan_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gdpr.plan"
    save_plan(make_plan(), path, Path("gdpr.yaml"), Redactor())
    document = json.loads(path.read_text())
    document["changes"][0]["desired"]["name"] = "Something nobody reviewed"
    path.write_text(json.dumps(document))
    with pytest.raises(StalePlanError, match=r"changed after it was made .* not the plan that was reviewed"):
        read_plan(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("version: 1\n", "is not a plan file: it is not JSON"),
        ('{"hello": 1}', "is not a gdpr-as-code plan file"),
        ('{"format_version": 99, "plan_sha256": "x"}', "is a plan file of format 99; this gdpr-as-code"),
        ('{"format_version": 1, "plan_sha256": "x"}', "is a damaged plan file"),
    ],
)
def test_what_is_not_a_plan_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "gdpr.plan"
    path.write_text(content)
    with pytest.raises(StalePlanError, match=message):
        read_plan(path)


def test_a_plan_from_another_tool_version_spec_or_instance_is_refused() -> None:
    plan = make_plan()
    check_origin(plan, Path("p"), "5" * 64, URL + "/")  # same instance, spelled differently
    with pytest.raises(StalePlanError, match=r"made from another version of the spec \(sha256 555555555555…"):
        check_origin(plan, Path("p"), "6" * 64, URL)
    with pytest.raises(StalePlanError, match=r"made for https://mautic\.example\.org, but the connection"):
        check_origin(plan, Path("p"), "5" * 64, "https://other.example.org")
    old = Plan(URL, plan.changes, plan.ids, spec_sha256="5" * 64, tool_version="0.0.1")
    with pytest.raises(StalePlanError, match=r"made by gdpr-as-code 0\.0\.1; this is .*\(pin it in CI\)"):
        check_origin(old, Path("p"), "5" * 64, URL)


def test_unchanged_live_state_is_fresh() -> None:
    assert staleness(make_plan(), converge.live_from_raw(LIVE)) == []


def test_a_change_to_an_object_the_plan_does_not_touch_keeps_it_fresh() -> None:
    plan = make_plan()
    assert staleness(plan, converge.live_from_raw(changed(4, name="Data Requested (edited)"))) == []
    assert staleness(plan, converge.live_from_raw(changed(8, name="Newsletter (edited)"))) == []


def test_a_change_to_a_touched_object_makes_it_stale() -> None:
    plan = make_plan()
    assert staleness(plan, converge.live_from_raw(changed(3, isPublished=False))) == [
        "segment.forget (id 3): changed in Mautic since the plan"
    ]
    gone = {"segments": [raw for raw in LIVE["segments"] if raw["id"] != 3]}
    assert staleness(plan, converge.live_from_raw(gone)) == [
        "segment.forget (id 3): no longer in Mautic as planned"
    ]


def test_an_object_in_the_way_of_a_planned_create_makes_it_stale() -> None:
    plan = make_plan()
    managed = {"segments": [*LIVE["segments"], raw_segment(20, "Brand new", "brand-new", "new")]}
    assert staleness(plan, converge.live_from_raw(managed)) == [
        "segment.new: now exists in Mautic (id 20), planned as new"
    ]
    look_alike = {"segments": [*LIVE["segments"], raw_segment(21, "Brand new", "brand-new")]}
    assert staleness(plan, converge.live_from_raw(look_alike)) == [
        "segment.new: an unmanaged segment #21 with its alias appeared"
    ]
    same_name = {"segments": [*LIVE["segments"], raw_segment(22, "Brand new", "someone-elses")]}
    assert staleness(plan, converge.live_from_raw(same_name)) == [  # what stops a new plan stops a saved one
        "segment.new: an unmanaged segment #22 with its name appeared"
    ]


def test_a_plan_that_would_store_a_secret_is_not_saved(tmp_path: Path) -> None:
    path = tmp_path / "gdpr.plan"
    redactor = Redactor().with_secrets("Forgotten")
    with pytest.raises(PlanError, match=r"desired values of segment\.forget, segment\.new contain a secret"):
        save_plan(make_plan(), path, Path("gdpr.yaml"), redactor.with_secrets("Brand new"))
    assert not path.exists()


def test_the_spec_path_is_saved_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    save_plan(make_plan(), Path("gdpr.plan"), tmp_path / "gdpr" / "gdpr.yaml", Redactor())
    assert read_plan(Path("gdpr.plan"))[1] == Path("gdpr/gdpr.yaml")
    save_plan(make_plan(), Path("gdpr.plan"), Path("/elsewhere/gdpr.yaml"), Redactor())
    assert read_plan(Path("gdpr.plan"))[1] == Path("/elsewhere/gdpr.yaml")


def test_form_parts_recreated_by_hand_make_it_stale_even_with_the_same_content() -> None:
    data = {"name": "GDPR request", "fields": {"email": {"label": "Email"}}}
    parts = {"fields": {"email": 5}}
    change = Update(kind="forms", key="gdpr", name="GDPR request", mautic_id=3, desired=data, fields=(),
                    fingerprint=fingerprint(data), sub_ids=parts)
    plan = Plan(URL, (change,), tool_version=tool_version())

    def live(email_field_id: int) -> converge.LiveState:
        form = converge.Live("forms", 3, "gdpr", data, {"fields": {"email": email_field_id}})
        return converge.LiveState({"forms": (form,)})

    assert staleness(plan, live(5)) == []
    assert staleness(plan, live(9)) == ["form.gdpr (id 3): changed in Mautic since the plan"]
