"""Erasure receipts as answers: "did we erase jane@example.com?", and erased people who came back.

A receipt keeps an HMAC-SHA256 of the lower-cased address under ``GDPR_AS_CODE_RECEIPT_KEY`` (``erasure``).
So the question is answered by hashing the address the same way (the key is used as its UTF-8 text) and
looking it up; nobody needs to compute it by hand, and the address itself is never written anywhere.

Re-imports: marketing imports an old list and an erased person is a contact again. Every live contact with
an address is hashed and compared with the receipts: one paged list of the contacts whose email is not empty
(500 a call; the HMACs cannot be searched for, and an import may backdate ``dateAdded``, so no date narrows
it safely), read once for all receipts. A match is reported (``requests reimported``, ``audit``), and
``--erase`` erases it again as a ``reimport`` request (receipt, delete, confirm; no email: the person asked
once already and did not ask to hear from us again).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gdpr_as_code.dsr.erasure import email_hash, receipt_key
from gdpr_as_code.dsr.pending import CONTACT_PAGE, PendingRequest, contact_email, mask_email, parse_time
from gdpr_as_code.dsr.steps import Setup

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

WITH_ADDRESS = {"where[0][col]": "email", "where[0][expr]": "isNotEmpty"}
"""Only contacts with an address can match a receipt (anonymous visitors are most of a Mautic)."""


def read(path: Path) -> list[dict[str, Any]]:
    """The whole receipts of a receipts file (a line torn by a crash is skipped)."""
    found = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                receipt = json.loads(line)
            except ValueError:
                continue
            if isinstance(receipt, dict) and receipt.get("email_hmac"):
                found.append(receipt)
    return found


def verify_erasure(setup: Setup, address: str) -> list[dict[str, Any]]:
    """The receipts of ``address`` on this instance: when, where, which request (no address in them)."""
    digest = email_hash(receipt_key(setup.env), address)
    return [
        {key: receipt.get(key) for key in ("request", "type", "instance", "contact", "received", "completed")}
        for receipt in read(setup.receipts_path)
        if receipt["email_hmac"] == digest
    ]


def verify_text(setup: Setup, address: str, found: Sequence[Mapping[str, Any]]) -> str:
    masked = mask_email(address)
    if not found:
        return f"No erasure receipt for {masked} on {setup.instance} (receipts: {setup.receipts_path})."
    lines = [
        f"  {r['completed']}  {r['instance']}  receipt {r['request']} (contact {r['contact']}, received "
        f"{str(r['received'])[:10]})"
        for r in found
    ]
    return "\n".join([f"{masked} was erased {len(found)} time(s):", *lines])


@dataclass(frozen=True)
class Comeback:
    """A live contact whose address an erasure receipt names."""

    contact_id: int
    email: str
    receipt: str  # the request id of the erasure it matches
    added: str
    erased: str = ""  # when that erasure was completed

    def request(self) -> PendingRequest:
        """The ``reimport`` request that erases it again; received when the contact was added back."""
        return PendingRequest("reimport", self.contact_id, parse_time(self.added), None, self.email)

    def as_dict(self) -> dict[str, Any]:
        return {
            "contact": self.contact_id,
            "email": mask_email(self.email),
            "receipt": self.receipt,
            "erased": self.erased,
            "added": self.added,
        }


def reimported(setup: Setup) -> list[Comeback]:
    """Live contacts whose address matches an erasure receipt of this instance."""
    found = read(setup.receipts_path)
    return comebacks(setup.client, found, receipt_key(setup.env)) if found else []


def comebacks(client: MauticClient, receipts: Sequence[Mapping[str, Any]], key: bytes) -> list[Comeback]:
    """The live contacts whose address one of ``receipts`` names: one paged list for all of them."""
    erased = {str(r["email_hmac"]): r for r in receipts}
    if not erased:
        return []
    found = []
    for contact in client.list_all("/contacts", "contacts", params=WITH_ADDRESS, page_size=CONTACT_PAGE):
        address = contact_email(contact)
        match = erased.get(email_hash(key, address)) if address else None
        if match is not None:
            added = str(contact.get("dateAdded") or "")
            completed = str(match.get("completed") or "")
            found.append(Comeback(int(contact["id"]), address, str(match["request"]), added, completed))
    return found


def reimported_text(setup: Setup, found: Sequence[Comeback]) -> str:
    if not found:
        return f"No erased person is back in Mautic at {setup.instance}."
    lines = [
        f"  contact {c.contact_id:>7}  {mask_email(c.email):28} added {c.added[:19]}  erased: {c.receipt}"
        for c in found
    ]
    tail = f"{len(found)} erased person(s) are back; `requests reimported --erase` erases them again."
    return "\n".join([f"Erased people back in Mautic at {setup.instance}:", *lines, tail])
