"""Quirks of real Mautic 5.1 that a kinder sandbox once hid, reproduced on the sandbox with their evidence.

Each test reproduces the real behaviour on the sandbox over HTTP (the sandbox now does what Mautic does) and
checks that the tool copes with it as a user would see it: the plan converges, a second apply writes nothing.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import httpx

from gdpr_as_code import converge
from gdpr_as_code.mautic.client import EnvTarget, MauticClient, RetryPolicy, client_from_env
from gdpr_as_code.spec import load_spec

SPEC_PATH = Path(__file__).resolve().parents[1] / "configs" / "gdpr.yaml"
SANDBOX_ENV = {"MAUTIC_USERNAME": "admin", "MAUTIC_PASSWORD": "sandbox"}


def connect(url: str) -> MauticClient:
    retry = RetryPolicy(base_delay=0.001, max_delay=0.01, sleep=lambda _: None)
    return client_from_env(EnvTarget(url=url, auth="basic"), env=SANDBOX_ENV, retry=retry)


def writes(controls: Any) -> list[str]:
    methods = ("POST", "PUT", "PATCH", "DELETE")
    return [f"{r['method']} {r['path']}" for r in controls.requests()["requests"] if r["method"] in methods]


def test_mautic_drops_unknown_contact_field_properties(api: httpx.Client) -> None:
    """``FormFieldHelper::validateProperties`` (Mautic 5.1 LeadBundle/Helper/FormFieldHelper.php L121-138)
    unsets every key a type does not define: no marker can live in a field's ``properties``."""
    sent = {"list": [{"label": "A", "value": "a"}], "gdprAsCode": "[gdpr-as-code:x]"}
    made = api.post(
        "/api/fields/contact/new",
        json={"label": "Choice", "alias": "choice", "type": "select", "properties": sent},
    ).json()["field"]
    assert made["properties"] == {"list": [{"label": "A", "value": "a"}]}
    text = api.post(
        "/api/fields/contact/new",
        json={"label": "Note", "alias": "note", "type": "text", "properties": {"gdprAsCode": "x"}},
    ).json()["field"]
    assert text["properties"] == {}


def test_contact_fields_stay_managed_through_the_registry(
    sandbox: Any, controls: Any, api: httpx.Client
) -> None:
    spec = load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})
    with connect(sandbox.url) as client:
        converge.apply(converge.plan(spec, client), client)
        live = converge.read_live(client)
        managed = live.managed("fields")
        assert set(managed) == {f.key for f in spec.fields}
        controls.clear_requests()
        assert not converge.plan(spec, client).has_changes
        assert writes(controls) == []
        # A field someone made by hand with an alias the spec wants is never taken over silently ...
        key = spec.fields[0].key
        field_id = managed[key][0].id
        registry = next(
            s
            for s in api.get("/api/segments").json()["lists"].values()
            if s["alias"] == "gdpr-as-code-fields"
        )
        api.patch(f"/api/segments/{registry['id']}/edit", json={"description": "[gdpr-as-code-fields] {}"})
        assert converge.read_live(client).managed("fields") == {}
        # ... until it is imported, which lists it in the registry again.
        outcome = converge.adopt(client, f"field.{key}", field_id, spec)
        assert outcome.detail == "listed in the field registry"
        assert set(converge.read_live(client).managed("fields")) == {key}


def test_email_body_that_mautic_reformats_still_converges(
    sandbox: Any, controls: Any, api: httpx.Client
) -> None:
    """Mautic rebuilds every tag of ``customHtml`` (EmailType.php L56 → ``InputHelper::html`` → Joomla
    ``InputFilter::cleanTags``): a tag never closed is stored as ``<br />``. A body with ``<br>`` used to
    plan an update forever and fail verification."""
    spec = load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})
    first = dataclasses.replace(spec.emails[0], html="<p>Hello<br>you<img src='logo.png' ALT=x></p>")
    spec = dataclasses.replace(spec, emails=(first, *spec.emails[1:]))
    with connect(sandbox.url) as client:
        converge.apply(converge.plan(spec, client), client)
        stored = [e["customHtml"] for e in api.get("/api/emails").json()["emails"].values()]
        assert any("<br />" in body for body in stored)
        controls.clear_requests()
        assert not converge.plan(spec, client).has_changes
        assert writes(controls) == []
        # a real edit still shows
        changed = dataclasses.replace(first, html="<p>Hello<br>there</p>")
        plan = converge.plan(dataclasses.replace(spec, emails=(changed, *spec.emails[1:])), client)
        assert [c.address for c in plan.changes] == [f"email.{first.key}"]


def test_segment_name_that_mautic_escapes_still_converges(
    sandbox: Any, controls: Any, api: httpx.Client
) -> None:
    """``ListType`` cleans a segment's name and public name with ``InputHelper::clean`` (ListType.php L38),
    PHP's FILTER_SANITIZE_SPECIAL_CHARS: ``&`` is stored as ``&#38;``."""
    spec = load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})
    first = dataclasses.replace(spec.segments[0], name="Access & erasure's requests")
    spec = dataclasses.replace(spec, segments=(first, *spec.segments[1:]))
    with connect(sandbox.url) as client:
        converge.apply(converge.plan(spec, client), client)
        names = {s["name"] for s in api.get("/api/segments").json()["lists"].values()}
        assert "Access &#38; erasure&#39;s requests" in names
        controls.clear_requests()
        assert not converge.plan(spec, client).has_changes
        assert writes(controls) == []


def test_contact_field_texts_that_mautic_escapes_still_converge(
    sandbox: Any, controls: Any, api: httpx.Client
) -> None:
    """``setFieldProperties`` cleans options with ``InputHelper::clean`` (FieldModel.php L837), and
    ``FieldType`` a non-choice field's label (FieldType.php L470-475): ``'`` is stored as ``&#39;``."""
    spec = load_spec(SPEC_PATH, env={"MAUTIC_URL": "http://127.0.0.1"})
    choice = next(f for f in spec.fields if f.type in ("select", "multiselect"))
    flag = next(f for f in spec.fields if f.type == "boolean")
    label, value = choice.options[0]
    edited = {
        choice.key: dataclasses.replace(choice, options=((f"{label} & more's", value), *choice.options[1:])),
        flag.key: dataclasses.replace(flag, label="Consent (it's yours & ours)"),
    }
    spec = dataclasses.replace(spec, fields=tuple(edited.get(f.key, f) for f in spec.fields))
    with connect(sandbox.url) as client:
        converge.apply(converge.plan(spec, client), client)
        stored = {f["alias"]: f for f in api.get("/api/fields/contact").json()["fields"].values()}
        assert stored[flag.alias]["label"] == "Consent (it&#39;s yours &#38; ours)"
        assert stored[choice.alias]["properties"]["list"][0]["label"] == f"{label} &#38; more&#39;s"
        controls.clear_requests()
        assert not converge.plan(spec, client).has_changes
        assert writes(controls) == []
