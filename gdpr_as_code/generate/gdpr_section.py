"""The exported spec's ``gdpr:`` section, filled from the seed's setup as ``audit.setup`` recognises it.

Complete (request field, form, and each request type's value, segment and email found and exported), it is
written as YAML with a comment per guess; incomplete, as a commented draft naming what is missing, so the spec
still validates as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gdpr_as_code.audit.setup import Raw, Setup

Keys = Mapping[tuple[str, int], str]


def _key(keys: Keys, entries: Mapping[str, Any], kind: str, raw: Raw | None) -> str | None:
    """The exported spec key of ``raw`` (None when it was not found or not exported)."""
    if raw is None:
        return None
    key = keys.get((kind, int(raw["id"])))
    return key if key is not None and key in entries.get(kind, {}) else None


def gdpr_section(setup: Setup, keys: Keys, entries: Mapping[str, Any]
                 ) -> tuple[dict[str, Any], list[str], list[str]]:
    """``(section, guesses, missing)``: the ``gdpr:`` mapping, what each value was guessed from, and what is
    missing for it to validate (empty: write it)."""
    missing: list[str] = []
    field_key = _key(keys, entries, "fields", setup.request_field)
    form_key = _key(keys, entries, "forms", setup.form)
    if field_key is None:
        missing.append("no request field (a select contact field offering access and erasure) was found")
    if form_key is None:
        missing.append("no request form (a form filling the request field) was found")
    requests: dict[str, Any] = {}
    for kind in ("access", "erasure"):
        segment = _key(keys, entries, "segments", setup.segments.get(kind))
        email = _key(keys, entries, "emails", setup.emails.get(kind))
        value = setup.values.get(kind)
        for what, found in (("option value", value), ("segment", segment), ("notification email", email)):
            if found is None:
                missing.append(f"no {what} for {kind} requests was found")
        requests[kind] = {"value": value or "TODO", "segment": segment or "TODO", "email": email or "TODO"}
    section: dict[str, Any] = {"request_form": form_key or "TODO", "request_field": field_key or "TODO",
                               "deadline_days": 30, "requests": requests}
    consent = _consent(setup, keys, entries)
    if consent:
        section["consent"] = consent
    # What Mautic does today: erasures on the form's word alone. Written out, so the choice is visible.
    section["verification"] = {"erasure": False}
    guesses = [*setup.guesses, "deadline_days: 30, the one month of Art. 12(3) (Mautic does not know it)",
               "verification: erasure: false, as the setup works today; name an email with a link in "
               "gdpr.verification.email to verify the requester first (docs/requests.md)",
               "data_inventory: not in Mautic; add what you keep, why and how long (the right to know)"]
    return section, guesses, missing


def _consent(setup: Setup, keys: Keys, entries: Mapping[str, Any]) -> dict[str, Any] | None:
    """``consent:`` when the exported forms record consent in one boolean field: ``required`` when every
    one of them has the required checkbox already (so nothing changes)."""
    alias = setup.consent_field
    fields = entries.get("fields", {})
    field_key = next((k for k, f in fields.items() if f.get("alias") == alias), None)
    if alias is None or field_key is None:
        return None
    forms = entries.get("forms", {})
    boxes = [f for form in forms.values() for f in form["fields"].values() if f.get("contact_field") == alias]
    if not boxes:
        return None
    first = boxes[0]
    choices = first.get("options") or []
    label = choices[0]["label"] if choices else first.get("label")
    everywhere = all(
        any(f.get("contact_field") == alias and f.get("required") and f.get("type") == "checkboxgrp"
            for f in form["fields"].values())
        for form in forms.values())
    return {"required": everywhere, "label": label, "heading": first.get("label"), "field": field_key}

