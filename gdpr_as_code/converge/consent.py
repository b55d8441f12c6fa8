"""Consent on every form: the checkbox for forms in Mautic that the spec does not manage.

    consent_changes(spec, live)    -> tuple[Consent]    pure

With ``gdpr.consent.forms`` set to ``all`` (or names and patterns), each published form that collects an email
address and has no field filling the consent field gets the required checkbox, before its first button.
Inside such a form the tool owns that one field only: apply sends the other fields by id alone, in the order
they have (so Mautic keeps every one as it is), and never deletes one. Exempt: the spec's own forms (they get
the checkbox from the spec), forms being adopted, forms named under ``exempt``, and the GDPR request form
(one filling the request field), as ``ConsentSettings.exempts`` says why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from gdpr_as_code.converge.changes import Consent, FieldChange, fingerprint
from gdpr_as_code.converge.state import Live, LiveState
from gdpr_as_code.resources import FORMS, Json
from gdpr_as_code.resources.forms import render_form_field
from gdpr_as_code.spec import FormField, Spec


def covered(names: str | tuple[str, ...], name: str) -> bool:
    """Whether ``gdpr.consent.forms`` reaches a form of this name."""
    if names == "spec":
        return False
    return names == "all" or any(fnmatch.fnmatchcase(name, pattern) for pattern in names)


def checkbox(spec: Spec) -> Json:
    """The consent checkbox as the spec's own forms get it."""
    consent = spec.gdpr.consent  # type: ignore[union-attr]
    field = FormField(key=consent.form_field, label=consent.heading, type="checkboxgrp", required=True,
                      options=((consent.label, consent.value),), contact_field=consent.field_alias,
                      contact_field_key=consent.field, consent=True)
    return {k: v for k, v in render_form_field(field, 0).items() if k != "order"}


def consent_changes(spec: Spec, live: LiveState) -> tuple[Consent, ...]:
    """A ``Consent`` change for each unmanaged form the spec's ``gdpr.consent.forms`` covers that lacks it."""
    gdpr = spec.gdpr
    if gdpr is None or not gdpr.consent.required or gdpr.consent.field_alias is None:
        return ()
    consent = gdpr.consent
    request_alias = spec.field(gdpr.request_field).alias
    adopted = {mautic_id for address, mautic_id in spec.adopt.items() if address.startswith("form.")}
    box = checkbox(spec)
    found = []
    for form in live.objects.get(FORMS.name, ()):
        fields = form.data.get("fields") or {}
        if (form.key is not None or form.id in adopted or not form.data.get("isPublished")
                or not covered(consent.forms, form.name) or not _collects_email(fields.values())):
            continue
        asking = any(f.get("mappedField") == request_alias for f in fields.values())
        if consent.exempts("", form.name, asking) or _has(fields.values(), consent.field_alias):
            continue
        found.append(_change(form, box, consent.form_field))
    return tuple(found)


def _collects_email(fields: Iterable[Json]) -> bool:
    return any(f.get("type") == "email" or f.get("mappedField") == "email" for f in fields)


def _has(fields: Iterable[Json], alias: str) -> bool:
    return any(f.get("mappedField") == alias for f in fields)


def _change(form: Live, box: Json, alias: str) -> Consent:
    fields = form.data.get("fields") or {}
    order = sorted(fields, key=lambda a: fields[a]["order"])
    before = next((a for a in order if fields[a].get("type") == "button"), None)
    return Consent(
        kind=FORMS.name, key=alias, name=form.name, mautic_id=form.id,
        desired={"field": box, "order": order, "before": before, "postAction": form.data.get("postAction"),
                 "postActionProperty": form.data.get("postActionProperty")},
        fields=(FieldChange(f"fields.{alias}", None, box),), fingerprint=fingerprint(form.data),
        sub_ids=form.sub_ids,
    )


def consent_body(change: Consent) -> Json:
    """The PATCH adding the checkbox: every other field by id alone, in its order, the new one before the
    first button; ``postAction`` repeated (a PATCH without it resets it to "return", recorded flows/050)."""
    ids = change.sub_ids.get("fields", {})
    desired = change.desired
    items: list[Json] = [{"id": ids[alias]} for alias in desired["order"] if alias in ids]
    new = {"alias": change.key, **desired["field"]}
    order = desired["order"]
    at = order.index(desired["before"]) if desired.get("before") in order else len(items)
    return {"postAction": desired["postAction"], "postActionProperty": desired["postActionProperty"],
            "fields": [*items[:at], new, *items[at:]]}
