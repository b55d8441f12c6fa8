"""Segment membership: the API's add/remove, the contact's segments, and the rebuild of filter-based segments.

Mirrors Mautic 5.1 (CONTRACT §2, recorded crud/060-063, flows/079-097):

- ``POST /api/segments/{id}/contact/{cid}/add|remove`` and ``POST /api/segments/{id}/contacts/add`` accept
  only published segments (403 otherwise). API adds are "manually added"; removing a manually added contact
  deletes the row (a rebuild may add it again if it matches), removing a filter-added one keeps it as
  "manually removed" (a rebuild will not add it again).
- Filter-based segments fill only when ``mautic:segments:update`` runs: here ``POST
  /_sandbox/segments/rebuild`` (``?id=N`` for one segment), which evaluates the filters like Mautic's query
  builder does.
- The membership's ``dateAdded`` is what the GDPR request flow uses as "date received": Mautic exposes it in
  ``GET /api/contacts/{id}/segments`` (``lists.<id>.dateAdded``) and as the timestamp of the contact's
  ``segment_membership`` activity event; both are kept here."""

from __future__ import annotations

import re
from typing import Any

from gdpr_as_code.sandbox.activity import log_event
from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_list import column_value
from gdpr_as_code.sandbox.contact_write import as_list, get_contact
from gdpr_as_code.sandbox.http import Request, Response, controller_error, not_found
from gdpr_as_code.sandbox.query import like
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

ACCESS_DENIED = "You do not have access to the requested area/action."


def segments(store: Store) -> dict[int, dict[str, Any]]:
    """The segments table (written by the segments resource)."""
    return store.table("segments")


def memberships(
    store: Store, *, segment: int | None = None, contact: int | None = None
) -> list[dict[str, Any]]:
    """Membership rows, optionally of one segment and/or one contact, in insertion order."""
    return [
        m
        for m in store.table("segment_members").values()
        if (segment is None or m["segment"] == segment) and (contact is None or m["contact"] == contact)
    ]


def members_of_alias(store: Store, alias: str) -> set[int]:
    """``segment:<alias>`` search: members (not manually removed) of the segments with that alias."""
    ids = {s["id"] for s in segments(store).values() if s.get("alias") == alias}
    return {m["contact"] for m in store.table("segment_members").values()
            if m["segment"] in ids and not m["manuallyRemoved"]}


def add(
    store: Store, segment: dict[str, Any], contact_id: int, *, manually: bool, known: bool = False
) -> bool:
    """Make the contact a member (again); False when it already was one. Logs the activity event.
    ``known``: the caller already knows there is no membership row (a rebuild), so none is looked up."""
    existing = [] if known else memberships(store, segment=segment["id"], contact=contact_id)
    if existing:
        row = existing[0]
        if not row["manuallyRemoved"]:
            return False
        if not manually:
            return False  # a rebuild never re-adds a manually removed contact
        row.update(manuallyRemoved=False, manuallyAdded=True, dateAdded=iso(now(store)))
    else:
        store.insert(
            "segment_members",
            {
                "segment": segment["id"],
                "contact": contact_id,
                "dateAdded": iso(now(store)),
                "manuallyAdded": manually,
                "manuallyRemoved": False,
            },
        )
    log_event(
        store,
        contact_id,
        "segment_membership",
        f"Contact added to segment, {segment['name']}",
        segment["name"],
    )
    return True


def remove(store: Store, segment: dict[str, Any], contact_id: int, *, manually: bool) -> bool:
    """End a membership; a manual removal of a filter-added contact is remembered (removeFromLists)."""
    existing = [
        m for m in memberships(store, segment=segment["id"], contact=contact_id) if not m["manuallyRemoved"]
    ]
    if not existing:
        return False
    row = existing[0]
    if manually and not row["manuallyAdded"]:
        row.update(manuallyRemoved=True, manuallyAdded=False)
    else:
        del store.table("segment_members")[row["id"]]
    log_event(
        store,
        contact_id,
        "segment_membership",
        f"Contact removed from segment, {segment['name']}",
        segment["name"],
    )
    return True


def segment_or_404(store: Store, segment_id: int) -> dict[str, Any]:
    """The segment of a membership request (404 if missing; see ``check_published`` for the 403)."""
    segment = segments(store).get(segment_id)
    if segment is None:
        raise not_found()
    return segment


def check_published(segment: dict[str, Any]) -> None:
    """403 for an unpublished segment: it is not among the user's lists (ListModel::getUserLists)."""
    if not segment.get("isPublished", True):
        raise controller_error(403, ACCESS_DENIED)


def change_membership(req: Request, *, adding: bool) -> Response:
    """One contact in or out of a segment: 404 for a missing segment or contact, 403 if unpublished."""
    store = req.store
    segment = segment_or_404(store, req.int_arg())
    contact_id = int(req.path_args["cid"])
    if contact_id not in store.table("contacts"):
        raise controller_error(404, "Contact not found.")
    check_published(segment)
    (add if adding else remove)(store, segment, contact_id, manually=True)
    return Response(200, {"success": 1})


@route("POST", "/api/segments/{id}/contact/{cid}/add")
def add_contact(req: Request) -> Response:
    return change_membership(req, adding=True)


@route("POST", "/api/segments/{id}/contact/{cid}/remove")
def remove_contact(req: Request) -> Response:
    return change_membership(req, adding=False)


@route("POST", "/api/segments/{id}/contacts/add")
def add_contacts(req: Request) -> Response:
    """Batch add: ``{"ids": [..]}``; each id answered in ``details`` (unknown contacts fail individually)."""
    store = req.store
    segment = segment_or_404(store, req.int_arg())
    check_published(segment)
    data = req.data if isinstance(req.data, dict) else {}
    ids = data.get("ids")
    if not ids:
        raise controller_error(400, "ids: This value should not be blank.")
    values = as_list(ids)
    details: dict[str, dict[str, bool]] = {}
    for raw in values:
        contact_id = int(raw) if str(raw).isdigit() else 0
        known = contact_id in store.table("contacts")
        if known:
            add(store, segment, contact_id, manually=True)
        details[str(raw)] = {"success": known}
    return Response(200, {"success": 1, "details": details})


@route("GET", "/api/contacts/{id}/segments")
def contact_segments(req: Request) -> Response:
    """The contact's segments, keyed by id, with the membership date (``dateAdded``) and how it was made."""
    store = req.store
    contact = get_contact(store, req.int_arg())
    table = segments(store)
    lists: dict[str, Any] = {}
    for member in sorted(memberships(store, contact=contact["id"]), key=lambda m: m["segment"]):
        segment = table.get(member["segment"])
        if segment is None or member["manuallyRemoved"]:
            continue
        lists[str(segment["id"])] = {
            "id": segment["id"],
            "name": segment["name"],
            "alias": segment.get("alias"),
            "dateAdded": member["dateAdded"],
            "manuallyRemoved": member["manuallyRemoved"],
            "manuallyAdded": member["manuallyAdded"],
        }
    return Response(200, {"total": len(lists), "lists": lists or []})


# --- rebuild (mautic:segments:update) ----------------------------------------------------------------------


def filter_value(flt: dict[str, Any]) -> Any:
    """The filter's operand: ``properties.filter`` (5.x), else the legacy root-level ``filter``."""
    props = flt.get("properties")
    if isinstance(props, dict) and "filter" in props:
        return props["filter"]
    return flt.get("filter")


def text_of(value: Any) -> str:
    return "" if value is None else str(value)


def matches_filter(store: Store, row: dict[str, Any], flt: dict[str, Any]) -> bool:
    """One segment filter against one contact, as Mautic's segment query builder evaluates it."""
    field, operator, operand = str(flt.get("field", "")), str(flt.get("operator", "=")), filter_value(flt)
    if field == "leadlist":
        wanted = {int(v) for v in (operand if isinstance(operand, list) else [operand]) if str(v).isdigit()}
        member = {m["segment"] for m in memberships(store, contact=row["id"]) if not m["manuallyRemoved"]}
        return bool(wanted & member) == (operator in ("in", "="))
    value = column_value(row, field)
    empty = value in (None, "")
    listed = [text_of(v).lower() for v in (operand if isinstance(operand, list) else [operand])]
    if flt.get("type") == "multiselect":
        # Mautic matches each option inside the stored "a|b" with a REGEXP, so any shared option counts.
        current = {part.lower() for part in text_of(value).split("|") if part}
    else:
        current = {text_of(value).lower()} if not empty else set()
    needle = text_of(operand)
    checks = {
        "=": lambda: not empty and text_of(value).lower() == needle.lower(),
        "!=": lambda: empty or text_of(value).lower() != needle.lower(),
        "empty": lambda: empty,
        "!empty": lambda: not empty,
        "in": lambda: bool(current & set(listed)),
        "!in": lambda: not current & set(listed),
        "like": lambda: like(value, needle if "%" in needle else f"%{needle}%"),
        "!like": lambda: empty or not like(value, needle if "%" in needle else f"%{needle}%"),
        "contains": lambda: like(value, f"%{needle}%"),
        "startsWith": lambda: like(value, f"{needle}%"),
        "endsWith": lambda: like(value, f"%{needle}"),
        "regexp": lambda: not empty and regexp(needle, text_of(value)),
        "!regexp": lambda: empty or not regexp(needle, text_of(value)),
        "gt": lambda: not empty and compare(value, operand) > 0,
        "gte": lambda: not empty and compare(value, operand) >= 0,
        "lt": lambda: not empty and compare(value, operand) < 0,
        "lte": lambda: not empty and compare(value, operand) <= 0,
    }
    check = checks.get(operator)
    return bool(check and check())


def regexp(pattern: str, text: str) -> bool:
    """MariaDB's REGEXP (case-insensitive); a pattern it could not compile matches nothing."""
    try:
        return re.search(pattern, text, re.IGNORECASE) is not None
    except re.error:
        return False


def compare(left: Any, right: Any) -> int:
    """Numeric comparison when both sides are numbers, else text comparison (as MariaDB coerces)."""
    try:
        a, b = float(left), float(right)
    except (TypeError, ValueError):
        a, b = text_of(left).lower(), text_of(right).lower()  # type: ignore[assignment]
    return (a > b) - (a < b)


def matches_filters(store: Store, row: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """Filters by glue: ``or`` starts a new group; groups are OR-ed, filters in a group AND-ed."""
    groups: list[list[dict[str, Any]]] = []
    for position, flt in enumerate(filters):
        if position == 0 or str(flt.get("glue", "and")).lower() == "or":
            groups.append([])
        groups[-1].append(flt)
    return any(all(matches_filter(store, row, f) for f in group) for group in groups)


def rebuild(store: Store, segment_id: int | None = None) -> dict[str, dict[str, int]]:
    """Add contacts matching each published filter-based segment and remove filter-added ones that no longer
    match; segments in name order, as the console command walks them. Returns added/removed per segment."""
    chosen = [
        s
        for s in segments(store).values()
        if s.get("isPublished", True) and (segment_id is None or s["id"] == segment_id)
    ]
    result: dict[str, dict[str, int]] = {}
    contacts = sorted(store.table("contacts").values(), key=lambda r: r["id"])
    for segment in sorted(chosen, key=lambda s: (str(s.get("name", "")), s["id"])):
        filters = [f for f in segment.get("filters") or [] if isinstance(f, dict)]
        added = removed = 0
        if filters:
            members = {m["contact"]: m for m in memberships(store, segment=segment["id"])}
            for row in contacts:
                member = members.get(row["id"])
                if matches_filters(store, row, filters):
                    if member is None and add(store, segment, row["id"], manually=False, known=True):
                        added += 1
                elif member and not member["manuallyAdded"] and not member["manuallyRemoved"]:
                    remove(store, segment, row["id"], manually=False)
                    removed += 1
        result[str(segment["id"])] = {"added": added, "removed": removed}
    return result


@route("POST", "/_sandbox/segments/rebuild")
def rebuild_control(req: Request) -> Response:
    """``mautic:segments:update`` (all published segments, or ``?id=N`` like ``--list-id=N``)."""
    raw = req.query.get("id")
    if raw is not None and not str(raw).isdigit():
        return Response(400, {"error": "id must be a segment id (digits)"}, controller=False)
    return Response(
        200, {"segments": rebuild(req.store, int(raw) if raw is not None else None)}, controller=False
    )
