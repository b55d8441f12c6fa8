"""The audit's checks: each reads the snapshot and the setup, and says what falls short of the GDPR.

A finding names the object (kind, id, name), the article it falls short of, and the fix a privacy officer
can hand on. The request form is never asked for a consent checkbox: a person exercising a right must not
have to consent first (Art. 7(4): consent is not a condition; Art. 12(2): the controller facilitates the
exercise of the rights), so it is exempt here as it is in ``gdpr.consent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fnmatch import fnmatchcase as fnmatch

from gdpr_as_code.audit.setup import (
    CONSENT_RE,
    Raw,
    Setup,
    Snapshot,
    added_by,
    mapped_field,
    options,
    selects,
)
from gdpr_as_code.dsr.pending import PendingRequest, mask_email, parse_time
from gdpr_as_code.dsr.receipts import Comeback

PERSONAL_TYPES = ("email", "tel")
CONSENT_TYPES = ("checkboxgrp", "radiogrp", "checkbox")
CRON_GRACE = timedelta(hours=1)
"""How long a filter-based request segment may lag its form: cron runs ``mautic:segments:update`` every few
minutes to an hour in most installs; older unrouted submissions mean it is not running."""
ADOPT = "export it (gdpr-as-code export --all --out gdpr.yaml), add it to the spec, apply"


@dataclass(frozen=True)
class Finding:
    """One shortfall: what (``check``), which object, the article, and the fix."""

    check: str
    kind: str
    id: int | None
    name: str
    article: str
    problem: str
    fix: str

    def to_dict(self) -> dict[str, object]:
        return {"check": self.check, "object": {"kind": self.kind, "id": self.id, "name": self.name},
                "article": self.article, "problem": self.problem, "fix": self.fix}


def _named(raw: Raw | None) -> tuple[int | None, str]:
    return (None, "") if raw is None else (int(raw["id"]), str(raw.get("name") or raw.get("label") or ""))


def collects_personal_data(form: Raw) -> bool:
    """A form field fills a contact field, or asks for an email address or phone number."""
    return any(mapped_field(f) or f.get("type") in PERSONAL_TYPES for f in form.get("fields") or [])


def has_consent(form: Raw, consent_field: str | None, booleans: set[str]) -> bool:
    """A required checkbox recording consent: mapped to the consent field (or any boolean field when none is
    known), or worded as consent."""
    for item in form.get("fields") or []:
        if item.get("type") not in CONSENT_TYPES or not item.get("isRequired"):
            continue
        target = mapped_field(item)
        if target and target == consent_field:
            return True
        if consent_field is None and target in booleans:
            return True
        words = " ".join([str(item.get("label")), *(label for label, _ in options(item))])
        if consent_field is None and CONSENT_RE.search(words):
            return True
    return False


def form_consent(snap: Snapshot, setup: Setup, exempt: Iterable[str] = ()) -> list[Finding]:
    """Published forms collecting personal data without a required consent checkbox (Art. 6(1)(a), 7(1))."""
    booleans = {str(f.get("alias")) for f in snap.of("fields") if f.get("type") == "boolean"}
    skip = {int(setup.form["id"])} if setup.form else set()
    found = []
    for form in sorted(snap.of("forms"), key=lambda f: int(f["id"])):
        name = str(form.get("name"))
        if not form.get("isPublished") or int(form["id"]) in skip or any(fnmatch(name, p) for p in exempt):
            continue
        if collects_personal_data(form) and not has_consent(form, setup.consent_field, booleans):
            found.append(Finding(
                "form-without-consent", "form", int(form["id"]), str(form.get("name")), "Art. 6(1)(a), 7(1)",
                "collects personal data without a required consent checkbox, so consent cannot be shown",
                "set gdpr.consent.forms: all in the spec (the tool adds the checkbox before the submit "
                "button and touches nothing else), or add the checkbox in Mautic"))
    return found


def banner(setup: Setup) -> list[Finding]:
    """No published consent banner, or one without a link to the privacy notice (Art. 7, 13)."""
    focus = setup.focus
    if focus is None or not focus.get("isPublished"):
        fid, name = _named(focus)
        what = "is unpublished" if focus else "is missing: no focus item asks for consent"
        return [Finding("consent-banner", "focus", fid, name or "consent banner", "Art. 7(1), 13",
                        f"the consent banner {what}",
                        "declare consent: in the spec and apply" if focus is None else
                        "publish it, or " + ADOPT)]
    content = (focus.get("properties") or {}).get("content") or {}
    if not content.get("link_url"):
        fid, name = _named(focus)
        return [Finding("consent-banner", "focus", fid, name, "Art. 13(1)",
                        "the consent banner has no link to the privacy notice",
                        "set consent.privacy_url in the spec and apply (or add the link in Mautic)")]
    return []


def request_setup(setup: Setup) -> list[Finding]:
    """The request form, field and segments: there, published and routing each request (Art. 12(2))."""
    found = []
    form, field = setup.form, setup.request_field
    if form is None:
        found.append(Finding("request-form", "form", None, "GDPR request form", "Art. 12(2)",
                             "there is no GDPR request form: people cannot ask for their data or its erasure",
                             "start from configs/gdpr.yaml and apply it"))
    elif not form.get("isPublished"):
        found.append(Finding("request-form", "form", *_named(form), "Art. 12(2)",
                             "the GDPR request form is unpublished", "publish it, or " + ADOPT))
    elif field is not None and field.get("alias") not in {mapped_field(f) for f in form.get("fields") or []}:
        found.append(Finding("request-form", "form", *_named(form), "Art. 12(2)",
                             f"no field of the request form fills the request field '{field.get('alias')}'",
                             "map the request choice to that contact field, or " + ADOPT))
    for kind, segment in setup.segments.items():
        found.extend(_segment(kind, segment, setup))
    return found


def _segment(kind: str, segment: Raw | None, setup: Setup) -> list[Finding]:
    article = "Art. 15, 20" if kind == "access" else "Art. 17"
    if segment is None:
        return [Finding("request-segment", "segment", None, f"{kind} request segment", article,
                        f"there is no segment collecting {kind} requests", "start from configs/gdpr.yaml")]
    if not segment.get("isPublished"):
        return [Finding("request-segment", "segment", *_named(segment), article,
                        f"the {kind} request segment is unpublished: requests never reach it",
                        "publish it, or " + ADOPT)]
    alias = str((setup.request_field or {}).get("alias") or "")
    value = setup.values.get(kind)
    routed = value is not None and selects(segment, alias, value)
    routed = routed or int(segment["id"]) in added_by(setup.form)
    if not routed:
        return [Finding("request-segment", "segment", *_named(segment), article,
                        f"nothing routes {kind} requests into it (no filter on the request field for "
                        f"'{value}', no action of the request form adds to it)",
                        "add the filter (as in configs/gdpr.yaml): " + ADOPT)]
    return []


def notification_emails(setup: Setup) -> list[Finding]:
    """Notification emails missing or unpublished: the person is told nothing (Art. 12(3))."""
    found = []
    for kind in setup.segments:
        email = setup.emails.get(kind)
        if email is None or not email.get("isPublished"):
            eid, name = _named(email)
            state = "unpublished" if email else "missing"
            found.append(Finding("notification-email", "email", eid, name or f"{kind} notification email",
                                 "Art. 12(3)", f"the email telling people their {kind} request was answered "
                                 f"is {state}", ("publish it, or " + ADOPT) if email else
                                 "declare it under emails: and gdpr.requests in the spec, then apply"))
    if setup.confirmation is not None and not setup.confirmation.get("isPublished"):
        found.append(Finding("notification-email", "email", *_named(setup.confirmation), "Art. 12(3)",
                             "the request form's confirmation email is unpublished: Mautic does not send it",
                             "publish it, or " + ADOPT))
    return found


def overdue(requests: Iterable[PendingRequest], deadline_days: int, at: datetime) -> list[Finding]:
    """Pending requests past the deadline (Art. 12(3): one month)."""
    return [Finding("request-overdue", "contact", r.contact_id, r.masked_email, "Art. 12(3)",
                    f"{r.kind} request received {r.received:%Y-%m-%d} is {r.age_days(at)} days old "
                    f"(deadline {deadline_days} days)",
                    "gdpr-as-code requests fulfil SPEC")
            for r in requests if r.overdue(at, deadline_days)]


def retention(contacts: Iterable[PendingRequest], at: datetime) -> list[Finding]:
    """Contacts kept past the data inventory's retention (Art. 5(1)(e))."""
    return [Finding("past-retention", "contact", r.contact_id, r.masked_email, "Art. 5(1)(e)",
                    f"kept {r.age_days(at)} days past the retention of the data inventory",
                    "gdpr-as-code requests retention SPEC --erase")
            for r in contacts]


def reimported(comebacks: Iterable[Comeback]) -> list[Finding]:
    """Erased people back in Mautic (an old list imported again): the erasure no longer holds (Art. 17)."""
    return [Finding("reimported-erased", "contact", c.contact_id, mask_email(c.email), "Art. 17",
                    f"erased {c.erased[:10] or '(date unknown)'} (receipt {c.receipt}) and back in Mautic "
                    f"since {c.added[:10] or '(date unknown)'}",
                    "gdpr-as-code requests reimported SPEC --erase")
            for c in comebacks]


def stale_cron(setup: Setup, submissions: Iterable[Raw], members: Mapping[str, set[int]],
               at: datetime) -> list[Finding]:
    """Request submissions older than ``CRON_GRACE`` whose contact a filter-based request segment has not
    taken in: Mautic's segment cron is not running, so those requests go unseen (Art. 12(3))."""
    asking = {str(f.get("alias")) for f in (setup.form or {}).get("fields") or []
              if setup.request_field is not None and mapped_field(f) == setup.request_field.get("alias")}
    found = []
    for kind, segment in setup.segments.items():
        value = setup.values.get(kind)
        if segment is None or not segment.get("filters") or value is None:
            continue
        late = []
        for sub in submissions:
            lead = sub.get("lead") or {}
            chosen = " ".join(str((sub.get("results") or {}).get(a) or "") for a in asking)
            when = parse_time(str(sub.get("dateSubmitted")))
            if (lead.get("id") and value in [c.strip() for c in chosen.replace("|", ",").split(",")]
                    and at - when > CRON_GRACE and int(lead["id"]) not in members.get(kind, set())):
                late.append(when)
        if late:
            found.append(Finding("stale-segment-cron", "segment", *_named(segment), "Art. 12(3)",
                                 f"{len(late)} {kind} request submission(s) since {min(late):%Y-%m-%d %H:%M} "
                                 "are not in it: Mautic's segment cron looks stale",
                                 "schedule php bin/console mautic:segments:update (every 15 minutes)"))
    return found
