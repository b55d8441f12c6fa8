"""Mautic's alias derivation (``FormModel::cleanAlias``), shared by segments, fields and forms."""

from __future__ import annotations

import random
import re
import unicodedata

# MariaDB reserved words a field alias could collide with (the column name); cleanAlias prefixes them.
RESERVED = {
    "add",
    "all",
    "alter",
    "and",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "create",
    "database",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "exists",
    "from",
    "group",
    "having",
    "in",
    "index",
    "insert",
    "interval",
    "into",
    "is",
    "join",
    "key",
    "like",
    "limit",
    "not",
    "null",
    "or",
    "order",
    "primary",
    "references",
    "select",
    "set",
    "table",
    "then",
    "to",
    "union",
    "unique",
    "update",
    "values",
    "when",
    "where",
    "with",
}

_TRANSLITERATE = {
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "ø": "o",
    "Ø": "O",
    "œ": "oe",
    "Œ": "OE",
    "đ": "d",
    "Đ": "D",
    "ł": "l",
    "Ł": "L",
    "þ": "th",
    "Þ": "TH",
    "ð": "d",
    "Ð": "D",
}


def transliterate(text: str) -> str:
    """ICU's ``Any-Latin; Latin-ASCII`` for the Latin scripts: accents dropped, ligatures spelled out."""
    text = "".join(_TRANSLITERATE.get(c, c) for c in text)
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def clean_alias(text: str, space: str = "_", max_length: int = 0, prefix: str = "") -> str:
    """Mautic's ``FormModel::cleanAlias``: transliterate, spaces to ``space``, keep only [a-z0-9] and it.

    An alias that ends up empty becomes 5 random letters, as ``str_shuffle`` gives (flows/194); a reserved
    SQL word or a number gets ``prefix`` (the alias may become a column name).
    """
    alias = (
        re.sub(
            rf"[^0-9a-z{re.escape(space)}]+",
            "",
            transliterate(text.strip()).replace(" ", space),
            flags=re.IGNORECASE,
        )
        .strip()
        .lower()
    )
    if not alias:
        alias = "".join(random.sample("abcdefghijklmnopqrstuvwxyz", 5))
    if max_length:
        alias = alias[:max_length]
    alias = alias.removesuffix("_")
    return prefix + alias if alias in RESERVED or alias.isdigit() else alias
