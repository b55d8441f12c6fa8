"""The sandbox's request/response model and Mautic's error bodies, shared by every resource module.

Mautic answers errors in two shapes, and clients see the difference:

- controller errors (validation 400, "Item was not found." 404, 403 permission) carry ``details`` and
  the ``Mautic-Version`` header:
  ``{"errors":[{"code":400,"message":"name: A name is required.","details":{...}}]}``;
- kernel errors (unknown route, malformed JSON, uncaught exceptions, authentication) carry ``type`` and no
  ``Mautic-Version``: ``{"errors":[{"message":"...","code":404,"type":null}]}``.

Handlers raise ``ApiError`` (built by the helpers below) or return a ``Response``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from gdpr_as_code.sandbox.server import App
    from gdpr_as_code.sandbox.store import Store

GENERIC_ERROR = (
    "Looks like I encountered an error (error #{code}). If I do it again, please report me to the system "
    "administrator!"
)


@dataclass
class Response:
    """What a handler answers: ``body`` is JSON-encoded unless bytes; ``controller`` adds Mautic-Version."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    controller: bool = True
    content_type: str = "application/json"

    def encode(self) -> bytes:
        """Serialise as PHP's json_encode does (non-ASCII escaped, ``/`` escaped)."""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return php_json(self.body).encode("ascii")


def php_json(value: Any) -> str:
    """JSON as PHP writes it: compact, ``\\uXXXX`` escapes, and ``\\/`` for slashes."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/")


class ApiError(Exception):
    """Raised by a handler to answer an error; the server turns it into its ``response``."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def controller_error(code: int, message: str, details: Any = None) -> ApiError:
    """An error answered by a Mautic API controller (has ``details``, and the Mautic-Version header)."""
    body = {"errors": [{"code": code, "message": message, "details": details if details is not None else []}]}
    return ApiError(Response(code, body))


def validation_error(details: dict[str, list[str]], code: int = 400) -> ApiError:
    """Form validation failure: ``message`` joins ``field: msg`` pairs, ``details`` keeps them by field."""
    message = ", ".join(f"{name}: {msg}" for name, msgs in details.items() for msg in msgs)
    return controller_error(code, message, details)


def not_found() -> ApiError:
    """Mautic's answer for a well-formed route whose id does not exist."""
    return controller_error(404, "Item was not found.")


def kernel_error(code: int, message: str | None = None, kind: str | None = None) -> ApiError:
    """An error from Mautic's kernel/exception listener: ``type``, not ``details``; no Mautic-Version."""
    body = {"errors": [{"message": message or GENERIC_ERROR.format(code=code), "code": code, "type": kind}]}
    return ApiError(Response(code, body, controller=False))


def route_not_found(path: str) -> ApiError:
    """404 for a path no route matches (also a wrong method, or a non-numeric id)."""
    return kernel_error(404, f"Requested URL not found: {path}")


@dataclass
class Request:
    """One parsed request. ``query`` and form bodies are parsed the PHP way (``a[b][]=1`` nests)."""

    method: str
    path: str
    query: dict[str, Any]
    headers: dict[str, str]
    raw_body: bytes
    app: App
    path_args: dict[str, str] = field(default_factory=dict)
    user: dict[str, Any] = field(default_factory=dict)
    _data: Any = None
    _parsed: bool = False

    @property
    def store(self) -> Store:
        """The sandbox's state; the server holds its lock while a handler runs."""
        return self.app.store

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def data(self) -> Any:
        """The body as Mautic's controllers see it: a dict (or list for JSON arrays); ``{}`` when unreadable.

        JSON (``application/json``) is decoded; malformed JSON is the kernel's generic 400 (flows/182).
        Form bodies (urlencoded, multipart) are parsed PHP-style. Any other content type, e.g. ``text/plain``
        even if it holds JSON, is ignored as PHP ignores it (flows/180-181).
        """
        if not self._parsed:
            self._data = self._parse_body()
            self._parsed = True
        return self._data

    def _parse_body(self) -> Any:
        kind = self.content_type
        if kind == "application/json" or kind.endswith("+json"):
            if not self.raw_body.strip():
                return {}
            try:
                return json.loads(self.raw_body)
            except (ValueError, UnicodeDecodeError):
                raise kernel_error(400) from None
        if kind == "application/x-www-form-urlencoded":
            return php_parse(parse_qsl(self.raw_body.decode("utf-8", "replace"), keep_blank_values=True))
        if kind == "multipart/form-data":
            return php_parse(multipart_pairs(self.headers.get("content-type", ""), self.raw_body))
        return {}

    def int_arg(self, name: str = "id") -> int:
        """A numeric path placeholder (routes guarantee digits)."""
        return int(self.path_args[name])


_KEY = re.compile(r"\[([^\]]*)\]")


def php_parse(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``a[b][c]=v`` / ``a[]=v`` pairs as PHP does: ``[]`` appends to a list, named keys make dicts."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        head, _, rest = name.partition("[")
        keys: list[str] = [head] + (_KEY.findall("[" + rest) if rest else [])
        node: Any = result
        for position, key in enumerate(keys):
            last = position == len(keys) - 1
            nxt: Any = value if last else ([] if keys[position + 1] == "" else {})
            if isinstance(node, list):
                if key == "" or not last:
                    node.append(nxt)
                    node = nxt
                continue
            if last:
                node[key] = value
            else:
                if not isinstance(node.get(key), (dict, list)):
                    node[key] = nxt
                node = node[key]
    return result


def multipart_pairs(content_type: str, body: bytes) -> list[tuple[str, str]]:
    """The ``(name, value)`` pairs of a multipart/form-data body, in order (file parts as text)."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    pairs: list[tuple[str, str]] = []
    if not message.is_multipart():
        return pairs
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        payload = part.get_payload(decode=True) or b""
        pairs.append((str(name), payload.decode("utf-8", "replace")))
    return pairs


def truthy(value: Any) -> bool:
    """PHP/Symfony's reading of a boolean query or form value ("1", "true", "on", "yes" and true are true)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    return str(value).strip().lower() in {"1", "true", "on", "yes"}
