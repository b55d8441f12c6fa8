"""Bringing a hand-made Mautic under management, on a real Mautic (the issue's journey).

The seed's setup is built by hand through the API as a person builds it in the UI (no markers, static
segments, a select field on the request form, a confirmation email, a consent focus item), plus a newsletter
form without consent. ``audit`` names the newsletter form; ``export --all --out`` writes a spec that
validates and whose plan creates nothing (it adopts); ``apply`` writes the markers, after which ``plan`` says
no changes; no object is duplicated or lost. Then, with consent on every form applied (a form added by hand
after the export included), ``audit`` no longer names the newsletter form, and no other field of the forms
changed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from handmade import add_webinar, build_seed_by_hand, complete_the_exported_spec

from .conftest import RealMautic
from .tooling import Tool

NO_CHANGES = re.compile(r"No changes\. Mautic [\d.]+ matches the spec\.")


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
    assert again.code == 0 and NO_CHANGES.fullmatch(again.out.strip()), again.out + again.err

    after = mautic.inventory()
    assert {kind: after[kind] - before[kind] for kind in after} == {
        "segments": after["segments"] - before["segments"], "fields": set(), "forms": set(), "focus": set(),
        "emails": set(), "contacts": set()}
    assert len(after["segments"] - before["segments"]) == 1  # the field registry, nothing else
    assert before["segments"] <= after["segments"] and all(before[k] <= after[k] for k in before)

    with mautic.api() as api:
        webinar = add_webinar(api)
        kept = {form_id: _fields(api, form_id) for form_id in (ids["newsletter"], webinar["id"])}
    spec = tool.work / "adopted" / "gdpr.yaml"
    complete_the_exported_spec(spec)
    consented = tool("apply", spec, "--auto-approve")
    assert consented.code == 0 and f"form #{webinar['id']}" in consented.out, consented.err
    audited = tool("audit", spec, "--json")
    assert audited.code == 0, audited.out + audited.err
    with mautic.api() as api:
        for form_id, fields in kept.items():
            now = _fields(api, form_id)
            assert "gdpr_consent" in [alias for _, alias, _ in now]
            assert [f for f in now if f[1] != "gdpr_consent"] == fields
        assert "gdpr_consent" not in [alias for _, alias, _ in _fields(api, ids["form"])]  # Art. 7(4)


def _fields(api: Any, form_id: int) -> list[tuple[int, str, str]]:
    form = api.get(f"/api/forms/{form_id}").json()["form"]
    return [(f["id"], f["alias"], f["label"]) for f in sorted(form["fields"], key=lambda f: f["order"])]
