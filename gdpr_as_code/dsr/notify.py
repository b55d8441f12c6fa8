"""Telling the person what was done: the spec's notification email, sent by Mautic to the contact.

``POST /emails/{id}/contact/{cid}/send`` is not idempotent and its outcome can be unknown (the run was killed,
or the answer was lost, after Mautic got the request). Mautic cannot be asked "what is in your outbox", but it
records every send in the contact's timeline (``email.sent`` events with the email id). So after an unknown
outcome the next run looks there: a send of this email to this contact since the attempt began means it went,
and only if there is none is it sent again. At most one notification per request, as long as Mautic's timeline
is intact.

Do-not-contact: Mautic 5 sends API emails as transactional and ignores DNC (CONTRACT §5). We send anyway, on
purpose: DNC is an opt-out from marketing, while this email is the answer Art. 12(3) requires to the person's
own request. The audit log notes the DNC reason when there is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from gdpr_as_code.dsr.pending import outcome_unknown, parse_time
from gdpr_as_code.errors import GdprAsCodeError, MauticError

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

# Mautic's clock and ours may differ a little; a send this much before the attempt still counts as ours.
CLOCK_SKEW = timedelta(minutes=2)
DNC_REASONS = {1: "unsubscribed", 2: "bounced", 3: "set manually"}


def send(
    client: MauticClient, email_id: int, contact_id: int, tokens: Mapping[str, str] | None = None
) -> None:
    """Have Mautic send email ``email_id`` to contact ``contact_id`` now; raise if Mautic says it failed.
    ``tokens`` (``{"reason": ...}``) replace ``{reason}`` in the email (Mautic's send API reads them)."""
    try:
        body = {"tokens": dict(tokens)} if tokens else None
        answer = client.post(f"/emails/{email_id}/contact/{contact_id}/send", body)
    except MauticError as err:
        rerun = "it looks for this send in the contact's timeline and sends only if Mautic has none."
        raise outcome_unknown(err, f"email {email_id} may or may not have been sent", rerun) or err from None
    if not (isinstance(answer, dict) and answer.get("success") in (True, 1, "1")):
        raise GdprAsCodeError(
            f"Mautic did not send email {email_id} to contact {contact_id} (it answered success: false). "
            "Check Mautic's mailer settings (Settings → Configuration → Email Settings) and its log, then "
            "rerun: the request resumes at the notification."
        )


def sent_since(client: MauticClient, email_id: int, contact_id: int, since: datetime) -> bool:
    """True when the contact's timeline shows email ``email_id`` sent since ``since`` (less clock skew).

    Checked (real-Mautic audit): the activity API reads ``filters``, ``limit``, ``page`` and ``order``
    (Mautic 5.1 LeadBundle/Controller/Api/LeadApiController.php ``getAllActivityAction``); an ``email.sent``
    event carries ``details.stat.email_id`` as a string and an ISO timestamp (recorded flows/129)."""
    body = client.get(
        f"/contacts/{contact_id}/activity",
        params={
            "filters[includeEvents][]": "email.sent",
            "limit": 100,
            "order[0]": "timestamp",
            "order[1]": "DESC",
        },
    )
    for event in body.get("events") or []:
        stat = (event.get("details") or {}).get("stat") or {}
        if (
            str(stat.get("email_id")) == str(email_id)
            and parse_time(str(event["timestamp"])) >= since - CLOCK_SKEW
        ):
            return True
    return False


def dnc_note(reason: int | None) -> str:
    """The audit note for a do-not-contact contact, or empty."""
    if reason is None:
        return ""
    return (
        f"contact has do-not-contact on email ({DNC_REASONS.get(reason, f'reason {reason}')}); sent anyway "
        "as the answer to the person's own request"
    )
