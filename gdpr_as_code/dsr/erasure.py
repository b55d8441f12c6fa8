"""Erasure: the receipt that outlives the contact, the batch delete, and the check that Mautic forgot.

Receipt: once the contact is deleted there must still be proof the request was honoured, but the proof must
not itself be the personal data we were asked to erase. So it holds the contact id, the request and completion
dates, and an HMAC-SHA256 of the lower-cased address under a key from ``GDPR_AS_CODE_RECEIPT_KEY``: whoever
holds the key can answer "did you erase jane@example.com?" by hashing the address again; nobody else can
reverse it. Erasures refuse to run without the key.

What Mautic keeps: deleting a contact leaves its form results (name, email, every answer) and the address in
its email statistics; the API can delete neither. So before the delete the receipt lists the form results by
id (``form_results``: ``[form id, result id]``, no content) and the summary tells the operator to delete them
in Mautic's UI (Forms → Results).

Delete: ``DELETE /contacts/batch/delete?ids=...``, at most 200 ids a call (Mautic's batch limit), unknown ids
skipped silently by Mautic; then Mautic must no longer list them (one ``search=ids:`` call per batch), and any
it still lists must answer 404 to a direct read."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from gdpr_as_code.dsr.export import activity
from gdpr_as_code.dsr.pending import collection, outcome_unknown
from gdpr_as_code.errors import GdprAsCodeError, MauticError, MauticHTTPError

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

RECEIPT_KEY_ENV = "GDPR_AS_CODE_RECEIPT_KEY"
MIN_KEY_LENGTH = 16
BATCH_LIMIT = 200
T = TypeVar("T")


def receipt_key(env: Mapping[str, str]) -> bytes:
    """The HMAC key for erasure receipts; a clear error when it is missing or too short to be a key."""
    key = env.get(RECEIPT_KEY_ENV, "")
    if len(key) < MIN_KEY_LENGTH:
        state = "is not set" if not key else f"is shorter than {MIN_KEY_LENGTH} characters"
        raise GdprAsCodeError(
            f"Erasures need a receipt key and {RECEIPT_KEY_ENV} {state}. The receipt of an erasure keeps "
            "only a keyed hash of the address, so that you can later prove the erasure without keeping the "
            'address. Create a key once (python3 -c "import secrets; print(secrets.token_hex(32))"), keep '
            f"it in your secret store, export it as {RECEIPT_KEY_ENV} and rerun; or run only access requests "
            "with --type access."
        )
    return key.encode("utf-8")


def email_hash(key: bytes, address: str) -> str:
    """HMAC-SHA256 of the trimmed, lower-cased address, hex: the only trace of the address a receipt keeps."""
    return hmac.new(key, address.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def batches(items: Sequence[T], size: int = BATCH_LIMIT) -> Iterator[list[T]]:
    """``items`` in slices of at most ``size`` (Mautic's batch limit)."""
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def delete_batch(client: MauticClient, ids: Sequence[int]) -> None:
    """Delete up to 200 contacts in one call (Mautic reads the ids from the query only)."""
    if len(ids) > BATCH_LIMIT:
        raise ValueError(f"Mautic deletes at most {BATCH_LIMIT} contacts per call")
    try:
        client.delete("/contacts/batch/delete", params={"ids": ",".join(str(i) for i in ids)})
    except MauticError as err:
        rerun = "it repeats the delete (Mautic skips contacts already gone) and checks that each one is gone."
        unsure = f"the {len(ids)} contact(s) may or may not be deleted"
        raise outcome_unknown(err, unsure, rerun) or err from None


def still_present(client: MauticClient, ids: Sequence[int]) -> set[int]:
    """Which of ``ids`` Mautic still has, in one list call per 200 (``search=ids:``); for each one listed, a
    second look (``GET`` must answer 404) rules out a stale list before it is called a failure.

    Checked (real-Mautic audit): ``ids:`` is a search command of every repository in 5.1
    (CoreBundle/Entity/CommonRepository.php L1067-1069, ``getIdsExpr``: comma-separated ids), which
    LeadRepository passes on (LeadBundle/Entity/LeadRepository.php L699); 404 after a delete: flows/131."""
    listed: set[int] = set()
    for batch in batches(list(ids)):
        search = "ids:" + ",".join(str(i) for i in batch)
        found = client.get("/contacts", params={"search": search, "limit": len(batch), "minimal": "true"})
        listed |= {int(contact["id"]) for contact in collection(found, "contacts")}
    present = set()
    for contact_id in sorted(listed):
        try:
            client.get(f"/contacts/{contact_id}")
        except MauticHTTPError as err:
            if err.status != 404:
                raise
            continue
        present.add(contact_id)
    return present


def append_receipts(path: Path, receipts: Iterable[Mapping[str, Any]]) -> None:
    """Append erasure receipts (JSONL, 0600) and fsync: they are the lasting evidence."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a+", encoding="utf-8") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size and (handle.seek(size - 1), handle.read(1))[1] != "\n":
            handle.write("\n")  # a receipt torn by a crash stays alone on its line
        for receipt in receipts:
            handle.write(json.dumps(receipt, separators=(",", ":")) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def receipt_ids(path: Path) -> set[str]:
    """Request ids of the whole receipts already in the file (a line torn by a crash does not count)."""
    found: set[str] = set()
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    found.add(str(json.loads(line)["request"]))
                except (ValueError, KeyError, TypeError):
                    continue
    return found


def form_results(client: MauticClient, contact_id: int) -> list[list[int]]:
    """``[form id, result id]`` of every form result of the contact: they outlive its deletion."""
    found = []
    for event in activity(client, contact_id, ("form.submitted",)):
        submission = (event.get("details") or {}).get("submission") or {}
        form = submission.get("form") or {}
        if submission.get("id") is not None and form.get("id") is not None:
            found.append([int(form["id"]), int(submission["id"])])
    return found


def leftover_note(results: Sequence[Sequence[int]]) -> str:
    """What the operator must still delete by hand, by id only; empty when nothing is left."""
    if not results:
        return ""
    listed = ", ".join(f"form {form} result {result}" for form, result in results)
    return (
        f"Mautic keeps {len(results)} form result(s) of this person ({listed}); the API cannot delete them: "
        "delete them in Mautic under Forms → Results"
    )
