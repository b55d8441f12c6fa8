"""What each per-request step does to Mautic (export, deliver, notify, take out of the segment, the receipt):
the actions ``steps.Runner`` journals and sequences."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdpr_as_code.dsr import batch, delivery, erasure, export, notify
from gdpr_as_code.dsr.pending import PendingRequest, contact_email, field_values
from gdpr_as_code.errors import GdprAsCodeError

if TYPE_CHECKING:
    from gdpr_as_code.dsr.steps import Setup


class Actions:
    """The steps' actions; ``Runner`` adds the journal around them."""

    setup: Setup
    key: bytes | None
    known: batch.Known  # the run's batched reads

    def __init__(self) -> None:
        self._contacts: dict[int, Mapping[str, Any]] = {}
        self._lock = threading.Lock()

    def contact(self, request: PendingRequest) -> Mapping[str, Any]:
        """The contact's representation: from the segment list, else read once (a resumed request)."""
        if request.contact:
            return request.contact
        with self._lock:
            cached = self._contacts.get(request.contact_id)
        if cached is None:
            cached = self.setup.client.get(f"/contacts/{request.contact_id}")["contact"]
            with self._lock:
                self._contacts[request.contact_id] = cached
        return cached

    def folder(self, request: PendingRequest) -> Path:
        return self.setup.export_dir / request.request_id

    def do_export(self, request: PendingRequest) -> dict[str, Any]:
        full = replace(request, contact=self.contact(request))  # a resumed request has no contact yet
        document = export.gather(self.setup.client, full, self.setup.gdpr.data_inventory, self.known)
        files = export.render(document, self.setup.gdpr.export_formats)
        path = export.write(self.setup.export_dir, request.request_id, files)
        return {"folder": str(path), "files": sorted(files)}

    def do_deliver(self, request: PendingRequest) -> dict[str, Any]:
        method = self.setup.gdpr.delivery
        if method.method == "folder":
            return {"method": "folder", "note": f"export left in {self.folder(request)} for the operator"}
        address = contact_email(self.contact(request))
        delivery.send_smtp(method, address, request.request_id, self.folder(request), self.setup.env)
        return {"method": "smtp"}

    def do_notify(self, request: PendingRequest) -> dict[str, Any]:
        email_id = self.setup.email_ids[request.kind]
        if request.contact and not contact_email(request.contact):
            raise GdprAsCodeError(
                f"Contact {request.contact_id} has no email address in Mautic, so request "
                f"{request.request_id} cannot be answered by email. Add the address they gave in Mautic "
                "and rerun; the request resumes at the notification."
            )
        notify.send(self.setup.client, email_id, request.contact_id)
        dnc = request.email_dnc_reason if request.contact else None
        return {"email_id": email_id, "note": notify.dnc_note(dnc)}

    def was_notified(self, request: PendingRequest) -> Callable[[datetime], bool]:
        email_id = self.setup.email_ids[request.kind]
        return lambda since: notify.sent_since(self.setup.client, email_id, request.contact_id, since)

    def do_mark_done(self, request: PendingRequest) -> dict[str, Any]:
        """Take the request out of its segment, the way that lets the same person ask again later.

        A static segment: remove the contact (Mautic deletes a manually added membership). A filter-based one:
        take the request's value off the request field instead; the next cron rebuild drops the contact. (An
        API removal would mark the membership "manually removed", and Mautic would never add the person
        again, so a second request a year later would go unseen.)
        """
        clear = self.setup.clear_values.get(request.kind)
        if clear is None:
            if request.segment_id is None:
                raise GdprAsCodeError(
                    f"Request {request.request_id} has no segment id in the journal; remove contact "
                    f"{request.contact_id} from the request segment in Mautic by hand."
                )
            self.setup.client.post(f"/segments/{request.segment_id}/contact/{request.contact_id}/remove")
            return {"segment_id": request.segment_id}
        alias, value = clear
        current = field_values(self.contact(request)).get(alias)
        remaining = [v for v in str(current or "").split("|") if v and v != value]
        body: dict[str, Any] = {alias: remaining} if remaining else {alias: "", "overwriteWithBlank": True}
        self.setup.client.patch(f"/contacts/{request.contact_id}/edit", body)
        return {"cleared": value}

    def do_receipt(self, request: PendingRequest) -> dict[str, Any]:
        assert self.key is not None
        address = contact_email(self.contact(request))
        return {
            "email_hmac": erasure.email_hash(self.key, address) if address else None,
            "form_results": self.known.forms.get(request.contact_id, [])
            if request.contact_id in self.known.ids
            else erasure.form_results(self.setup.client, request.contact_id),
        }
