"""The sandbox accepts and refuses contact field defaults exactly as real Mautic did, replayed from the
recordings of ``tests/acceptance/test_field_defaults.py`` (one per Mautic version)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from recordings import RECORDED_ROOT, exchange_files, read_exchange

VERSIONS = ["5.1.0", "7.0.2"]


def creates(version: str) -> list[dict[str, Any]]:
    folder = RECORDED_ROOT / version / "field-defaults"
    found = [read_exchange(p) for p in exchange_files(folder) if "_POST_" in p.name]
    assert len(found) >= 17, f"the field-defaults recording of {version} is incomplete"
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_each_default_is_accepted_or_refused_as_mautic_did(version: str, api: httpx.Client) -> None:
    for exchange in creates(version):
        sent, recorded = exchange["request"]["body"], exchange["response"]
        answer = api.post("/api/fields/contact/new", json=sent)
        what = f"{sent['type']} defaultValue={sent.get('defaultValue', '<left out>')!r}"
        assert answer.status_code == recorded["status"], what
        if answer.status_code == 201:
            stored = json.loads(recorded["raw"])["field"]["defaultValue"]
            assert answer.json()["field"]["defaultValue"] == stored, what
            api.delete(f"/api/fields/contact/{answer.json()['field']['id']}/delete")
        elif version == "5.1.0":
            assert answer.json() == json.loads(recorded["raw"]), what


def test_an_edit_may_clear_a_multiselect_default_with_an_empty_string(api: httpx.Client) -> None:
    """Seen on real 5.1.0: ``""`` is refused on create but clears the default on edit."""
    made = api.post("/api/fields/contact/new", json={
        "label": "Topics", "type": "multiselect", "defaultValue": ["a"],
        "properties": {"list": [{"label": "A", "value": "a"}]}}).json()["field"]
    assert made["defaultValue"] == "a"
    edited = api.patch(f"/api/fields/contact/{made['id']}/edit", json={"defaultValue": ""})
    assert edited.status_code == 200 and edited.json()["field"]["defaultValue"] == ""
