"""plan / apply end to end over HTTP against the sandbox, with the spec users start from (configs/gdpr.yaml).

Fresh instance → apply → a second apply writes nothing (counted in the sandbox's own request log) → each
drift a person can cause in Mautic's UI is planned and repaired → --prune deletes only managed objects → an
unmanaged look-alike blocks the plan until ``import`` adopts it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdpr_as_code import converge
from gdpr_as_code.cli import main
from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.errors import PlanError
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import EnvTarget, client_from_env
from gdpr_as_code.mautic.policy import RetryPolicy
from gdpr_as_code.render.text import render_text
from gdpr_as_code.spec import Spec, load_spec

SPEC_PATH = Path(__file__).resolve().parents[1] / "configs" / "gdpr.yaml"
SANDBOX_ENV = {"MAUTIC_USERNAME": "admin", "MAUTIC_PASSWORD": "sandbox"}
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def connect(url: str, **options: Any) -> MauticClient:
    """A client on the sandbox; retries wait microseconds so fault tests stay fast."""
    retry = RetryPolicy(base_delay=0.001, max_delay=0.01, sleep=lambda _: None)
    return client_from_env(EnvTarget(url=url, auth="basic"), env=SANDBOX_ENV, retry=retry, **options)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})


@pytest.fixture
def client(sandbox: Any) -> Iterator[MauticClient]:
    with connect(sandbox.url) as made:
        yield made


def writes(controls: Any) -> list[str]:
    """Write requests in the sandbox's own log, as ``METHOD /path``."""
    return [f"{r['method']} {r['path']}" for r in controls.requests()["requests"] if r["method"] in WRITES]


def plan_and_apply(spec: Spec, client: MauticClient) -> Plan:
    """Plan and apply; return the plan that was applied."""
    planned = converge.plan(spec, client)
    converge.apply(planned, client)
    return planned


def live_id(client: MauticClient, kind: str, key: str) -> int:
    return converge.read_live(client).ids()[f"@{kind}.{key}"]


def test_fresh_apply_then_a_second_apply_makes_zero_writes(
    spec: Spec, client: MauticClient, controls: Any
) -> None:
    first = plan_and_apply(spec, client)
    assert first.counts() == {"adopt": 0, "add": objects_in(spec), "change": 0, "destroy": 0, "suppressed": 0}
    controls.clear_requests()
    second = converge.plan(spec, client)
    assert converge.apply(second, client) == ()
    assert render_text(second) == "No changes. Mautic 5.1.0 matches the spec."
    assert writes(controls) == []
    reads = controls.requests()["counts"]
    assert sum(reads.values()) == 5  # one list call per kind, nothing per object


def test_the_form_apply_creates_is_mapped_ordered_and_keeps_its_post_action(
    spec: Spec, client: MauticClient, api: httpx.Client
) -> None:
    plan_and_apply(spec, client)
    form = api.get(f"/api/forms/{live_id(client, 'forms', 'gdpr_request')}").json()["form"]
    fields = {f["alias"]: f for f in form["fields"]}
    assert (fields["email"]["mappedObject"], fields["email"]["mappedField"]) == ("contact", "email")
    assert fields["request"]["properties"]["optionlist"]["list"][1]["value"] == "forget"
    assert form["postAction"] == "message"
    in_order = [f["alias"] for f in sorted(form["fields"], key=lambda f: f["order"])]
    assert in_order == [f.key for f in spec.form("gdpr_request").fields]


def _focus(api: httpx.Client, client: MauticClient) -> tuple[int, dict[str, Any]]:
    focus_id = live_id(client, "focus", "consent")
    return focus_id, api.get(f"/api/focus/{focus_id}").json()["focus"]


def _form_part(api: httpx.Client, client: MauticClient, part: str, alias_or_key: str) -> tuple[int, int]:
    form_id = live_id(client, "forms", "gdpr_request")
    items = api.get(f"/api/forms/{form_id}").json()["form"][part]
    if part == "fields":
        (item,) = [f for f in items if f["alias"] == alias_or_key]
    else:
        (item,) = [a for a in items if f"[gdpr-as-code:{alias_or_key}]" in (a["description"] or "")]
    return form_id, item["id"]


def edit_consent_text(api: httpx.Client, client: MauticClient) -> None:
    focus_id, focus = _focus(api, client)
    api.patch(
        f"/api/focus/{focus_id}/edit",
        json={"style": focus["style"], "properties": {"content": {"tagline": "We sell your data."}}},
    )


def rename_segment(api: httpx.Client, client: MauticClient) -> None:
    api.patch(f"/api/segments/{live_id(client, 'segments', 'data_requested')}/edit", json={"name": "Renamed"})


def unpublish_segment(api: httpx.Client, client: MauticClient) -> None:
    api.patch(
        f"/api/segments/{live_id(client, 'segments', 'data_requested')}/edit", json={"isPublished": False}
    )


def delete_form_field(api: httpx.Client, client: MauticClient) -> None:
    form_id, field_id = _form_part(api, client, "fields", "email")
    api.delete(f"/api/forms/{form_id}/fields/delete", params={"fields[]": [field_id]})


def remove_form_action(api: httpx.Client, client: MauticClient) -> None:
    form_id, action_id = _form_part(api, client, "actions", "confirm")
    api.delete(f"/api/forms/{form_id}/actions/delete", params={"actions[]": [action_id]})


def unpublish_form(api: httpx.Client, client: MauticClient) -> None:
    api.patch(
        f"/api/forms/{live_id(client, 'forms', 'gdpr_request')}/edit",
        json={"isPublished": False, "postAction": "message"},
    )


DRIFTS: list[tuple[Callable[[httpx.Client, MauticClient], None], str, str]] = [
    (edit_consent_text, "focus.consent", "properties.content.tagline"),
    (rename_segment, "segment.data_requested", "name"),
    (unpublish_segment, "segment.data_requested", "isPublished"),
    (delete_form_field, "form.gdpr_request", "fields.email"),
    (remove_form_action, "form.gdpr_request", "actions.confirm"),
    (unpublish_form, "form.gdpr_request", "isPublished"),
]


@pytest.mark.parametrize(("drift", "address", "path"), DRIFTS, ids=[d[0].__name__ for d in DRIFTS])
def test_drift_is_planned_and_repaired(
    drift: Callable[[httpx.Client, MauticClient], None],
    address: str,
    path: str,
    spec: Spec,
    client: MauticClient,
    api: httpx.Client,
    controls: Any,
) -> None:
    plan_and_apply(spec, client)
    drift(api, client)
    planned = converge.plan(spec, client)
    (change,) = planned.actionable
    assert (change.action, change.address) == ("update", address)
    assert path in [f.path for f in change.fields]
    assert f"~ {address}" in render_text(planned)
    converge.apply(planned, client)
    controls.clear_requests()
    assert not converge.plan(spec, client).changes
    assert writes(controls) == []


def test_prune_deletes_only_managed_objects(spec: Spec, client: MauticClient, api: httpx.Client) -> None:
    plan_and_apply(spec, client)
    by_hand = api.post("/api/segments/new", json={"name": "Hand-made", "alias": "hand-made"}).json()["list"][
        "id"
    ]
    fewer = dataclasses.replace(spec, segments=tuple(s for s in spec.segments if s.key != "data_requested"))
    kept = converge.plan(fewer, client)
    (suppressed,) = kept.changes
    assert (suppressed.action, suppressed.address, suppressed.suppressed) == (
        "delete",
        "segment.data_requested",
        True,
    )
    assert converge.apply(kept, client) == ()
    pruned = converge.plan(fewer, client, prune=True)
    (outcome,) = converge.apply(pruned, client)
    assert (outcome.action, outcome.address) == ("delete", "segment.data_requested")
    remaining = {s["alias"] for s in api.get("/api/segments").json()["lists"].values()}
    # gdpr-as-code-fields: the registry of managed contact fields (Mautic keeps no marker in a field)
    assert remaining == {"request-to-be-forgotten", "hand-made", "gdpr-as-code-fields"}
    assert by_hand


def test_an_unmanaged_look_alike_blocks_the_plan_until_imported(
    spec: Spec, client: MauticClient, api: httpx.Client
) -> None:
    made = api.post(
        "/api/segments/new",
        json={"name": "Data requests (old)", "alias": "data-requested", "description": "made by hand"},
    ).json()["list"]
    with pytest.raises(PlanError, match=rf"gdpr-as-code import segment\.data_requested {made['id']}"):
        converge.plan(spec, client)
    outcome = converge.adopt(client, "segment.data_requested", made["id"], spec)
    assert outcome.detail == "marker written"
    planned = converge.plan(spec, client)
    adopted = [c for c in planned.changes if c.address == "segment.data_requested"]
    assert [(c.action, c.mautic_id) for c in adopted] == [("update", made["id"])]
    converge.apply(planned, client)
    segment = api.get(f"/api/segments/{made['id']}").json()["list"]
    assert segment["name"] == "Data Requested" and "[gdpr-as-code:data_requested]" in segment["description"]
    assert not converge.plan(spec, client).changes


@pytest.fixture
def cli_env(sandbox_env: dict[str, str]) -> None:
    """The connection variables a user sets, pointing at the sandbox (locks in tmp_path, see conftest)."""


def objects_in(spec: Spec) -> int:
    return sum(len(objects) for objects in converge.desired_state(spec).values())


def test_cli_plan_apply_plan_with_exit_codes(
    cli_env: None, spec: Spec, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    n = objects_in(spec)
    assert main(["plan", str(SPEC_PATH), "--detailed-exitcode"]) == 2
    first = capsys.readouterr().out
    assert "+ form.gdpr_request" in first and f"Plan: {n} to add, 0 to change, 0 to destroy." in first
    assert main(["apply", str(SPEC_PATH), "--receipts", str(tmp_path)]) == 1  # stdin is no terminal
    assert "rerun with --auto-approve" in capsys.readouterr().err
    assert main(["apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(tmp_path)]) == 0
    assert f"Apply complete! Resources: {n} added, 0 changed, 0 destroyed." in capsys.readouterr().out
    assert main(["plan", str(SPEC_PATH), "--detailed-exitcode"]) == 0
    assert capsys.readouterr().out.strip() == "No changes. Mautic 5.1.0 matches the spec."


def test_cli_look_alike_error_then_import(
    cli_env: None, api: httpx.Client, capsys: pytest.CaptureFixture[str]
) -> None:
    made = api.post(
        "/api/emails/new",
        json={
            "name": "GDPR erasure done",
            "subject": "Old",
            "emailType": "template",
            "customHtml": "<p>old</p>",
        },
    ).json()["email"]
    assert main(["plan", str(SPEC_PATH)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("Error: No safe plan:") and "Traceback" not in error
    assert f"`gdpr-as-code import email.erasure_done {made['id']}`" in error
    assert main(["import", "email.erasure_done", str(made["id"]), "--spec", str(SPEC_PATH)]) == 0
    assert f"Imported Mautic email #{made['id']} as email.erasure_done" in capsys.readouterr().out
    assert main(["plan", str(SPEC_PATH), "--detailed-exitcode"]) == 2
    assert f"~ email.erasure_done (id {made['id']})" in capsys.readouterr().out


def test_a_plan_read_back_from_json_applies_the_same(
    spec: Spec, client: MauticClient, api: httpx.Client
) -> None:
    plan_and_apply(spec, client)
    remove_form_action(api, client)
    rename_segment(api, client)
    saved = Plan.from_dict(json.loads(json.dumps(converge.plan(spec, client).to_dict(), sort_keys=True)))
    applied = converge.apply(saved, client)
    assert {c.address for c in applied} == {"form.gdpr_request", "segment.data_requested"}
    assert not converge.plan(spec, client).changes


def test_import_refuses_what_it_cannot_adopt(spec: Spec, client: MauticClient) -> None:
    plan_and_apply(spec, client)
    with pytest.raises(PlanError, match="has no segment with id 999"):
        converge.adopt(client, "segment.data_requested", 999, spec)
    with pytest.raises(PlanError, match=r"'campaign\.x' is not an object address"):
        converge.adopt(client, "campaign.x", 1, spec)
    with pytest.raises(PlanError, match=r"segment\.nope is not in"):
        converge.adopt(client, "segment.nope", 1, spec)
    other = live_id(client, "segments", "request_to_be_forgotten")
    with pytest.raises(PlanError, match="is already managed"):
        converge.adopt(client, "segment.data_requested", other, spec)
    assert converge.adopt(client, "segment.request_to_be_forgotten", other, spec).detail == "already managed"


def test_a_spec_whose_target_uses_oauth2_converges_too(sandbox: Any) -> None:
    """configs/gdpr-de.yaml: the URL from a spec variable, OAuth2 credentials from the env vars it names."""
    from gdpr_as_code.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET

    env = {"MAUTIC_CLIENT_ID": DEFAULT_CLIENT_ID, "MAUTIC_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
    german = load_spec(SPEC_PATH.with_name("gdpr-de.yaml"), variables={"mautic_url": sandbox.url}, env=env)
    with client_from_env(german.target, env=env) as client:
        assert converge.plan(german, client).counts()["add"] == objects_in(german)
        converge.apply(converge.plan(german, client), client)
        assert not converge.plan(german, client).changes
        assert client.stats.token_requests == 1
