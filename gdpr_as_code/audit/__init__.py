"""``gdpr-as-code audit [SPEC]``: the live instance's GDPR findings, as a report a privacy officer reads.

    audit(client, spec=None, at=None)  -> Report        reads only; one list call per kind

With a spec it checks the gaps to the spec (its objects found by marker, else by name or alias); without one,
Mautic alone, the seed's setup recognised as ``export`` recognises it (``setup``). The checks live in
``checks``, the renderings in ``report``. Requests: one list call per kind (fields, segments, emails, forms,
focus items), one per request segment for its members plus one per member for the membership date (as
``requests list``), one for the request form's latest submissions, with a spec the retention queries, and,
when the state folder holds erasure receipts, one paged list of the contacts with an address for the
re-imported erased people (``dsr.receipts``; 500 contacts a call).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from gdpr_as_code.audit import checks
from gdpr_as_code.audit.checks import Finding
from gdpr_as_code.audit.report import Report
from gdpr_as_code.audit.setup import Setup, Snapshot, from_spec, recognise
from gdpr_as_code.dsr import STATE_DIR_ENV, receipts, state_folder
from gdpr_as_code.dsr.erasure import RECEIPT_KEY_ENV, receipt_key
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


def audit(client: MauticClient, spec: Spec | None = None, at: datetime | None = None, *,
          state: Path | None = None, env: Mapping[str, str] | None = None) -> Report:
    """Every finding on ``client``'s Mautic, with a spec or without; reads only. ``state`` is the request
    state folder (``requests --state-dir``; default: where ``requests`` keeps it), whose journal and erasure
    receipts the request checks read."""
    at = at or now()
    env = os.environ if env is None else env
    state = state or _state_folder(client, spec, env)
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
    findings += checks.overdue(_unfinished(requests, state), setup.deadline_days, at)
    if setup.form is not None:
        members = {kind: {r.contact_id for r in requests if r.kind == kind} for kind in setup.segments}
        findings += checks.stale_cron(setup, _submissions(client, int(setup.form["id"])), members, at)
    if spec is not None and spec.gdpr is not None and spec.gdpr.data_inventory:
        findings += checks.retention(past_retention(client, spec.gdpr, at), at)
    found, notes = _reimported(client, state, env)
    findings += checks.reimported(found)
    source = str(spec.source) if spec is not None else None
    return Report(client.name, source, tuple(findings), setup.guesses if spec is None else (), notes)


def _pending(client: MauticClient, setup: Setup) -> list[PendingRequest]:
    """Members of the published request segments (as ``requests list`` reads them)."""
    segments = [(kind, str(s["alias"]), int(s["id"])) for kind, s in setup.segments.items()
                if s is not None and s.get("isPublished")]
    return list(pending_requests(client, segments)) if segments else []  # type: ignore[arg-type]


def _state_folder(client: MauticClient, spec: Spec | None, env: Mapping[str, str]) -> Path | None:
    """Where ``requests`` keeps this instance's state: as it chooses it with a spec; without one, only
    ``$GDPR_AS_CODE_STATE_DIR`` says."""
    instance = instance_key(client.base_url)
    if spec is not None:
        return state_folder(spec, instance, env)
    return Path(env[STATE_DIR_ENV]) / instance_slug(instance) if env.get(STATE_DIR_ENV) else None


def _unfinished(requests: list[PendingRequest], state: Path | None) -> list[PendingRequest]:
    """Without the ones this tool's journal already finished: they stay in a filter-based segment until the
    next cron rebuild."""
    if state is None or not (state / "journal.jsonl").exists():
        return requests
    with Journal(state / "journal.jsonl", read_only=True) as journal:
        return [r for r in requests if not journal.finished(r.request_id)]


def _reimported(client: MauticClient, state: Path | None, env: Mapping[str, str]
                ) -> tuple[list[receipts.Comeback], tuple[str, ...]]:
    """Erased people back in Mautic, from the state folder's receipts; a note when they cannot be checked."""
    held = receipts.read(state / "receipts.jsonl") if state is not None else []
    if not held:
        return [], ()
    if not env.get(RECEIPT_KEY_ENV):
        return [], (f"{len(held)} erasure receipt(s) in {state}, but {RECEIPT_KEY_ENV} is not set: "
                    "re-imported erased people were not looked for (export the key and rerun audit).",)
    return receipts.comebacks(client, held, receipt_key(env)), ()


def _submissions(client: MauticClient, form_id: int) -> list[dict[str, object]]:
    """The request form's latest submissions, newest first, in one call."""
    body = client.get(f"/forms/{form_id}/submissions",
                      params={"limit": SUBMISSIONS, "orderBy": "s.date_submitted", "orderByDir": "DESC"})
    return collection(body, "submissions")  # type: ignore[return-value]
