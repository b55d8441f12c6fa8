"""Which ``defaultValue`` Mautic's field form accepts for each contact field type, and how it stores it.

Measured on real 5.1.0 and 7.0.2 (``tests/recorded/*/field-defaults``): the choice types validate the default
against their options, a multiselect wants a list (``["a"]``; ``""`` and ``"a"`` are refused) and stores it
joined with ``|``, a select wants one option (a list is refused), a boolean ``0`` or ``1``; ``null`` is always
accepted, other types take anything. An empty default is stored as ``null``, a multiselect's as ``""``.
"""

from __future__ import annotations

from typing import Any

INVALID = "This value is not valid."  # 7.0 says "The selected choice is invalid."


def option_values(properties: Any) -> set[str]:
    """The option values of a select or multiselect's ``properties.list``."""
    listed = properties.get("list") if isinstance(properties, dict) else None
    return {str(o.get("value")) for o in listed or [] if isinstance(o, dict)}


def stored_default(type_: str, sent: Any, options: set[str], *, creating: bool) -> tuple[Any, str | None]:
    """``(stored value, error)`` for the ``defaultValue`` a create or edit sent; ``error`` refuses it.
    An edit may clear a multiselect's default with ``""``, which a create refuses."""
    if sent is None or (sent == "" and type_ == "multiselect" and not creating):
        return ("" if type_ == "multiselect" else None), None
    if type_ == "multiselect":
        if not isinstance(sent, list) or not {str(v) for v in sent} <= options:
            return None, INVALID
        return "|".join(str(v) for v in sent), None
    if isinstance(sent, list | dict):
        return None, INVALID if type_ in ("select", "boolean") else None
    text = str(sent)
    if type_ == "select" and text and text not in options:
        return None, INVALID
    if type_ == "boolean" and text not in ("", "0", "1"):
        return None, INVALID
    return (text or None), None
