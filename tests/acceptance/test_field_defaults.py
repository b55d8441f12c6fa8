"""Which ``defaultValue`` real Mautic accepts for each contact field type (issue 10's 400), asked directly.

The same table is replayed on the sandbox from the recording in ``tests/recorded/<version>/field-defaults``
(``tests/test_sandbox_field_defaults.py``), so the sandbox cannot forgive a body that Mautic refuses.
"""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import RealMautic

OPTIONS = [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}]
MISSING = object()
# (type, defaultValue sent, status Mautic answers): measured on 5.1.0 and 7.0.2 alike.
TABLE: list[tuple[str, Any, int]] = [
    *[("multiselect", sent, status) for sent, status in
      [("", 400), ("a", 400), (["a"], 201), (None, 201), ("zzz", 400), (MISSING, 201), (["a", "b"], 201)]],
    *[("select", sent, status) for sent, status in
      [("", 201), ("a", 201), (["a"], 400), (None, 201), ("zzz", 400), (MISSING, 201)]],
    *[("boolean", sent, status) for sent, status in [("", 201), (None, 201), ("1", 201), ("x", 400)]],
    ("number", "x", 201),
    ("text", "anything", 201),
    ("text", "", 201),
]


def test_contact_field_defaults_are_accepted_or_refused_per_type(mautic: RealMautic) -> None:
    auth: Any = (mautic.username, mautic.password)
    headers = {}
    if mautic.has_oauth2:
        auth, headers = None, {"Authorization": f"Bearer {mautic.token()}"}
    got = []
    with httpx.Client(base_url=mautic.proxy.url, auth=auth, headers=headers, timeout=120) as api:
        for number, (type_, sent, _) in enumerate(TABLE):
            properties: Any = {"list": OPTIONS} if type_ in ("select", "multiselect") else {}
            if type_ == "boolean":
                properties = {"no": "No", "yes": "Yes"}
            body = {"label": f"Default probe {number}", "alias": f"default_probe_{number}", "type": type_,
                    "properties": properties}
            if sent is not MISSING:
                body["defaultValue"] = sent
            answer = api.post("/api/fields/contact/new", json=body)
            got.append((type_, sent, answer.status_code))
            if answer.status_code == 201:
                api.delete(f"/api/fields/contact/{answer.json()['field']['id']}/delete")
    assert got == TABLE, [(row, mine) for row, mine in zip(got, TABLE, strict=True) if row != mine]


def test_choice_fields_without_a_default_are_created_by_the_tool(mautic: RealMautic, tool: Any) -> None:
    """The journey that failed first: choice fields with no default, through the tool, then converged."""
    spec = tool.work / "fields.yaml"
    fields = "".join(
        f"  probe_{type_}:\n    alias: default_probe_{type_}\n    label: Probe {type_}\n    type: {type_}\n"
        + ("    options:\n      - {label: A, value: a}\n" if type_ != "boolean" else "")
        for type_ in ("multiselect", "select", "boolean")
    )
    head = f"version: 1\ntarget: {{auth: {mautic.preferred_auth()}}}\nfields:\n"
    spec.write_text(head + fields, encoding="utf-8")
    tool.point_at(mautic)
    applied = tool("apply", spec, "--auto-approve")
    assert applied.code == 0, applied.err
    again = tool("plan", spec, "--detailed-exitcode")
    assert again.code == 0, again.out + again.err
