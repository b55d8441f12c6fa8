"""The setup journeys on a real Mautic: converge, drift and repair, prune and import, saved plans, both auths.

Each runs ``gdpr-as-code`` as a process against the instance named by ``GDPR_AS_CODE_TEST_MAUTIC_*``; the
proxy in front of it counts what the tool sends, so "a second apply writes nothing" is counted, not assumed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .conftest import RealMautic
from .tooling import Tool, rows


def no_changes(mautic: RealMautic) -> str:
    """What a converged plan prints: it names the Mautic version the instance answered with."""
    return f"No changes. Mautic {mautic.version} matches the spec."


def by_name(api: httpx.Client, path: str, key: str, name: str) -> dict[str, Any]:
    """The one live object of a kind with this name (one list call)."""
    found = [r for r in rows(api.get(path, params={"limit": 1000}).json(), key) if r.get("name") == name]
    assert len(found) == 1, f"{len(found)} objects named {name!r} at {path}"
    return found[0]


def converge(tool: Tool, spec: Any) -> None:
    applied = tool("apply", spec, "--auto-approve")
    assert applied.code == 0, applied.out + applied.err


@pytest.mark.parametrize("spec_name", ["gdpr.yaml", "gdpr-de.yaml"])
def test_spec_converges_and_a_second_apply_writes_nothing(
    spec_name: str, mautic: RealMautic, tool: Tool
) -> None:
    tool.point_at(mautic, "oauth2" if mautic.has_oauth2 else "basic")
    spec = tool.spec(spec_name, auth=mautic.preferred_auth())
    first = tool("plan", spec, "--detailed-exitcode")
    assert first.code == 2, first.err
    added = int(re.search(r"Plan: (\d+) to add, 0 to change, 0 to destroy\.", first.out)[1])  # type: ignore[index]
    converge(tool, spec)
    mautic.proxy.clear()
    second = tool("plan", spec, "--detailed-exitcode")
    assert (second.code, second.out.strip()) == (0, no_changes(mautic)), second.err
    assert len(mautic.proxy.api_calls()) == 5, mautic.proxy.api_calls()  # the same on 5.1 and 7.0
    mautic.proxy.clear()
    again = tool("apply", spec, "--auto-approve")
    assert again.code == 0, again.err
    assert mautic.proxy.writes() == []  # counted at the proxy: not one POST, PATCH, PUT or DELETE
    assert added >= 9


def test_basic_auth_converges_too(mautic: RealMautic, tool: Tool) -> None:
    if not mautic.username:
        pytest.skip("GDPR_AS_CODE_TEST_MAUTIC_USERNAME is not set")
    tool.point_at(mautic, "basic")
    spec = tool.spec(auth="basic")
    converge(tool, spec)
    assert tool("plan", spec, "--detailed-exitcode").code == 0


def _form(api: httpx.Client) -> dict[str, Any]:
    form_id = by_name(api, "/api/forms", "forms", "GDPR request")["id"]
    return api.get(f"/api/forms/{form_id}").json()["form"]


def rename_segment(api: httpx.Client) -> None:
    segment = by_name(api, "/api/segments", "lists", "Data Requested")
    api.patch(f"/api/segments/{segment['id']}/edit", json={"name": "Renamed by hand"}).raise_for_status()


def unpublish_form(api: httpx.Client) -> None:
    api.patch(f"/api/forms/{_form(api)['id']}/edit", json={"isPublished": False}).raise_for_status()


def edit_focus_headline(api: httpx.Client) -> None:
    focus = by_name(api, "/api/focus", "focus", "Consent banner")
    content = {"content": {"headline": "We sell your data"}}
    api.patch(f"/api/focus/{focus['id']}/edit", json={"style": focus["style"], "properties": content})


def delete_form_field(api: httpx.Client) -> None:
    form = _form(api)
    (field,) = [f for f in form["fields"] if f["alias"] == "name"]
    api.delete(f"/api/forms/{form['id']}/fields/delete", params={"fields[]": [field["id"]]})


def remove_form_action(api: httpx.Client) -> None:
    form = _form(api)
    (action,) = form["actions"]
    api.delete(f"/api/forms/{form['id']}/actions/delete",
               params={"actions[]": [action["id"]]}).raise_for_status()


def change_email_subject(api: httpx.Client) -> None:
    email = by_name(api, "/api/emails", "emails", "GDPR erasure done")
    api.patch(f"/api/emails/{email['id']}/edit", json={"subject": "Changed by hand"}).raise_for_status()


# Each hand edit, and what the plan then names: the object and the attribute that drifted.
DRIFTS: list[tuple[Callable[[httpx.Client], None], str, str]] = [
    (rename_segment, "~ segment.data_requested", "name:"),
    (unpublish_form, "~ form.gdpr_request", "isPublished:"),
    (edit_focus_headline, "~ focus.consent", "properties.content.headline:"),
    (delete_form_field, "~ form.gdpr_request", "+ fields.name"),
    (remove_form_action, "~ form.gdpr_request", "+ actions.confirm"),
    (change_email_subject, "~ email.erasure_done", "subject:"),
]


def test_drift_made_by_hand_in_every_kind_is_planned_and_repaired(mautic: RealMautic, tool: Tool) -> None:
    """Six hand edits across segments, forms (a field, an action, publication), focus items and emails: one
    plan names each, one apply repairs them all, and the next plan and apply have nothing to do."""
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    converge(tool, spec)
    with mautic.api() as api:
        for drift, _, _ in DRIFTS:
            drift(api)
    planned = tool("plan", spec, "--detailed-exitcode")
    assert planned.code == 2, planned.out + planned.err
    for drift, address, attribute in DRIFTS:
        section = planned.out.split(address, 1)[-1].split("\n  ~ ", 1)[0] if address in planned.out else ""
        assert attribute in section, f"{drift.__name__}: {attribute!r} not under {address} in\n{planned.out}"
    assert "0 to add, 4 to change, 0 to destroy" in planned.out, planned.out
    # the form was unpublished by a PATCH without postAction, which Mautic reset: the plan says why it changes
    assert 'postAction: "return" → "message"' in planned.out, planned.out
    assert 'Mautic resets it to "return" when a form is saved without it' in planned.out
    # 4 of the 11 managed objects (36%) is past the safety threshold: refused before any write, then allowed
    mautic.proxy.clear()
    refused = tool("apply", spec, "--auto-approve")
    assert refused.code == 1 and "Not applying: this plan updates 4 of the 11 managed objects" in refused.err
    assert mautic.proxy.writes() == []
    assert tool("apply", spec, "--auto-approve", "--allow-large-changes").code == 0
    after = tool("plan", spec, "--detailed-exitcode")
    assert (after.code, after.out.strip()) == (0, no_changes(mautic)), after.out + after.err
    mautic.proxy.clear()
    assert tool("apply", spec, "--auto-approve").code == 0
    assert mautic.proxy.writes() == []


NEWSLETTER = """  newsletter:
    name: Newsletter readers
    alias: newsletter-readers
    description: Made by the tool for this test, to be pruned.
"""


def test_prune_deletes_only_what_the_tool_made_and_import_adopts_a_look_alike(
    mautic: RealMautic, tool: Tool
) -> None:
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    text = spec.read_text(encoding="utf-8")
    spec.write_text(text.replace("\nsegments:\n", "\nsegments:\n" + NEWSLETTER, 1), encoding="utf-8")
    converge(tool, spec)
    with mautic.api() as api:
        hand = api.post("/api/segments/new", json={"name": "Hand-made", "alias": "hand-made"}).json()["list"]
        newsletter = by_name(api, "/api/segments", "lists", "Newsletter readers")["id"]
    spec.write_text(text, encoding="utf-8")
    kept = tool("plan", spec, "--detailed-exitcode")
    assert kept.code == 0, kept.out + kept.err  # without --prune, an object left out of the spec stays
    mautic.proxy.clear()
    refused = tool("apply", spec, "--prune", "--auto-approve")  # the safety threshold: any delete
    assert refused.code == 1 and "Not applying: this plan deletes 1 managed object(s) (segment.newsletter)" \
        in refused.err, refused.out + refused.err
    assert mautic.proxy.writes() == []
    pruned = tool("apply", spec, "--prune", "--auto-approve", "--allow-large-changes")
    assert pruned.code == 0 and "1 destroyed" in pruned.out, pruned.out + pruned.err
    with mautic.api() as api:
        assert api.get(f"/api/segments/{newsletter}").status_code == 404
        assert api.get(f"/api/segments/{hand['id']}").status_code == 200  # not the tool's: never touched
        forgotten = by_name(api, "/api/segments", "lists", "Request to be Forgotten")["id"]
        api.delete(f"/api/segments/{forgotten}/delete").raise_for_status()
        old = {"name": "Forget requests (old)", "alias": "request-to-be-forgotten", "description": "by hand"}
        look_alike = api.post("/api/segments/new", json=old).json()["list"]
    blocked = tool("plan", spec)
    command = f"gdpr-as-code import segment.request_to_be_forgotten {look_alike['id']}"
    assert blocked.code == 1 and command in blocked.err, blocked.err
    assert tool("import", "segment.request_to_be_forgotten", str(look_alike["id"]), "--spec", spec).code == 0
    converge(tool, spec)
    assert tool("plan", spec, "--detailed-exitcode").code == 0
    with mautic.api() as api:
        adopted = api.get(f"/api/segments/{look_alike['id']}").json()["list"]
    assert adopted["name"] == "Request to be Forgotten"  # adopted in place: nothing recreated


def test_saved_plans_apply_fresh_refuse_stale_and_survive_unrelated_changes(
    mautic: RealMautic, tool: Tool
) -> None:
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    assert tool("plan", spec, "--out", "fresh.plan").code == 0
    applied = tool("apply", "fresh.plan")
    assert applied.code == 0, applied.err
    with mautic.api() as api:
        forget = by_name(api, "/api/segments", "lists", "Request to be Forgotten")["id"]
        collected = by_name(api, "/api/segments", "lists", "Data Requested")["id"]
        api.patch(f"/api/segments/{forget}/edit", json={"name": "Forget me (by hand)"}).raise_for_status()
        assert tool("plan", spec, "--out", "touched.plan").code == 0
        api.patch(f"/api/segments/{collected}/edit", json={"name": "Unrelated edit"}).raise_for_status()
        assert tool("plan", spec, "--out", "both.plan").code == 0
        api.patch(f"/api/segments/{forget}/edit", json={"isPublished": False}).raise_for_status()
        stale = tool("apply", "both.plan")
        assert stale.code == 1 and "stale" in stale.err and "Nothing was written" in stale.err, stale.err
        api.patch(f"/api/segments/{forget}/edit", json={"isPublished": True}).raise_for_status()
        assert tool("plan", spec, "--out", "good.plan").code == 0
        api.post("/api/segments/new", json={"name": "Someone else's", "alias": "someone-else"})
        mautic.proxy.clear()
        good = tool("apply", "good.plan")
        assert good.code == 0, good.err
        edits = [w for w in mautic.proxy.writes() if "/segments/" in w and "lock" not in w]
        assert f"PATCH /api/segments/{forget}/edit" in edits
        assert api.get(f"/api/segments/{forget}").json()["list"]["name"] == "Request to be Forgotten"
    plan = json.loads((tool.work / "good.plan").read_text())
    assert plan["counts"]["change"] == 2


def test_an_email_preheader_is_managed_where_mautic_has_one(mautic: RealMautic, tool: Tool) -> None:
    """preheaderText came with Mautic 5.2: on 7.0 it converges like any attribute, on 5.1 the plan refuses
    it with the spec line instead of planning it forever."""
    tool.point_at(mautic)
    spec = tool.spec(auth=mautic.preferred_auth())
    subject = "    subject: We received your request\n"
    spec.write_text(spec.read_text().replace(subject, f"{subject}    preheader: We answer within a month.\n"))
    if mautic.version.startswith("5.1"):
        refused = tool("plan", spec)
        assert refused.code != 0 and "preheader needs Mautic 5.2 or later" in refused.err, refused.err
        return
    converge(tool, spec)
    again = tool("plan", spec, "--detailed-exitcode")
    assert (again.code, again.out.strip()) == (0, no_changes(mautic)), again.out + again.err
    with mautic.api() as api:
        email = by_name(api, "/api/emails", "emails", "GDPR request received")
    assert email["preheaderText"] == "We answer within a month."
