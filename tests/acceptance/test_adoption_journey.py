"""Bringing a hand-made Mautic under management, on a real Mautic (the issue's journey).

The seed's setup is built by hand through the API as a person builds it in the UI (no markers, static
segments, a select field on the request form, a confirmation email, a consent focus item), plus a newsletter
form without consent. ``audit`` names the newsletter form; ``export --all --out`` writes a spec that
validates and whose plan creates nothing (it adopts); ``apply`` writes the markers, after which ``plan`` says
no changes; no object is duplicated or lost.
"""

from __future__ import annotations

import json

from handmade import build_seed_by_hand

from .conftest import RealMautic
from .tooling import Tool

NO_CHANGES = "No changes. Mautic matches the spec."


def test_a_hand_made_setup_is_audited_exported_and_adopted(mautic: RealMautic, tool: Tool) -> None:
    with mautic.api() as api:
        ids = build_seed_by_hand(api)
    before = mautic.inventory()
    tool.point_at(mautic)

    mautic.proxy.clear()
    audited = tool("audit", "--json")
    report = json.loads(audited.out)
    assert audited.code == 2, audited.err
    named = [f["object"] for f in report["findings"] if f["check"] == "form-without-consent"]
    assert named == [{"kind": "form", "id": ids["newsletter"], "name": "Newsletter"}]
    assert mautic.proxy.writes() == [] and len(mautic.proxy.calls) <= 12

    (tool.work / "adopted").mkdir()
    mautic.proxy.clear()
    exported = tool("export", "--all", "--out", "adopted/gdpr.yaml")
    assert exported.code == 0, exported.err
    assert "7 to adopt" in exported.out and mautic.proxy.writes() == []
    assert tool("validate", "adopted/gdpr.yaml").code == 0
    planned = tool("plan", "adopted/gdpr.yaml", "--json")
    plan = json.loads(planned.out)
    assert planned.code == 0 and plan["counts"]["add"] == 0 and plan["counts"]["adopt"] == 7, planned.err
    assert all(change["action"] != "create" for change in plan["changes"])

    applied = tool("apply", "adopted/gdpr.yaml", "--auto-approve")
    assert applied.code == 0 and "7 adopted, 0 added" in applied.out, applied.err
    again = tool("plan", "adopted/gdpr.yaml", "--detailed-exitcode")
    assert (again.code, again.out.strip()) == (0, NO_CHANGES), again.err

    after = mautic.inventory()
    assert {kind: after[kind] - before[kind] for kind in after} == {
        "segments": after["segments"] - before["segments"], "fields": set(), "forms": set(), "focus": set(),
        "emails": set(), "contacts": set()}
    assert len(after["segments"] - before["segments"]) == 1  # the field registry, nothing else
    assert before["segments"] <= after["segments"] and all(before[k] <= after[k] for k in before)
