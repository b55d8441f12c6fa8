"""Access / portability exports: gather everything Mautic holds on one contact, write it as JSON and CSV.

Mautic has no export API (its UI export covers profile fields only, CONTRACT §11), so the export is assembled
from the contact's representation (fields, tags, UTM tags, IP addresses, do-not-contact, owner, stage; already
in hand from the segment list call) plus one call each for segments, companies, campaigns, devices, notes (all
pages) and activity (all pages). Form submissions come from the activity's ``form.submitted`` events, which
cover every form, so no per-form call is needed.

The export also answers the right to know (Art. 15(1)(a), (c), (d)): ``processing`` lists the spec's data
inventory, what is kept, why, on which legal basis and for how long, beside the data itself.

Files: ``data.json`` (everything, machine-readable for Art. 20), ``contact.csv`` (the profile fields as one
row, the layout of Mautic's own contact export that the seed asks for) and ``data.csv`` (every other section
flattened to ``section,item,key,value``). They are written into a temporary folder, fsynced, and renamed into
place, so an export folder is either complete or absent; the folder is 0700 and the files 0600 whatever the
umask.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdpr_as_code.dsr.journal import now
from gdpr_as_code.dsr.pending import PendingRequest, collection
from gdpr_as_code.errors import GdprAsCodeError

if TYPE_CHECKING:
    from gdpr_as_code.dsr.batch import Known
    from gdpr_as_code.mautic.client import MauticClient
    from gdpr_as_code.spec import DataItem

EXPORT_FORMAT = "gdpr-as-code/access-export"
ACTIVITY_PAGE = 200
# Keys of the contact representation that are data about the person (``fields`` is handled on its own).
CONTACT_KEYS = (
    "id",
    "dateAdded",
    "dateModified",
    "dateIdentified",
    "lastActive",
    "points",
    "owner",
    "stage",
    "tags",
    "utmtags",
    "ipAddresses",
    "doNotContact",
    "frequencyRules",
    "preferredProfileImage",
    "color",
)


def activity(client: MauticClient, contact_id: int, only: Sequence[str] = ()) -> list[Mapping[str, Any]]:
    """Every timeline event of the contact (or those of the types ``only``), oldest first, all pages."""
    events: list[Mapping[str, Any]] = []
    page = 1
    while True:
        params: dict[str, Any] = {"limit": ACTIVITY_PAGE, "page": page, "order[0]": "timestamp"}
        params["order[1]"] = "ASC"
        if only:
            params["filters[includeEvents][]"] = list(only)
        body = client.get(f"/contacts/{contact_id}/activity", params=params)
        batch = list(body.get("events") or [])
        events.extend(batch)
        if not batch or page >= int(float(body.get("maxPages") or 1)):
            return events
        page += 1


def gather(
    client: MauticClient,
    request: PendingRequest,
    inventory: Sequence[DataItem] = (),
    known: Known | None = None,
) -> dict[str, Any]:
    """Everything Mautic holds on the requester, and why (the spec's data ``inventory``), as one document.
    ``known``: the run's batched reads; what they cover is not read again for this contact."""
    cid = request.contact_id
    batched = known if known is not None and cid in known.ids else None
    contact = request.contact or client.get(f"/contacts/{cid}")["contact"]
    fields = contact.get("fields") or {}
    entries = [
        (alias, item)
        for group, items in fields.items()
        if group != "all" and isinstance(items, Mapping)
        for alias, item in items.items()
        if isinstance(item, Mapping)
    ]
    labels = {alias: item.get("label", alias) for alias, item in entries}
    booleans = {alias for alias, item in entries if item.get("type") == "boolean"}
    events = activity(client, cid)
    return {
        "format": EXPORT_FORMAT,
        "version": 1,
        "request": {
            "id": request.request_id,
            "type": request.kind,
            "received": request.received.isoformat(),
            "exported": now().isoformat(timespec="seconds"),
        },
        "contact": {key: contact.get(key) for key in CONTACT_KEYS if key in contact},
        "fields": {
            alias: _as_answered_alone(value) if alias in booleans else value
            for alias, value in (fields.get("all") or {}).items()
            if alias != "id"
        },
        "fieldLabels": labels,
        "segments": list(request.segments) or collection(client.get(f"/contacts/{cid}/segments"), "lists"),
        # Companies and campaigns: read only for a contact the batch saw in any (their details are there).
        "companies": collection(client.get(f"/contacts/{cid}/companies"), "companies")
        if batched is None or cid in batched.with_companies
        else [],
        "campaigns": collection(client.get(f"/contacts/{cid}/campaigns"), "campaigns")
        if batched is None or cid in batched.with_campaigns
        else [],
        # Notes and devices page (default 30); their order column needs the query alias (n., d.).
        "devices": list(batched.devices.get(cid, ()))
        if batched
        else client.list_all(f"/contacts/{cid}/devices", "devices", params={"orderBy": "d.id"}),
        "notes": list(batched.notes.get(cid, ()))
        if batched
        else client.list_all(f"/contacts/{cid}/notes", "notes", params={"orderBy": "n.id"}),
        "formSubmissions": [
            (event.get("details") or {}).get("submission")
            for event in events
            if event.get("event") == "form.submitted"
        ],
        "activity": events,
        "processing": [processing(item) for item in inventory],
    }


def _as_answered_alone(value: Any) -> Any:
    """A boolean field's value as ``GET /contacts/{id}`` answers it (``0``/``1``): Mautic's list answers
    give the column's text (``"1"``) and a create answer ``true``, so one export reads the same whichever
    call found the contact (measured on real 5.1.0)."""
    if value in (None, ""):
        return value
    return int(value) if str(value).lstrip("-").isdigit() else int(bool(value))


def processing(item: DataItem) -> dict[str, Any]:
    """One line of the data inventory as the person reads it: what, why, on which basis, for how long."""
    return {
        "data": item.description,
        "contactFields": list(item.contact_fields),
        "purpose": item.purpose,
        "legalBasis": item.legal_basis,
        "retention": (
            f"{item.retention_days} days from {item.retention_from.replace('_', ' ')}"
            if item.retention_days is not None
            else "as long as the purpose lasts"
        ),
    }


def _flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``{"a": {"b": [1]}}`` → ``("a.b.0", "1")``: nested data as key/value rows for a spreadsheet."""
    if isinstance(value, Mapping):
        if not value and prefix:
            yield prefix, ""
        for key, item in value.items():
            yield from _flatten(item, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list | tuple):
        if not value and prefix:
            yield prefix, ""
        for index, item in enumerate(value):
            yield from _flatten(item, f"{prefix}.{index}" if prefix else str(index))
    else:
        yield prefix, "" if value is None else str(value)


SECTIONS = (
    "contact",
    "segments",
    "companies",
    "campaigns",
    "devices",
    "notes",
    "formSubmissions",
    "activity",
    "processing",
)


def render(document: Mapping[str, Any], formats: Sequence[str]) -> dict[str, bytes]:
    """The export files by name: ``data.json`` for ``json``; ``contact.csv`` and ``data.csv`` for ``csv``."""
    files: dict[str, bytes] = {}
    if "json" in formats:
        files["data.json"] = json.dumps(document, indent=2, ensure_ascii=False).encode("utf-8")
    if "csv" in formats:
        fields = document["fields"]
        files["contact.csv"] = _csv([list(fields), ["" if v is None else str(v) for v in fields.values()]])
        rows: list[list[str]] = [["section", "item", "key", "value"]]
        for section in SECTIONS:
            data = document[section]
            items = enumerate(data) if isinstance(data, list) else [(0, data)]
            for index, item in items:
                rows.extend([section, str(index), key, value] for key, value in _flatten(item))
        files["data.csv"] = _csv(rows)
    return files


def _csv(rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write(folder: Path, request_id: str, files: Mapping[str, bytes]) -> Path:
    """Write ``files`` to ``folder/request_id`` (0700, files 0600) atomically, replacing any leftover."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as err:
        raise GdprAsCodeError(
            f"Cannot create the export folder {folder}: {err.strerror}. Point gdpr.exports.delivery.folder "
            "in the spec at a writable folder and rerun."
        ) from None
    final = folder / request_id
    temporary = folder / f".{request_id}.partial"
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(mode=0o700)
    os.chmod(temporary, 0o700)
    for name, content in files.items():
        descriptor = os.open(temporary / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    _fsync_dir(folder)
    return final


def _fsync_dir(path: Path) -> None:
    """Make a rename durable: fsync the directory that holds it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
