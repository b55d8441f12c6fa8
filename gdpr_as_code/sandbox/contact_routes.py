"""The contact API's routes: single contacts and batches, do-not-contact, devices, the contact's companies and
campaigns."""


from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_values import BATCH_MAX, DNC_REASONS, FieldSchema
from gdpr_as_code.sandbox.contact_write import (
    body_object,
    create_or_update,
    created_at,
    delete_contact,
    edit,
    get_contact,
    identifier_index,
    merged_to,
    new_row,
    touch,
    write,
)
from gdpr_as_code.sandbox.contacts import render
from gdpr_as_code.sandbox.http import (
    ApiError,
    Request,
    Response,
    controller_error,
)
from gdpr_as_code.sandbox.notes import by_lead
from gdpr_as_code.sandbox.query import batch_items, query_ids
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

# --- single contacts and batches -----------------------------------------------------------------------


@route("GET", "/api/contacts/{id}")
def get_one(req: Request) -> Response:
    return Response(200, {"contact": render(req.store, get_contact(req.store, req.int_arg()))})


@route("POST", "/api/contacts/new")
def new_contact(req: Request) -> Response:
    row, status = create_or_update(req.store, req, body_object(req))
    body = {"contact": render(req.store, row, "fresh" if status == 201 else "loaded")}
    return Response(status, body, created_at(f"/api/contacts/{row['id']}") if status == 201 else {})


@route("PATCH", "/api/contacts/{id}/edit")
def patch_contact(req: Request) -> Response:
    row = get_contact(req.store, req.int_arg())
    edit(req.store, req, row, put=False)
    return Response(200, {"contact": render(req.store, row)})


@route("PUT", "/api/contacts/{id}/edit")
def put_contact(req: Request) -> Response:
    """PUT overwrites with blanks; on a missing id it creates a new contact with a new id (201)."""
    store = req.store
    row = store.table("contacts").get(req.int_arg())
    if row is None:
        row = new_row(store, req)
        write(store, row, body_object(req), put=True)
        store.insert("contacts", row)
        location = created_at(f"/api/contacts/{row['id']}")
        return Response(201, {"contact": render(store, row, "fresh")}, location)
    edit(store, req, row, put=True)
    return Response(200, {"contact": render(store, row)})


@route("DELETE", "/api/contacts/{id}/delete")
def delete_one(req: Request) -> Response:
    row = get_contact(req.store, req.int_arg())
    return Response(200, {"contact": delete_contact(req.store, row)})


@route("POST", "/api/contacts/batch/new")
def batch_new(req: Request) -> Response:
    """Each item is an upsert; answers 201 with per-item ``statusCodes`` and ``errors`` by item key."""
    store = req.store
    items = batch_items(req)
    listed = isinstance(req.data, list)
    contacts: dict[Any, Any] = {}
    codes: dict[Any, int] = {}
    errors: dict[str, Any] = {}
    index, schema = identifier_index(store), FieldSchema(store)
    for key, item in items.items():
        try:
            row, status = create_or_update(store, req, item, index)
        except ApiError as err:
            error = err.response.body["errors"][0]
            errors[str(key)] = {**error, "type": None}
            codes[key] = err.response.status
            continue
        contacts[key] = render(store, row, "fresh" if status == 201 else "loaded", schema=schema)
        codes[key] = status
    body: dict[str, Any] = {
        "contacts": list(contacts.values())
        if listed and len(contacts) == len(items)
        else {str(k): v for k, v in contacts.items()},
        "statusCodes": list(codes.values()) if listed else {str(k): v for k, v in codes.items()},
    }
    if errors:
        body["errors"] = errors
    return Response(201, body)


@route("DELETE", "/api/contacts/batch/delete")
def batch_delete(req: Request) -> Response:
    ids = query_ids(req.query)
    if len(ids) > BATCH_MAX:
        raise controller_error(500, f"A max of {BATCH_MAX} entities are supported at a time.")
    table = req.store.table("contacts")
    if req.app.profile.batch_follows_merges:  # 7.0.2: ids=1 deleted 16, which 1 was merged into (flows/133)
        ids = list(dict.fromkeys(merged_to(req.store, i) for i in ids))
    deleted = [delete_contact(req.store, table[i], batch=True) for i in ids if i in table]
    return Response(200, {"contacts": deleted})


# --- do not contact ----------------------------------------------------------------------------------------


@route("POST", "/api/contacts/{id}/dnc/{channel:[a-z_]+}/add")
def dnc_add(req: Request) -> Response:
    store = req.store
    row = get_contact(store, req.int_arg())
    data = body_object(req)
    reason = int(data.get("reason", 3) or 0) if str(data.get("reason", 3)).isdigit() else 0
    if reason not in DNC_REASONS:
        raise controller_error(400, "Invalid reason code given")
    channel = req.path_args["channel"]
    if not any(d["channel"] == channel for d in row["doNotContact"]):
        row["doNotContact"].append(
            {
                "id": store.next_id("dnc"),
                "dateAdded": iso(now(store)),
                "reason": reason,
                "comments": str(data.get("comments") or ""),
                "channel": channel,
                "channelId": data.get("channelId"),
            }
        )
        if req.app.profile.dnc_saves_contact:
            touch(store, row, req)
    return Response(200, {"contact": render(store, row, "dnc")})


@route("POST", "/api/contacts/{id}/dnc/{channel:[a-z_]+}/remove")
def dnc_remove(req: Request) -> Response:
    store = req.store
    row = get_contact(store, req.int_arg())
    channel = req.path_args["channel"]
    found = [d for d in row["doNotContact"] if d["channel"] == channel]
    row["doNotContact"] = [d for d in row["doNotContact"] if d["channel"] != channel]
    if found and req.app.profile.dnc_saves_contact:
        touch(store, row, req)
    return Response(200, {"recordFound": bool(found), "contact": render(store, row, "dnc")})


# --- other contact sub-resources ---------------------------------------------------------------------------


@route("GET", "/api/contacts/{id}/devices")
def contact_devices(req: Request) -> Response:
    contact = get_contact(req.store, req.int_arg())
    devices = [
        {"id": d["id"], "lead": {}, **d["details"]}
        for d in req.store.table("devices").values()
        if d["contact"] == contact["id"]
    ]
    return Response(200, {"total": len(devices), "devices": devices})


DEVICE_KEYS = ("clientInfo", "device", "deviceBrand", "deviceModel", "deviceOsName", "deviceOsShortName",
               "deviceOsVersion", "deviceOsPlatform")
# The contact's core columns as the device list's serializer flattens them (recorded, 5.1.0).
FLAT_FIELDS = ("title", "firstname", "lastname", "company", "position", "email", "phone", "mobile",
               "address1", "address2", "city", "state", "zipcode", "timezone", "country")


def device_lead(store: Store, contact_id: int) -> dict[str, Any]:
    """A device's contact in the generic device list: the core columns flat, ``fields: []``."""
    row = store.table("contacts")[contact_id]
    full = render(store, row)
    flat = {alias: row["values"].get(alias) for alias in FLAT_FIELDS}
    return {"createdByUser": None, "modifiedByUser": " ", "id": row["id"], "points": row["points"],
            "color": None, **flat, "fields": [], "lastActive": row["lastActive"], "owner": None,
            "ipAddresses": full.get("ipAddresses", []), "tags": full.get("tags", []), "utmtags": [],
            "stage": None, "dateIdentified": row["dateIdentified"], "preferredProfileImage": "gravatar",
            "doNotContact": full.get("doNotContact", []), "frequencyRules": []}


@route("GET", "/api/devices")
def list_devices(req: Request) -> Response:
    """The generic device list (``where lead in``, recorded on real 5.1.0): an array, every device column
    (null ones too, unlike the contact's own list), each device's contact flattened."""
    total, rows = by_lead(req, "devices")
    devices = [
        {"id": d["id"], "lead": device_lead(req.store, d["contact"]),
         **{key: d["details"].get(key) for key in DEVICE_KEYS}}
        for d in rows
    ]
    return Response(200, {"total": total, "devices": devices})


@route("GET", "/api/contacts/{id}/companies")
def contact_companies(req: Request) -> Response:
    """The sandbox has no companies: the answer for a contact without any."""
    get_contact(req.store, req.int_arg())
    return Response(200, {"total": 0, "companies": []})


@route("GET", "/api/contacts/{id}/campaigns")
def contact_campaigns(req: Request) -> Response:
    """The sandbox has no campaigns: the answer for a contact in none."""
    get_contact(req.store, req.int_arg())
    return Response(200, {"total": 0, "campaigns": []})


def device_details(user_agent: str) -> dict[str, str]:
    """What Mautic's device detector reports for a browser, reduced to the operating system and platform."""
    systems = (
        ("Windows", "Windows", "WIN"),
        ("Android", "Android", "AND"),
        ("iPhone", "iOS", "IOS"),
        ("Mac OS", "Mac", "MAC"),
        ("Linux", "GNU/Linux", "LIN"),
    )
    name, short = next(((n, s) for marker, n, s in systems if marker in user_agent), ("", ""))
    if not name:  # a library, not a browser (real 5.1.0, python-httpx): no device type and no OS keys at all
        return {"device": "", "deviceBrand": "", "deviceModel": ""}
    mobile = any(m in user_agent for m in ("Mobile", "iPhone", "Android"))
    platform = "x64" if any(m in user_agent for m in ("x86_64", "Win64", "x64")) else ""
    return {
        "device": "smartphone" if mobile else "desktop",
        "deviceBrand": "",
        "deviceModel": "",
        "deviceOsName": name,
        "deviceOsShortName": short,
        "deviceOsVersion": "",
        "deviceOsPlatform": platform,
    }


