"""The submissions API (``/api/forms/{id}/submissions``, one, per contact) and the submissions in a contact's
timeline, as Mautic 5.1 answers them (recorded flows/065-078; CONTRACT §3). The public submit: ``submit``."""

from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.contacts import contact_columns
from gdpr_as_code.sandbox.http import Request, Response, kernel_error, not_found
from gdpr_as_code.sandbox.query import paging
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store
from gdpr_as_code.sandbox.submit import stored_fields


def render_submission(store: Store, sub: dict[str, Any], *, single: bool) -> dict[str, Any]:
    """A submission; results follow the form's current fields (a PUT that renamed them shows nulls)."""
    form = store.table("forms").get(sub["form"]) or {"id": sub["form"], "name": "", "alias": ""}
    contact = store.table("contacts").get(sub["contact"]) if sub["contact"] else None
    results = {f["alias"]: sub["results"].get(f["alias"]) for f in stored_fields(form)}
    if single:
        results = {"form_id": str(form["id"]), **results}
    return {
        "id": sub["id"],
        "ipAddress": {"ipAddress": sub["ip"]},
        "form": {"id": form["id"], "name": form["name"], "alias": form.get("alias"), "category": None},
        "lead": contact_columns(contact) if contact else None,
        "trackingId": sub["trackingId"],
        "dateSubmitted": sub["dateSubmitted"],
        "referer": sub["referer"],
        "page": None,
        "results": results,
    }


def submissions_answer(store: Store, rows: list[dict[str, Any]], query: dict[str, Any]) -> Response:
    """``total`` as a string; an array of submissions, ``{}`` when there are none (as recorded)."""
    start, limit = paging(query)
    order = str(query.get("orderBy") or "s.id").removeprefix("s.")
    if order not in ("id", "date_submitted", "dateSubmitted"):
        raise kernel_error(500)
    descending = str(query.get("orderByDir", "ASC")).upper() == "DESC"
    rows = sorted(
        rows, key=lambda s: (s["dateSubmitted"], s["id"]) if order != "id" else s["id"], reverse=descending
    )
    page = rows[start : start + limit if limit else None]
    listed = [render_submission(store, s, single=False) for s in page]
    return Response(200, {"total": str(len(rows)), "submissions": listed or {}})


def form_of(req: Request) -> dict[str, Any]:
    form = req.store.table("forms").get(req.int_arg())
    if form is None:
        raise not_found()
    return form


@route("GET", "/api/forms/{id}/submissions")
def list_submissions(req: Request) -> Response:
    form = form_of(req)
    rows = [s for s in req.store.table("submissions").values() if s["form"] == form["id"]]
    return submissions_answer(req.store, rows, req.query)


@route("GET", "/api/forms/{id}/submissions/contact/{cid}")
def contact_submissions(req: Request) -> Response:
    form = form_of(req)
    contact_id = int(req.path_args["cid"])
    rows = [
        s
        for s in req.store.table("submissions").values()
        if s["form"] == form["id"] and s["contact"] == contact_id
    ]
    return submissions_answer(req.store, rows, req.query)


@route("GET", "/api/forms/{id}/submissions/{sid}")
def one_submission(req: Request) -> Response:
    form = form_of(req)
    sub = req.store.table("submissions").get(int(req.path_args["sid"]))
    if sub is None or sub["form"] != form["id"]:
        raise not_found()
    return Response(200, {"submission": render_submission(req.store, sub, single=True)})


def submission_events(store: Store, contact_id: int | None) -> list[dict[str, Any]]:
    """``form.submitted`` activity events (for the contacts timeline)."""
    site = store.meta.get("site_url", "")
    events = []
    for sub in store.table("submissions").values():
        if sub["contact"] is None or (contact_id is not None and sub["contact"] != contact_id):
            continue
        form = store.table("forms").get(sub["form"]) or {"id": sub["form"], "name": "", "alias": ""}
        brief = {"id": form["id"], "name": form["name"], "alias": form.get("alias")}
        shown = render_submission(store, sub, single=True)
        details = {
            "id": sub["id"],
            "ipAddress": shown["ipAddress"],
            "form": brief,
            "trackingId": sub["trackingId"],
            "dateSubmitted": sub["dateSubmitted"],
            "referer": sub["referer"],
            "results": shown["results"],
        }
        events.append(
            {
                "event": "form.submitted",
                "eventId": f"form.submitted{sub['id']}",
                "eventLabel": {"label": form["name"], "href": f"{site}/s/forms/view/{form['id']}"},
                "eventType": "Form submitted",
                "timestamp": sub["dateSubmitted"],
                "contactId": str(sub["contact"]),
                "details": {"submission": details, "form": brief, "page": {}},
                "_id": sub["id"],
            }
        )
    return events
