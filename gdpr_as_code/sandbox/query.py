"""Query helpers every sandbox resource shares: Mautic's LIKE, sort keys, paging (``start``/``limit``)."""


from __future__ import annotations

import re
from typing import Any

from gdpr_as_code.sandbox.contact_values import BATCH_MAX, DEFAULT_LIMIT
from gdpr_as_code.sandbox.contact_write import as_list
from gdpr_as_code.sandbox.http import (
    Request,
    controller_error,
    kernel_error,
)

# --- query helpers (shared with the other resources) ------------------------------------------------------


def like(value: Any, pattern: str) -> bool:
    """SQL LIKE, case-insensitive as MariaDB's default collation: ``%`` any run, ``_`` one character."""
    if value is None:
        return False
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, str(value), re.IGNORECASE | re.DOTALL) is not None


def sort_key(value: Any) -> tuple[int, Any]:
    """Numbers before text, compared as MariaDB would for a column of either kind."""
    try:
        return (0, float(value))
    except (TypeError, ValueError):
        return (1, str(value).lower())


def paging(query: dict[str, Any]) -> tuple[int, int | None]:
    """``start``/``limit`` as Mautic's list reads them; what MariaDB or DBAL reject is a 500 there too."""
    start_raw, limit_raw = query.get("start", 0), query.get("limit", DEFAULT_LIMIT)
    try:
        start = int(str(start_raw or 0))
        limit = int(str(limit_raw)) if limit_raw not in ("", None) else 0
    except ValueError:
        raise kernel_error(500) from None  # flows/155: limit=abc is a TypeError in DBAL
    if start < 0 or limit < 0:
        raise kernel_error(500)  # flows/152: LIMIT -1 is an SQL syntax error; a negative offset too
    return start, (limit or None)


def batch_items(req: Request) -> dict[Any, Any]:
    """The items of a batch body by their keys; a single object or too many items fail as in Mautic."""
    data = req.data
    if not isinstance(data, (list, dict)):
        raise kernel_error(500)  # a JSON scalar body fails in the controller as well
    items: dict[Any, Any] = dict(enumerate(data)) if isinstance(data, list) else dict(data)
    if any(not isinstance(v, dict) for v in items.values()):
        raise kernel_error(500)  # flows/146: a single object is a TypeError in getNewEntity()
    if len(items) > BATCH_MAX:
        raise controller_error(500, f"A max of {BATCH_MAX} entities are supported at a time.")
    return items


def query_ids(query: dict[str, Any]) -> list[int]:
    """``?ids=1,2`` or ``?ids[]=1&ids[]=2``; anything not numeric is dropped (the body is never read)."""
    raw = query.get("ids")
    parts = raw.split(",") if isinstance(raw, str) else as_list(raw)
    return [int(p) for p in (str(p).strip() for p in parts) if p.isdigit()]
