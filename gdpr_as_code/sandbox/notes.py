"""Notes on contacts (``/api/notes``, ``/api/contacts/{id}/notes``) as Mautic 5.1 answers (flows/102-112).

A note's contact is answered three ways: in full by the entity serializer right after a write, as a lazy
proxy (``fields: []``) on a later GET, and as ``{}`` in the contact's own notes list (an array, newest first).
"""

from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_values import render_fields
from gdpr_as_code.sandbox.contact_write import as_list, body_object, created_at, get_contact
from gdpr_as_code.sandbox.http import (
    Request,
    Response,
    controller_error,
    kernel_error,
    not_found,
    validation_error,
)
from gdpr_as_code.sandbox.query import paging
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

NOTE_TYPES = ("general", "email", "call", "meeting")


def render_note(store: Store, note: dict[str, Any], lead: str) -> dict[str, Any]:
    """A note; ``lead`` is ``full`` (just written), ``proxy`` (lazy-loaded) or ``empty`` (in a list)."""
    base = {"id": note["id"], "text": note["text"], "type": note["type"]}
    if lead == "empty":
        return {**base, "lead": {}}
    row = store.table("contacts").get(note["contact"])
    contact: dict[str, Any] | None = None
    if row is not None:
        contact = {"id": row["id"], "points": row["points"], "color": None, "fields": []}
        if lead == "full":
            contact["fields"] = render_fields(store, row, "entity")
    return {**base, "dateTime": note["dateTime"], "lead": contact}


@route("POST", "/api/notes/new")
def new_note(req: Request) -> Response:
    store = req.store
    data = body_object(req)
    lead = data.get("lead")
    if not str(lead or "").isdigit() or int(lead) not in store.table("contacts"):
        raise controller_error(400, "lead ID is mandatory")
    kind = data.get("type", "general")
    if kind not in NOTE_TYPES:
        raise validation_error({"type": ["This value is not valid."]})
    note = {
        "contact": int(lead),
        "text": str(data.get("text") or ""),
        "type": kind,
        "dateTime": data.get("dateTime"),
        "dateAdded": iso(now(store)),
    }
    store.insert("notes", note)
    return Response(201, {"note": render_note(store, note, "full")}, created_at(f"/api/notes/{note['id']}"))


@route("GET", "/api/notes/{id}")
def get_note(req: Request) -> Response:
    note = req.store.table("notes").get(req.int_arg())
    if note is None:
        raise not_found()
    return Response(200, {"note": render_note(req.store, note, "proxy")})


def by_lead(req: Request, table: str) -> tuple[int, list[dict[str, Any]]]:
    """The total and the page of ``table`` (notes, devices) the generic list returns: ``where`` on ``lead``
    (``n.lead``, ``d.lead``) with ``eq``/``in`` (ids as one comma-separated string), id order,
    ``start``/``limit``."""
    rows = sorted(req.store.table(table).values(), key=lambda r: r["id"])
    for clause in as_list(req.query.get("where")):
        if not isinstance(clause, dict):
            continue
        if str(clause.get("col", "")).split(".")[-1] != "lead" or clause.get("expr") not in ("eq", "in"):
            raise kernel_error(500)  # the sandbox reads only what the request flow sends
        wanted = {v.strip() for v in str(clause.get("val", "")).split(",")}
        rows = [r for r in rows if str(r["contact"]) in wanted]
    start, limit = paging(req.query)
    return len(rows), rows[start : start + limit if limit else None]


@route("GET", "/api/notes")
def list_notes(req: Request) -> Response:
    """An array (measured on real 5.1.0 with and without ``where``), each note's contact as a lazy proxy."""
    total, notes = by_lead(req, "notes")
    return Response(200, {"total": total, "notes": [render_note(req.store, n, "proxy") for n in notes]})


@route("GET", "/api/contacts/{id}/notes")
def contact_notes(req: Request) -> Response:
    """Newest first (default order ``n.dateAdded DESC``), as an array."""
    store = req.store
    contact = get_contact(store, req.int_arg())
    notes = [n for n in store.table("notes").values() if n["contact"] == contact["id"]]
    notes.sort(key=lambda n: (n["dateAdded"], n["id"]), reverse=True)
    return Response(200, {"total": len(notes), "notes": [render_note(store, n, "empty") for n in notes]})


