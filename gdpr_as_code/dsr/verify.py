"""Identity verification: a request is acted on only after a click from the mailbox of the address of record.

Why this design (measured on real Mautic 5.1.0 and 7.0.2, tests/recorded/*/verification): Mautic rewrites each
link of a sent email to ``/r/{redirect}?ct=...``, and the click-through names the send's ``email_stats`` row
by its ``tracking_hash`` (``uniqid`` with extra entropy, about 50 bits), which only the email carries. A click
records a ``page_hits`` row whose ``lead_id`` is the stat's contact only when the hash is that stat's; a
forged ``ct`` (or a tracking pixel, or a bot's prefetch: curl and the like are on Mautic's do-not-track list)
lands on a new anonymous contact. So "a page hit of contact C whose click-through names a send of the
verification email to C" means the person reading C's mailbox clicked. A confirmation form was rejected: a
cookieless submission with an existing address merges that contact into a new id, under the journal's request.

The verification email is the spec's ``gdpr.verification.email``. When the request form's own confirmation is
that email (configs/gdpr.yaml), Mautic sent it at submission, and nothing is sent here: the run finds its
stat. Otherwise (a request put into the segment by hand) ``verify_send`` sends it once, journaled like a
notification: its ``start`` is fsynced, and a rerun sends only while Mautic has no stat of it. The reads are
batched: one ``/stats/email_stats`` and one ``/stats/page_hits`` call per 200 contacts per run, filtered by
the email's id.

Journal: ``verify_send`` (the email went: ``verify_by`` form or tool, ``verify_sent``, the stat ids, never the
hash: it opens the email's web view), ``verify`` (the click: ``verified``, ``verify_stat``), or after
``expire_days`` without a click ``expire``, then the request leaves its segment and is closed; nothing is
erased or exported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gdpr_as_code.dsr import batch, notify
from gdpr_as_code.dsr.journal import now
from gdpr_as_code.dsr.pending import PendingRequest, parse_time
from gdpr_as_code.errors import GdprAsCodeError

if TYPE_CHECKING:
    from gdpr_as_code.dsr.steps import Runner
    from gdpr_as_code.mautic.client import MauticClient

# A send this long before the request's received date is still its verification: the form's confirmation goes
# out at submission, the segment cron files the request up to one cron interval later.
LOOKBACK = timedelta(days=1)
# The click-through's stat in a page hit's ``query``: PHP-serialised on 5.1 and 7.0 (``"stat";s:22:"..."``);
# JSON (``"stat":"..."``) is read the same, should a later line store it so.
CLICKED_STAT = re.compile(r'"stat"(?:;s:\d+:|\s*:\s*)"([A-Za-z0-9]+)"')


class Unverified(Exception):
    """The request waits for the person's click (or Mautic's stat of the email)."""


class Expired(Exception):
    """The request was not verified in time; it is closed, nothing done."""


@dataclass(frozen=True)
class Sends:
    """The verification email's sends and their clicks, for the contacts read (``ids``)."""

    ids: frozenset[int] = frozenset()
    stats: Mapping[int, list[Mapping[str, Any]]] = field(default_factory=dict)
    hits: Mapping[int, list[Mapping[str, Any]]] = field(default_factory=dict)


def read(client: MauticClient, email_id: int, contacts: Iterable[int]) -> Sends:
    """Every send of ``email_id`` to ``contacts`` and every page hit it led to, batched."""
    ids = sorted(set(contacts))
    if not ids:
        return Sends()
    only = {"email_id": email_id}
    stats = batch.by_contact(batch.stats(client, "email_stats", ids, ("id",), only))
    hits = batch.by_contact(batch.stats(client, "page_hits", ids, ("id",), only))
    return Sends(frozenset(ids), stats, hits)


def clicked_stat(hit: Mapping[str, Any]) -> str | None:
    """The tracking hash a page hit's click-through names, if any."""
    found = CLICKED_STAT.search(str(hit.get("query") or ""))
    return found.group(1) if found else None


def verifying_click(
    contact_id: int, sends: Sequence[Mapping[str, Any]], hits: Iterable[Mapping[str, Any]]
) -> tuple[Mapping[str, Any], Mapping[str, Any]] | None:
    """The first hit of this contact naming one of ``sends`` at or after it went, with that send."""
    by_hash = {str(s["tracking_hash"]): s for s in sends if s.get("tracking_hash")}
    for hit in sorted(hits, key=lambda h: int(h["id"])):
        send = by_hash.get(clicked_stat(hit) or "")
        if send is None or str(hit.get("lead_id")) != str(contact_id):
            continue
        if parse_time(str(hit["date_hit"])) >= parse_time(str(send["date_sent"])):
            return send, hit
    return None


class Verifier:
    """The ``verify`` step of one run: journals the send, the click or the expiry; else the request waits."""

    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.sends: Sends | None = None  # read ahead for the run's requests (``read_ahead``)

    @property
    def email_id(self) -> int:
        setup = self.runner.setup
        email_id = setup.email_ids.get("verification")
        if email_id is None:
            raise GdprAsCodeError(
                f"The verification email gdpr.verification.email ({setup.gdpr.verification.email}) is not "
                f"in Mautic at {setup.instance}. Run `gdpr-as-code apply` with this spec, then rerun; "
                "nothing is erased before the person confirms."
            )
        return email_id

    def needing(self, requests: Iterable[PendingRequest]) -> list[PendingRequest]:
        verification = self.runner.setup.gdpr.verification
        return [r for r in requests if verification.applies(r.kind) and not self.runner.is_done(r, "verify")]

    def read_ahead(self, requests: Sequence[PendingRequest]) -> None:
        """The batched reads for every request that still waits; a failure leaves each to read its own."""
        todo = self.needing(requests)
        if todo:
            try:
                self.sends = read(self.runner.setup.client, self.email_id, [r.contact_id for r in todo])
            except GdprAsCodeError:
                self.sends = None

    def _sends_of(self, contact_id: int) -> tuple[list[Mapping[str, Any]], list[Mapping[str, Any]]]:
        if self.sends is None or contact_id not in self.sends.ids:
            own = read(self.runner.setup.client, self.email_id, [contact_id])
            return list(own.stats.get(contact_id, [])), list(own.hits.get(contact_id, []))
        return list(self.sends.stats.get(contact_id, [])), list(self.sends.hits.get(contact_id, []))

    def check(self, request: PendingRequest) -> None:
        """Journal what Mautic shows of this request's verification; raise ``Unverified`` or ``Expired``
        unless the person has clicked."""
        runner, cid = self.runner, request.contact_id
        stats, hits = self._sends_of(cid)
        since = request.received - LOOKBACK
        sends = [s for s in stats if parse_time(str(s["date_sent"])) >= since]
        state = runner.journal.state(request.request_id)
        if not sends and not (state and state.is_done("verify_send")):
            email_id = self.email_id
            runner.step(request, "verify_send", lambda: self._send(request, email_id))
        elif sends:
            known = sorted(int(s["id"]) for s in sends)
            if not state or state.data.get("verify_stats") != known:
                first = min(sends, key=lambda s: int(s["id"]))
                runner.log(request, "verify_send", "done", verify_stats=known, verify_by=_by(first),
                           verify_email_id=self.email_id, verify_sent=_first_sent(state, first))
        click = verifying_click(cid, sends, hits)
        if click is not None:
            send, hit = click
            verified = parse_time(str(hit["date_hit"])).isoformat()
            runner.log(request, "verify", "done", "the person clicked the link sent to the address of record",
                       verified=verified, verify_stat=int(send["id"]))
            return
        self._wait_or_expire(request)

    def _send(self, request: PendingRequest, email_id: int) -> dict[str, Any]:
        notify.send(self.runner.setup.client, email_id, request.contact_id)
        return {"verify_by": "tool", "verify_email_id": email_id, "verify_sent": now().isoformat()}

    def _wait_or_expire(self, request: PendingRequest) -> None:
        runner = self.runner
        days = runner.setup.gdpr.verification.expire_days
        state = runner.journal.state(request.request_id)
        journaled = state.data.get("verify_sent") if state else None
        sent = parse_time(str(journaled)) if journaled else now()
        deadline = sent + timedelta(days=days)
        if now() < deadline:
            raise Unverified(
                f"waiting for the person to confirm: the verification email went to the address of record "
                f"on {sent:%Y-%m-%d}; nothing is done before they click its link (expires "
                f"{deadline:%Y-%m-%d})"
            )
        reason = f"not verified within {days} days of the verification email; closed, nothing done"
        runner.log(request, "expire", "done", reason, expired=now().isoformat(), expired_after_days=days)
        runner.step(request, "mark_done", lambda: runner.do_mark_done(request))
        runner.step(request, "finish", lambda: {"closed_unverified": True})
        raise Expired(reason)


def _by(stat: Mapping[str, Any]) -> str:
    """Who sent it, as the stat says: the request form's action, else the API (this tool)."""
    return "form" if stat.get("source") == "form" else "tool"


def _first_sent(state: Any, stat: Mapping[str, Any]) -> str:
    """When the verification went: as first journaled (the tool's own send), else the stat's date."""
    if state is not None and state.data.get("verify_sent"):
        return str(state.data["verify_sent"])
    return parse_time(str(stat["date_sent"])).isoformat()


def verification_state(setup: Any, request: PendingRequest, state: Any) -> dict[str, str]:
    """A ``requests list`` row's verification: ``verified``, ``awaiting`` (with the expiry date), ``off``."""
    if not setup.gdpr.verification.applies(request.kind):
        return {"verification": "off", "verification_expires": ""}
    if state is not None and state.is_done("verify"):
        return {"verification": "verified", "verification_expires": ""}
    sent = state.data.get("verify_sent") if state is not None else None
    if not sent:  # found or sent by the next `requests fulfil`, which starts the expiry
        return {"verification": "awaiting", "verification_expires": ""}
    expires = parse_time(str(sent)) + timedelta(days=setup.gdpr.verification.expire_days)
    return {"verification": "awaiting", "verification_expires": f"{expires:%Y-%m-%d}"}


def expired_rows(states: Iterable[Any], since: datetime) -> list[dict[str, Any]]:
    """Requests closed unverified since ``since``, for ``requests list`` (ids and dates only)."""
    return [
        {"request": s.request_id, "type": s.kind, "contact": s.contact_id,
         "received": s.data.get("received"), "verification_sent": s.data.get("verify_sent"),
         "expired": s.data.get("expired")}
        for s in states
        if s.is_done("expire") and parse_time(str(s.data.get("expired"))) >= since
    ]
