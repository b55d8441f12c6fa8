"""All sandbox state, behind one lock, with optional atomic JSON persistence.

State is a set of tables (``"segments"``, ``"fields"``, ``"contacts"``...), each a dict ``id -> object``
kept in creation order, with ids handed out per table the way MariaDB's auto-increment does: never reused,
even after a delete. ``meta`` holds anything else a module needs to keep (counters, settings). Handlers
run with ``lock`` held by the server, so they read and mutate tables directly.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from gdpr_as_code.errors import GdprAsCodeError


class Store:
    """The sandbox's database: tables of JSON-able dicts, auto-increment ids, and one lock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[int, dict[str, Any]]] = {}
        self.next_ids: dict[str, int] = {}
        self.meta: dict[str, Any] = {}
        self._saved = ""

    def clear(self) -> None:
        """Forget everything, ids included (a fresh install)."""
        self.tables.clear()
        self.next_ids.clear()
        self.meta.clear()

    def table(self, kind: str) -> dict[int, dict[str, Any]]:
        """The table for ``kind`` (created empty on first use), ``id -> object`` in creation order."""
        return self.tables.setdefault(kind, {})

    def next_id(self, kind: str) -> int:
        """Reserve the next auto-increment id of ``kind``."""
        value = self.next_ids.get(kind, 1)
        self.next_ids[kind] = value + 1
        return value

    def insert(self, kind: str, obj: dict[str, Any]) -> int:
        """Store ``obj`` under a new id (also written to ``obj["id"]``) and return the id."""
        new_id = self.next_id(kind)
        obj["id"] = new_id
        self.table(kind)[new_id] = obj
        return new_id

    def snapshot(self) -> str:
        """The whole state as JSON text (ids as string keys, JSON's only kind)."""
        return json.dumps(
            {"tables": self.tables, "next_ids": self.next_ids, "meta": self.meta},
            separators=(",", ":"),
            ensure_ascii=False,
        )

    def restore(self, text: str) -> None:
        """Replace the state with a ``snapshot()``."""
        data = json.loads(text)
        self.tables = {kind: {int(k): v for k, v in rows.items()} for kind, rows in data["tables"].items()}
        self.next_ids = {kind: int(v) for kind, v in data["next_ids"].items()}
        self.meta = data.get("meta", {})
        self._saved = text

    def load(self, path: Path) -> bool:
        """Load state from ``path`` if it exists; False when there is nothing to load yet."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return False
        except OSError as err:
            raise GdprAsCodeError(
                f"Cannot read the sandbox state file {path}: {err.strerror}. Check the path and its "
                "permissions, or start without --state."
            ) from None
        try:
            self.restore(text)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GdprAsCodeError(
                f"The sandbox state file {path} is not a sandbox state (invalid JSON or missing tables). "
                "Move it away or point --state at a new file; the sandbox creates it."
            ) from None
        return True

    def save(self, path: Path, text: str | None = None) -> bool:
        """Write the state (or a ``snapshot()`` taken under the lock) atomically: temp file, fsync, rename.

        Nothing is written when it did not change since the last save.
        """
        text = self.snapshot() if text is None else text
        if text == self._saved:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        self._saved = text
        return True
