"""Pending GDPR requests: the members of the spec's request segments, with the date each request was received.

Mautic has no "request" object; the seed's setup files a request by putting the contact in a segment ("Data
Requested", "Request to be Forgotten"). So a pending request is a segment membership, found with one paged
list call per segment (``GET /contacts?search=segment:ALIAS``, which also returns every field, the IP
addresses, UTM tags and do-not-contact entries), and its received date is the membership date Mautic keeps per
contact (``dateAdded`` of ``GET /contacts/{id}/segments``, read for all members at once from the stats table
``lead_lists_leads``: ``batch``). For a filter-based segment
that is when the cron rebuild added the contact, which can be later than the form submission by one cron
interval.

Checked (real-Mautic audit): ``segment:ALIAS`` lists only members not manually removed
(``lla.manually_removed = 0``, Mautic 5.1 LeadBundle/Entity/LeadRepository.php L758-775), so taking a contact
out through the API ends its request even in a filter-based segment (the row stays, flagged, and the cron
rebuild does not re-add it: ``ListModel::removeLead``); paging it by ``orderBy=id`` is recorded (flows/088),
and ``/contacts/{id}/segments`` answers ``dateAdded`` and ``manuallyRemoved`` per segment (flows/094).

The contact's email address stays inside ``PendingRequest`` (it is needed to notify and to hash); all printed
uses ``masked_email`` (``j***@example.com``) and ids.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from gdpr_as_code.errors import GdprAsCodeError, MauticError, MauticHTTPError, MauticUnreachable

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

RequestType = Literal["access", "erasure", "retention", "reimport"]
# Contacts come with every field hydrated; Mautic builds a whole page in PHP memory, so pages stay modest.
CONTACT_PAGE = 500


@dataclass(frozen=True)
class PendingRequest:
    """One GDPR request. ``request_id`` is stable across runs (kind, contact, received), so the journal can
    recognise a request it has seen; the email and the contact's data never appear in ``repr``."""

    kind: RequestType
    contact_id: int
    received: datetime
    segment_id: int | None = None
    email: str = field(default="", repr=False)
    contact: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    segments: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)

    @property
    def request_id(self) -> str:
        return f"{self.kind}-{self.contact_id}-{self.received:%Y%m%dT%H%M%SZ}"

    @property
    def masked_email(self) -> str:
        return mask_email(self.email)

    def age_days(self, now: datetime) -> int:
        return max(0, (now - self.received).days)

    def overdue(self, now: datetime, deadline_days: int) -> bool:
        return now - self.received > timedelta(days=deadline_days)

    @property
    def email_dnc_reason(self) -> int | None:
        """The do-not-contact reason on email (1 unsubscribed, 2 bounced, 3 manual), or None."""
        for entry in self.contact.get("doNotContact") or ():
            if entry.get("channel") == "email":
                return int(entry.get("reason") or 0)
        return None


def mask_email(address: str) -> str:
    """``jane@example.com`` → ``j***@example.com``: the only form of an address that may be printed."""
    local, at, domain = address.strip().partition("@")
    if not at or not local:
        return "***" if address else "(no email)"
    return f"{local[0]}***@{domain}"


def field_values(contact: Mapping[str, Any]) -> Mapping[str, Any]:
    """The contact's field values by alias: ``fields.all`` (the list and single answers both carry it; an
    empty ``fields`` comes as ``[]``)."""
    fields = contact.get("fields")
    values = fields.get("all") if isinstance(fields, Mapping) else None
    return values if isinstance(values, Mapping) else {}


def contact_email(contact: Mapping[str, Any]) -> str:
    """The address of record."""
    return str(field_values(contact).get("email") or "")


def parse_time(value: str) -> datetime:
    """Mautic's ISO-8601 (``2026-11-29T05:58:38+00:00``) or DB form (``2026-11-29 05:58:38``, in UTC)."""
    parsed = datetime.fromisoformat(value.replace(" ", "T"))
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def outcome_unknown(err: MauticError, unsure: str, rerun: str) -> GdprAsCodeError | None:
    """The error for a write Mautic may have carried out without our hearing (no answer, or a 5xx), worded for
    a request's rerun; None when the error says it was not done (a 4xx), so the caller re-raises it as is.

    The client's own text advises "run plan to see", which means nothing for a send or a delete: here the
    journal resumes the step, and ``rerun`` says how the next run settles it. ``unsure`` says what may have
    happened ("the notification may or may not have been sent")."""
    if isinstance(err, MauticHTTPError) and err.status >= 500:
        cause = f"answered HTTP {err.status}"
    elif isinstance(err, MauticUnreachable):
        cause = "gave no answer"
    else:
        return None
    return GdprAsCodeError(
        f"Mautic at {err.instance} ({err.method} {err.path}) {cause}, so {unsure}. Rerun the same command: "
        f"{rerun}"
    )


def collection(body: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    """A Mautic collection as a list: keyed by id (``{"3": {...}}``), an array, or empty as ``[]``."""
    items = body.get(key) or []
    return list(items.values()) if isinstance(items, Mapping) else list(items)


def membership(segments: Iterable[Mapping[str, Any]], segment_alias: str) -> tuple[int, datetime] | None:
    """The segment id and the date the contact joined ``segment_alias``, from ``/contacts/{id}/segments``."""
    for segment in segments:
        if segment.get("alias") == segment_alias and not segment.get("manuallyRemoved"):
            return int(segment["id"]), parse_time(str(segment["dateAdded"]))
    return None


@dataclass(frozen=True)
class Unreadable:
    """A member of a request segment whose request Mautic failed to describe (a 5xx on its own read): this
    request fails, the others go on; the next run tries it again."""

    kind: RequestType
    contact_id: int
    reason: str


class Listed(list[PendingRequest]):
    """The pending requests, oldest first, and the members that could not be read (``unreadable``)."""

    def __init__(self, found: Iterable[PendingRequest], unreadable: Iterable[Unreadable] = ()) -> None:
        super().__init__(found)
        self.unreadable = list(unreadable)


def pending_requests(
    client: MauticClient, segments: Sequence[tuple[RequestType, str, int]], workers: int = 4
) -> Listed:
    """The pending requests of each ``(kind, segment alias, segment id)``, oldest first.

    One list call per page per segment, then the members' segment memberships a few calls per 200
    (``batch.memberships``: the received date, and the segments an export lists) and the segment names once.
    Should the batched read fail, each member's own ``/contacts/{id}/segments`` is read instead, ``workers``
    at a time, and a member whose read fails too is ``unreadable``: that request fails alone.
    """
    from gdpr_as_code.dsr import batch  # batch reads Mautic's tables; it needs nothing from here

    members = [
        (kind, alias, contact)
        for kind, alias, _ in segments
        for contact in client.list_all(
            "/contacts", "contacts", params={"search": f"segment:{alias}"}, page_size=CONTACT_PAGE
        )
    ]
    contacts = {int(contact["id"]): contact for _, _, contact in members}  # one call for a contact in both
    lists: dict[int, tuple[Mapping[str, Any], ...]] = {}
    failed: dict[int, str] = {}
    if contacts:
        try:
            names = batch.segment_names(client)
            rows = batch.memberships(client, contacts)
            lists = {cid: batch.as_segments(rows.get(cid, ()), names) for cid in contacts}
        except MauticHTTPError as err:
            if err.status < 500:
                raise
            lists, failed = _one_by_one(client, list(contacts), workers)
        except MauticError:
            raise
        except GdprAsCodeError:  # the stats API refused the table: the per-contact reads still work
            lists, failed = _one_by_one(client, list(contacts), workers)
    found, unreadable = [], []
    for kind, alias, contact in members:
        cid = int(contact["id"])
        if cid in failed:
            unreadable.append(Unreadable(kind, cid, failed[cid]))
            continue
        joined = membership(lists[cid], alias)
        if joined is not None:  # None: it left the segment between the two calls
            segment_id, received = joined
            email = contact_email(contact)
            found.append(PendingRequest(kind, cid, received, segment_id, email, contact, lists[cid]))
    return Listed(sorted(found, key=lambda request: (request.received, request.contact_id)), unreadable)


def _one_by_one(
    client: MauticClient, ids: Sequence[int], workers: int
) -> tuple[dict[int, tuple[Mapping[str, Any], ...]], dict[int, str]]:
    """Each contact's ``/contacts/{id}/segments``; a 5xx or no answer marks that contact failed."""

    def segments_of(contact_id: int) -> tuple[int, tuple[Mapping[str, Any], ...] | str]:
        try:
            return contact_id, tuple(collection(client.get(f"/contacts/{contact_id}/segments"), "lists"))
        except (MauticHTTPError, MauticUnreachable) as err:
            if isinstance(err, MauticHTTPError) and err.status < 500:
                raise
            return contact_id, (
                f"Mautic at {err.instance} failed to list contact {contact_id}'s segments ({err.method} "
                f"{err.path}: {getattr(err, 'status', 'no answer')}), so this request's date is unknown; "
                "rerun later: the other requests went on."
            )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        answers = dict(pool.map(segments_of, ids))
    lists = {cid: answer for cid, answer in answers.items() if not isinstance(answer, str)}
    return lists, {cid: answer for cid, answer in answers.items() if isinstance(answer, str)}
