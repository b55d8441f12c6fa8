"""Erasure: the receipt that outlives the contact, the batch delete, and the check that Mautic forgot.

Receipt: once the contact is deleted there must still be proof the request was honoured, but the proof must
not itself be the personal data we were asked to erase. So it holds the contact id, the request and completion
dates, and an HMAC-SHA256 of the lower-cased address under a key from ``GDPR_AS_CODE_RECEIPT_KEY``: whoever
holds the key can answer "did you erase jane@example.com?" by hashing the address again; nobody else can
reverse it. Erasures refuse to run without the key.

Delete: ``DELETE /contacts/batch/delete?ids=...``, at most 200 ids a call (Mautic's batch limit), unknown ids
skipped silently by Mautic; then each contact is read back and must answer 404.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from gdpr_as_code.errors import GdprAsCodeError, MauticHTTPError
from gdpr_as_code.requests.pending import Client

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


def delete_batch(client: Client, ids: Sequence[int]) -> None:
    """Delete up to 200 contacts in one call (Mautic reads the ids from the query only)."""
    if len(ids) > BATCH_LIMIT:
        raise ValueError(f"Mautic deletes at most {BATCH_LIMIT} contacts per call")
    client.delete("/contacts/batch/delete", params={"ids": ",".join(str(i) for i in ids)})


def is_gone(client: Client, contact_id: int) -> bool:
    """True when Mautic answers 404 for the contact: the only proof of deletion the API gives."""
    try:
        client.get(f"/contacts/{contact_id}")
    except MauticHTTPError as err:
        if err.status == 404:
            return True
        raise
    return False


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


def has_receipt(path: Path, request_id: str) -> bool:
    """True when the receipts file already holds a whole receipt of ``request_id`` (crash after writing)."""
    if not path.exists():
        return False
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            try:
                if json.loads(line).get("request") == request_id:
                    return True
            except ValueError:  # a receipt torn by a crash does not count: it is written again
                continue
    return False
