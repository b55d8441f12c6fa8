"""Contact activity (``GET /api/contacts/{id}/activity`` and ``/api/contacts/activity``), Mautic's timeline.

Events come from several places, as in Mautic where each bundle answers for its own type: ``lead_events``
(segment membership changes, identification by a form), form submissions (``submit``) and email stats
(``messages``). Recorded in flows/099-101, 129: each type is queried with its own LIMIT, so a page can hold
more events than ``limit``; events of one second are ordered by type, not by time of day.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_write import as_list, get_contact
from gdpr_as_code.sandbox.http import Request, Response, kernel_error
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

EVENT_TYPES = {
    "asset.download": "Asset downloaded",
    "campaign.event": "Campaign action triggered",
    "campaign.event.scheduled": "Campaign event scheduled",
    "campaign_membership": "Campaign membership change",
    "lead.source.created": "Contact created by source",
    "lead.source.identified": "Contact identified by source",
    "lead.donotcontact": "Do not contact",
    "dynamic.content.sent": "Dynamic Content Triggered",
    "email.failed": "Email failed",
    "email.read": "Email read",
    "email.replied": "Email replied",
    "email.sent": "Email sent",
    "sms.failed": "Failed",
    "focus.on_click": "Focus click",
    "focus.on_view": "Focus view",
    "form.submitted": "Form submitted",
    "lead.imported": "Imported",
    "integration_sync_issues": "Integration sync notice",
    "message.queue": "Message Queue",
    "page.hit": "Page hit",
    "point.gained": "Point gained",
    "segment_membership": "Segment membership change",
    "sms.sent": "Sent",
    "stage.changed": "Stage changed",
    "sms_reply": "Text message received",
    "lead.utmtagsadded": "UTM tags recorded",
    "page.videohit": "Video view event",
}
# Among events of the same second, Mautic's timeline lists them in this order of event type (newest first),
# because each type is queried separately and the merged list is sorted by timestamp only.
EVENT_RANK = {"lead.source.identified": 0, "segment_membership": 1, "form.submitted": 2, "email.sent": 3}


def log_event(store: Store, contact_id: int, event: str, label: str, description: str) -> None:
    """A ``lead_event_log`` row (segment membership, identification), shown by the activity endpoints."""
    store.insert(
        "lead_events",
        {
            "contact": contact_id,
            "event": event,
            "label": label,
            "description": description,
            "timestamp": iso(now(store)),
        },
    )


def timeline(store: Store, contact_id: int | None) -> list[dict[str, Any]]:
    """Every activity event (of one contact, or of all), unsorted; ``_id`` orders events of one type."""
    from gdpr_as_code.sandbox.messages import sent_events  # late: messages builds on contacts
    from gdpr_as_code.sandbox.submissions import submission_events

    events: list[dict[str, Any]] = []
    for entry in store.table("lead_events").values():
        if contact_id is not None and entry["contact"] != contact_id:
            continue
        events.append(
            {
                "event": entry["event"],
                "eventId": f"{entry['event']}{entry['id']}",
                "eventType": EVENT_TYPES[entry["event"]],
                "eventLabel": entry["label"],
                "timestamp": entry["timestamp"],
                "contactId": str(entry["contact"]),
                "details": {"objectDescription": entry["description"]},
                "_id": entry["id"],
            }
        )
    events.extend(submission_events(store, contact_id))
    events.extend(sent_events(store, contact_id))
    return events


def activity(req: Request, contact_id: int | None) -> Response:
    """The timeline answer: filters, order (``order[0]`` column, ``order[1]`` direction), page/limit."""
    query = req.query
    filters = query.get("filters") if isinstance(query.get("filters"), dict) else {}
    include, exclude = as_list(filters.get("includeEvents")), as_list(filters.get("excludeEvents"))
    search = str(filters.get("search") or "")
    order = as_list(query.get("order")) or ["timestamp", "DESC"]  # order[0]=column&order[1]=direction
    ascending = len(order) > 1 and str(order[1]).upper() == "ASC"
    events = [
        e
        for e in timeline(req.store, contact_id)
        if (not include or e["event"] in include)
        and e["event"] not in exclude
        and (not search or search.lower() in str(e["eventLabel"]).lower())
    ]

    def newest_first(e: dict[str, Any]) -> tuple[Any, ...]:
        same_type_order = e["_id"] if e["event"] == "form.submitted" else -e["_id"]
        return (
            -datetime.fromisoformat(e["timestamp"]).timestamp(),
            EVENT_RANK.get(e["event"], 9),
            same_type_order,
        )

    events.sort(key=newest_first)
    if ascending:
        events.reverse()
    try:
        page = max(int(str(query.get("page", 1))), 1)
        limit = max(int(str(query.get("limit", 25))), 1)
    except ValueError:
        raise kernel_error(500) from None
    # Each event type is its own query with its own LIMIT/OFFSET; the page merges them (flows/100: limit=2
    # answers 5 events), and maxPages follows the largest type.
    by_type: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_type.setdefault(event["event"], []).append(event)
    kept = {id(e) for group in by_type.values() for e in group[(page - 1) * limit : page * limit]}
    shown = [{k: v for k, v in e.items() if not k.startswith("_")} for e in events if id(e) in kept]
    largest = max((len(group) for group in by_type.values()), default=0)
    listed_filters = {"search": search, "includeEvents": include, "excludeEvents": exclude}
    return Response(
        200,
        {
            "events": shown,
            "filters": listed_filters,
            "order": [str(order[0]), "ASC" if ascending else "DESC"],
            "types": dict(EVENT_TYPES),
            "total": len(events),
            "page": page,
            "limit": limit,
            "maxPages": float(max(math.ceil(largest / limit), 1)),
        },
    )


@route("GET", "/api/contacts/{id}/activity")
def contact_activity(req: Request) -> Response:
    return activity(req, get_contact(req.store, req.int_arg())["id"])


@route("GET", "/api/contacts/activity")
def all_activity(req: Request) -> Response:
    return activity(req, None)
