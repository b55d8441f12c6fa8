"""``gdpr-as-code audit [SPEC]``: the live instance's GDPR findings, as a report a privacy officer reads.

    audit(client, spec=None, at=None)  -> Report        reads only; one list call per kind

With a spec it checks the gaps to the spec (its objects found by marker, else by name or alias); without one,
Mautic alone, the seed's setup recognised as ``export`` recognises it (``setup``). The checks live in
``checks``, the renderings in ``report``. Requests: one list call per kind (fields, segments, emails, forms,
focus items), one per request segment for its members plus one per member for the membership date (as
``requests list``), one for the request form's latest submissions, and, with a spec, the retention queries.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from gdpr_as_code.audit import checks
from gdpr_as_code.audit.checks import Finding
from gdpr_as_code.audit.report import Report
from gdpr_as_code.audit.setup import Setup, Snapshot, from_spec, recognise
from gdpr_as_code.dsr.journal import Journal, now
from gdpr_as_code.dsr.pending import PendingRequest, collection, pending_requests
from gdpr_as_code.dsr.retention import past_retention
from gdpr_as_code.mautic.connect import instance_key, instance_slug

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient
    from gdpr_as_code.spec import Spec

__all__ = ["Finding", "Report", "Setup", "Snapshot", "audit", "recognise"]
SUBMISSIONS = 200
"""The request form's latest submissions read for the cron check (one call)."""


def audit(client: MauticClient, spec: Spec | None = None, at: datetime | None = None) -> Report:
    """Every finding on ``client``'s Mautic, with a spec or without; reads only."""
    at = at or now()
    snap = Snapshot.read(client)
    setup = from_spec(spec, snap) if spec is not None else recognise(snap)
    exempt = spec.gdpr.consent.exempt if spec is not None and spec.gdpr is not None else ()
    findings = [
        *checks.form_consent(snap, setup, exempt),
        *checks.banner(setup),
        *checks.request_setup(setup),
        *checks.notification_emails(setup),
    ]
    requests = _pending(client, setup)
    findings += checks.overdue(_unfinished(requests, client, spec), setup.deadline_days, at)
    if setup.form is not None:
        members = {kind: {r.contact_id for r in requests if r.kind == kind} for kind in setup.segments}
        findings += checks.stale_cron(setup, _submissions(client, int(setup.form["id"])), members, at)
    if spec is not None and spec.gdpr is not None and spec.gdpr.data_inventory:
        findings += checks.retention(past_retention(client, spec.gdpr, at), at)
    source = str(spec.source) if spec is not None else None
    return Report(client.name, source, tuple(findings), setup.guesses if spec is None else ())


def _pending(client: MauticClient, setup: Setup) -> list[PendingRequest]:
    """Members of the published request segments (as ``requests list`` reads them)."""
    segments = [(kind, str(s["alias"]), int(s["id"])) for kind, s in setup.segments.items()
                if s is not None and s.get("isPublished")]
    return list(pending_requests(client, segments)) if segments else []  # type: ignore[arg-type]


def _unfinished(requests: list[PendingRequest], client: MauticClient, spec: Spec | None
                ) -> list[PendingRequest]:
    """Without the ones this tool's journal (beside the spec) already finished: they stay in a filter-based
    segment until the next cron rebuild."""
    if spec is None:
        return requests
    path = spec.source.resolve().parent / "gdpr-state" / instance_slug(instance_key(client.base_url))
    if not (path / "journal.jsonl").exists():
        return requests
    with Journal(path / "journal.jsonl", read_only=True) as journal:
        return [r for r in requests if not journal.finished(r.request_id)]


def _submissions(client: MauticClient, form_id: int) -> list[dict[str, object]]:
    """The request form's latest submissions, newest first, in one call."""
    body = client.get(f"/forms/{form_id}/submissions",
                      params={"limit": SUBMISSIONS, "orderBy": "s.date_submitted", "orderByDir": "DESC"})
    return collection(body, "submissions")  # type: ignore[return-value]
