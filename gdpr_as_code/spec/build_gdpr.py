"""The ``gdpr:`` section: request form, field and types cross-checked, exports, consent, data inventory."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from gdpr_as_code.spec.build_forms import FormsBuilder
from gdpr_as_code.spec.gdpr_model import (
    ConsentSettings,
    DataItem,
    ExportDelivery,
    Gdpr,
    RequestType,
    Verification,
)
from gdpr_as_code.spec.mautic_rules import field_alias_problem
from gdpr_as_code.spec.model import ContactField, Email, Form, Segment, SegmentFilter
from gdpr_as_code.spec.yaml_loader import Path_

# A link Mautic rewrites into a tracked one (``/r/{hash}?ct=...``) in the sent email.
LINK = re.compile(r"""<a\s[^>]*href=["']https?://""", re.IGNORECASE)


class SpecBuilder(FormsBuilder):
    """The whole second pass: everything ``FormsBuilder`` builds plus the GDPR section."""

    def consent_settings(self) -> ConsentSettings:
        """The consent checkbox settings; the consent field must be a declared boolean field."""
        item = self.data.get("gdpr", {}).get("consent", {})
        path: Path_ = ("gdpr", "consent")
        field_key = item.get("field")
        alias = None
        if field_key is not None:
            field = self.fields.get(field_key)
            if field is None:
                self.unknown((*path, "field"), "field", field_key, list(self.fields))
            elif field.type != "boolean":
                self.fail(
                    (*path, "field"),
                    f"consent field '{field_key}' is a {field.type} field",
                    "record consent in a field of type: boolean",
                )
            else:
                alias = field.alias
        reason = field_alias_problem(item.get("form_field", "gdpr_consent"))
        if reason:
            self.fail((*path, "form_field"), reason, "choose another key")
        return ConsentSettings(
            required=item.get("required", False),
            label=item.get("label", ""),
            heading=item.get("heading", "Consent"),
            field=field_key,
            field_alias=alias,
            form_field=item.get("form_field", "gdpr_consent"),
            forms=tuple(item["forms"]) if isinstance(item.get("forms"), list) else item.get("forms", "spec"),
            exempt=tuple(item.get("exempt", ())),
            request_form=item.get("request_form", False),
        )

    def gdpr(
        self,
        forms: tuple[Form, ...],
        segments: tuple[Segment, ...],
        emails: tuple[Email, ...],
        consent: ConsentSettings,
    ) -> Gdpr | None:
        """The GDPR section: request form/field/types cross-checked, delivery and inventory resolved."""
        item = self.data.get("gdpr")
        if item is None:
            return None
        path: Path_ = ("gdpr",)
        field = self.fields.get(item["request_field"])
        if field is None:
            self.unknown((*path, "request_field"), "field", item["request_field"], list(self.fields))
        elif field.type not in ("select", "multiselect"):
            self.fail(
                (*path, "request_field"),
                f"request field '{field.key}' is a {field.type} field",
                "use a select or multiselect field whose option values name the requests",
            )
            field = None
        form = next((f for f in forms if f.key == item["request_form"]), None)
        if form is None:
            self.unknown((*path, "request_form"), "form", item["request_form"], [f.key for f in forms])
        else:
            self.check_request_form(form, field, ("forms", form.key))
        request_types = tuple(
            self.request_type(kind, spec, (*path, "requests", kind), field, segments, emails)
            for kind, spec in item["requests"].items()
        )
        if form is not None and field is not None:
            self.check_routing(request_types, field, form, segments, path)
        values = [r.value for r in request_types]
        if len(set(values)) < len(values):
            self.fail(
                (*path, "requests", "erasure", "value"),
                "access and erasure use the same option value",
                "give each request type its own value",
            )
        notices = item.get("notices", {})
        for notice, key in notices.items():
            if key not in {e.key for e in emails}:
                self.unknown((*path, "notices", notice), "email", key, [e.key for e in emails])
        return Gdpr(
            verification=self.verification(item.get("verification", {}), (*path, "verification"), emails),
            extension_email=notices.get("extension"),
            refusal_email=notices.get("refusal"),
            request_form=item["request_form"],
            request_field=item["request_field"],
            request_types=request_types,
            deadline_days=item.get("deadline_days", 30),
            export_formats=tuple(item.get("exports", {}).get("formats", ("json", "csv"))),
            delivery=self.delivery(
                item.get("exports", {}).get("delivery", {}), (*path, "exports", "delivery")
            ),
            data_inventory=self.data_inventory(item.get("data_inventory", {}), (*path, "data_inventory")),
            consent=consent,
        )

    def verification(self, item: Mapping[str, Any], path: Path_, emails: tuple[Email, ...]) -> Verification:
        """Identity verification: on for erasure unless turned off, so it needs an email with a link."""
        made = Verification(
            email=item.get("email"),
            erasure=item.get("erasure", True),
            access=item.get("access", False),
            expire_days=item.get("expire_days", 14),
        )
        by_key = {e.key: e for e in emails}
        if made.email is None:
            if made.erasure or made.access:
                self.fail(
                    path,
                    "erasure requests are verified before anything is erased, but no verification email "
                    "is named",
                    "add gdpr.verification.email: the spec key of an email with a link (the request "
                    "form's confirmation, as in configs/gdpr.yaml), or set gdpr.verification.erasure: false "
                    "to act on unverified requests (anyone who types an address could then have it erased)",
                )
        elif made.email not in by_key:
            self.unknown((*path, "email"), "email", made.email, list(by_key))
        elif not LINK.search(by_key[made.email].html):
            self.fail(
                (*path, "email"),
                f"verification email '{made.email}' has no link",
                "add a link (for example [confirm my request](${var.privacy_url})): Mautic tracks its "
                "click, which is what verifies the request",
            )
        return made

    def check_request_form(self, form: Form, field: ContactField | None, path: Path_) -> None:
        """The request form must identify the person (a required email) and say what they ask (a required
        field filling the request field): an optional one lets anonymous or empty requests through."""
        email = next((f for f in form.fields if f.type == "email" and f.contact_field == "email"), None)
        if email is None:
            self.fail(
                (*path, "fields"),
                f"request form '{form.key}' has no email field mapped to the contact's email",
                "add a field with type: email, required: true, contact_field: email (without it "
                "Mautic cannot tell who asked)",
            )
        elif not email.required:
            self.fail(
                (*path, "fields", email.key),
                f"the email field '{email.key}' of request form '{form.key}' is optional",
                "add required: true (a request without an address cannot be answered)",
            )
        if field is None:
            return
        asking = next((f for f in form.fields if f.contact_field == field.alias), None)
        if asking is None:
            self.fail(
                (*path, "fields"),
                f"request form '{form.key}' has no field filling request field '{field.key}'",
                f"add a checkboxgrp or select field with contact_field: {field.key}",
            )
        elif not asking.required:
            self.fail(
                (*path, "fields", asking.key),
                f"the request field '{asking.key}' of request form '{form.key}' is optional",
                "add required: true (a submission without a request type reaches no request segment)",
            )

    def check_routing(
        self,
        request_types: tuple[RequestType, ...],
        field: ContactField,
        form: Form,
        segments: tuple[Segment, ...],
        path: Path_,
    ) -> None:
        """Each request must be selectable on the form and reach its segment: through a filter on the request
        field selecting its value, or an add_to_segments action of the request form (right for a form that
        serves one request type only, since a form action has no condition)."""
        by_key = {segment.key: segment for segment in segments}
        added = {key for act in form.actions if act.type == "add_to_segments" for key in act.segments}
        asking = next((f for f in form.fields if f.contact_field == field.alias), None)
        for request in request_types:
            if request.value not in field.option_values():
                continue  # reported already: not an option of the request field
            if asking is not None and asking.options and request.value not in asking.option_values():
                self.fail(
                    ("forms", form.key, "fields", asking.key),
                    f"form field '{asking.key}' does not offer the {request.kind} request "
                    f"('{request.value}')",
                    f"add the option with value {request.value}, or leave options out to offer all of "
                    f"field '{field.key}'",
                )
            segment = by_key.get(request.segment)
            if segment is None or segment.key in added:
                continue
            if not any(_selects(row, field.alias, request.value) for row in segment.filters):
                self.fail(
                    (*path, "requests", request.kind, "segment"),
                    f"segment '{segment.key}' never receives {request.kind} requests: it does not filter on "
                    f"field '{field.key}' for '{request.value}'",
                    f"add to segment '{segment.key}': filters: [{{field: {field.key}, operator: in, value: "
                    f"[{request.value}]}}]",
                )

    def request_type(
        self,
        kind: str,
        item: Mapping[str, Any],
        path: Path_,
        field: ContactField | None,
        segments: tuple[Segment, ...],
        emails: tuple[Email, ...],
    ) -> RequestType:
        """One request type: its value is an option of the request field, its segment and email exist."""
        label = item.get("label")
        if field is not None and field.options:  # a choice field without options is reported already
            options = dict((value, text) for text, value in field.options)
            if item["value"] not in options:
                self.fail(
                    (*path, "value"),
                    f"'{item['value']}' is not an option value of field '{field.key}'",
                    f"use one of: {', '.join(options)}, or declare it under the field's options",
                )
            label = label or options.get(item["value"])
        if item["segment"] not in {s.key for s in segments}:
            self.unknown((*path, "segment"), "segment", item["segment"], [s.key for s in segments])
        if item["email"] not in {e.key for e in emails}:
            self.unknown((*path, "email"), "email", item["email"], [e.key for e in emails])
        return RequestType(
            kind=kind,
            label=label or kind,
            value=item["value"],
            segment=item["segment"],
            email=item["email"],
            where=self.where(path),
        )

    def adopt(self, *objects: tuple[Any, ...], focus: Any = None) -> dict[str, int]:
        """``adopt:``: each address names an object of this spec, and each Mautic id is adopted once."""
        labels = ("field", "segment", "email", "form")
        known = {f"{label}.{obj.key}" for label, objs in zip(labels, objects, strict=True) for obj in objs}
        if focus is not None:
            known.add("focus.consent")
        seen: dict[tuple[str, int], str] = {}
        for address, mautic_id in self.data.get("adopt", {}).items():
            if address not in known:
                kind = address.partition(".")[0]
                similar = sorted(a for a in known if a.startswith(kind))
                self.unknown(("adopt", address), kind, address, similar)
            other = seen.setdefault((address.partition(".")[0], mautic_id), address)
            if other != address:
                self.fail(("adopt", address), f"{address} and {other} both adopt Mautic id {mautic_id}",
                          "one Mautic object becomes one spec object only: fix the id")
        return dict(self.data.get("adopt", {}))

    def delivery(self, item: Mapping[str, Any], path: Path_) -> ExportDelivery:
        """Export delivery; SMTP needs its server section."""
        method = item.get("method", "folder")
        smtp = item.get("smtp", {})
        if method == "smtp" and not smtp:
            self.fail(path, "delivery method smtp needs an smtp: section", "add smtp: with host and from")
        return ExportDelivery(
            method=method,
            folder=item.get("folder", "exports"),
            smtp_host=smtp.get("host"),
            smtp_port=smtp.get("port", 587),
            smtp_starttls=smtp.get("starttls", True),
            smtp_from=smtp.get("from"),
            smtp_username_env=smtp.get("username_env", "SMTP_USERNAME"),
            smtp_password_env=smtp.get("password_env", "SMTP_PASSWORD"),
        )

    def data_inventory(self, items: Mapping[str, Any], path: Path_) -> tuple[DataItem, ...]:
        """What personal data is kept; its contact fields resolved to Mautic aliases."""
        result: list[DataItem] = []
        for key, item in items.items():
            here: Path_ = (*path, key)
            aliases = tuple(
                resolved[0]
                for index, name in enumerate(item.get("contact_fields", ()))
                if (resolved := self.resolve_field(name, (*here, "contact_fields", index))) is not None
            )
            result.append(
                DataItem(
                    key=key,
                    description=item["description"],
                    purpose=item["purpose"],
                    legal_basis=item["legal_basis"],
                    contact_fields=aliases,
                    retention_days=item.get("retention_days"),
                    retention_from=item.get("retention_from", "last_active"),
                    where=self.where(here),
                )
            )
        return tuple(result)


def _selects(row: SegmentFilter, alias: str, value: str) -> bool:
    """Whether a filter row puts contacts whose ``alias`` holds ``value`` into the segment."""
    if row.field != alias:
        return False
    if row.operator == "in":
        return isinstance(row.value, tuple) and value in row.value
    return row.operator == "=" and row.value == value
