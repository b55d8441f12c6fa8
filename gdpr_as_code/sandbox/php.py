"""PHP's ``serialize()`` format, as Mautic stores arrays in its tables (field properties, open details, a
click's query) and puts them into a click-through (``ct``): written for answers, read back from what a
browser sends."""

from __future__ import annotations

from typing import Any

__all__ = ["php_serialize", "php_unserialize"]


def php_serialize(value: Any) -> str:
    """PHP's ``serialize()``, as Mautic's DBAL rows show field properties (``a:0:{}``)."""
    if value is None:
        return "N;"
    if isinstance(value, bool):
        return f"b:{int(value)};"
    if isinstance(value, int):
        return f"i:{value};"
    if isinstance(value, float):
        return f"d:{value!r};"
    if isinstance(value, str):
        return f's:{len(value.encode())}:"{value}";'
    items = enumerate(value) if isinstance(value, list) else value.items()
    body = "".join(php_serialize(k if not str(k).isdigit() else int(k)) + php_serialize(v) for k, v in items)
    return f"a:{len(value)}:{{{body}}}"


def php_unserialize(text: str) -> Any:
    """The inverse of ``php_serialize``, for what a browser sends back; ValueError when it is not PHP's."""
    value, end = _parse(text.encode(), 0)
    if end != len(text.encode()):
        raise ValueError("trailing data")
    return value


def _parse(data: bytes, at: int) -> tuple[Any, int]:
    kind = data[at : at + 2]
    if kind == b"N;":
        return None, at + 2
    if kind in (b"i:", b"b:"):
        end = data.index(b";", at)
        number = int(data[at + 2 : end])
        return (bool(number) if kind == b"b:" else number), end + 1
    if kind == b"s:":
        colon = data.index(b":", at + 2)
        length = int(data[at + 2 : colon])
        start = colon + 2
        return data[start : start + length].decode(), start + length + 2
    if kind == b"a:":
        colon = data.index(b":", at + 2)
        count, cursor, result = int(data[at + 2 : colon]), colon + 2, {}
        for _ in range(count):
            key, cursor = _parse(data, cursor)
            result[key], cursor = _parse(data, cursor)
        return result, cursor + 1
    raise ValueError(f"not PHP serialisation at {at}")
