"""What Mautic's answers mean: list pages, error bodies, rate-limit headers, and the one-paragraph
``MauticError`` each failure becomes.

Pure functions over bodies and ``httpx`` responses (tested from recorded answers); ``client`` sends the
requests and calls these. Every error message names the instance, the request, what Mautic said (redacted,
cut to ``MESSAGE_LIMIT``) and what to do.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from gdpr_as_code.errors import (
    MauticAuthError,
    MauticError,
    MauticHTTPError,
    MauticRateLimited,
    MauticUnreachable,
)
from gdpr_as_code.mautic.auth import TOKEN_PATH, Auth, OAuth2ClientCredentials
from gdpr_as_code.redact import Redactor

GATEWAY_STATUSES = frozenset({502, 503, 504})
# Transport errors raised before a single byte of the request left: repeating even a POST is safe.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
UNTRUSTED_CERTIFICATE, NO_TLS = "CERTIFICATE_VERIFY_FAILED", "WRONG_VERSION_NUMBER"  # in OpenSSL's errors
MESSAGE_LIMIT = 300  # characters of Mautic's own message quoted in ours
_REDACTOR = Redactor()


class Endpoint(Protocol):
    """What an error message says about the client that met it."""

    name: str  # the instance
    url_source: str  # where its URL was set ("MAUTIC_URL", "the target url in the spec")
    auth: Auth
    timeout: httpx.Timeout | float


@dataclass(frozen=True)
class ListPage:
    """One page of a Mautic list answer, whatever shape it came in."""

    total: int | None
    items: tuple[dict[str, Any], ...]


def parse_list_page(body: Any, list_key: str) -> ListPage:
    """Read ``{"total": .., list_key: ..}``: objects keyed by id, an array, ``[]`` or ``{}``; any ``total``.

    Raises ``ValueError`` describing the shape when the answer is not a Mautic list.
    """
    if not isinstance(body, dict) or list_key not in body:
        keys = ", ".join(sorted(body)) if isinstance(body, dict) else type(body).__name__
        raise ValueError(f"the answer has no '{list_key}' list (found: {keys or 'nothing'})")
    collection = body[list_key]
    if isinstance(collection, dict):
        pairs = list(collection.items())
    elif isinstance(collection, list):
        pairs = [(None, item) for item in collection]
    else:
        raise ValueError(f"'{list_key}' is a {type(collection).__name__}, not a list or an object")
    items = []
    for key, item in pairs:
        if not isinstance(item, dict):
            raise ValueError(f"an item of '{list_key}' is a {type(item).__name__}, not an object")
        if item.get("id") is None and key is not None:
            item = {**item, "id": key}
        if _as_int(item.get("id")) is None:
            raise ValueError(f"an item of '{list_key}' has no numeric id")
        items.append(item)
    return ListPage(total=_as_int(body.get("total")), items=tuple(items))


def mautic_error(body: Any) -> tuple[str, str]:
    """Mautic's own ``(message, type)`` from an error body ``{"errors": [{"message", "type"}]}``, or empty."""
    if isinstance(body, dict):
        errors = body.get("errors")
        first = errors[0] if isinstance(errors, list) and errors else errors
        if isinstance(first, dict):
            return str(first.get("message") or ""), str(first.get("type") or "")
        if isinstance(body.get("error"), str):  # OAuth2 server's own format
            return str(body.get("error_description") or body["error"]), str(body["error"])
    return "", ""


def _where(client: Endpoint, method: str, path: str) -> str:
    """The start of every message: which instance, which request (without its query, which may hold data)."""
    return f"Mautic at {client.name} ({method} {path.split('?')[0]})"


def protocol_error(client: Endpoint, method: str, path: str, what: str) -> MauticHTTPError:
    """A 2xx answer that is not what Mautic sends: most often the URL points at something else."""
    return MauticHTTPError(
        f"{_where(client, method, path)} gave an unexpected answer: {what}. Check that {client.url_source} "
        "is the base URL of a Mautic 5 instance (without /api).",
        status=200,
        instance=client.name,
        method=method,
        path=path,
    )


def lasting(exc: httpx.TransportError) -> bool:
    """A TLS problem (an untrusted certificate, no TLS on that port) fails alike on every try: no retry."""
    return any(marker in str(exc) for marker in (UNTRUSTED_CERTIFICATE, NO_TLS))


def transport_error(
    client: Endpoint, exc: httpx.TransportError, method: str, path: str, tries: int
) -> MauticUnreachable:
    """No answer: says whether the request may have been carried out (it matters for a write)."""
    where, after = _where(client, method, path), _after_tries(tries)
    sent = not isinstance(exc, NOT_SENT)
    if not sent:
        reason = _REDACTOR.text(str(exc))[:MESSAGE_LIMIT] or type(exc).__name__
        what = f"could not be reached {after}: {reason}"
    elif isinstance(exc, httpx.TimeoutException):
        what = f"did not answer in time ({_timeout_text(client.timeout)}) {after}"
    else:
        what = f"dropped the connection without an answer {after}"
    fix = (
        "The change may or may not have been made: run plan to see, then rerun."
        if sent and method != "GET"
        else f"Check {client.url_source}, that Mautic is running and reachable from here, and rerun."
    )
    if UNTRUSTED_CERTIFICATE in str(exc):
        fix = (
            "Mautic's TLS certificate is not trusted here: renew it, or if your own CA signed it, set "
            "SSL_CERT_FILE to that CA's certificate (PEM) and rerun."
        )
    elif NO_TLS in str(exc):
        fix = f"Nothing speaks TLS there: check the scheme and port of {client.url_source} (http:// or https://)."
    return MauticUnreachable(f"{where} {what}. {fix}", instance=client.name, method=method, path=path)


def http_error(client: Endpoint, response: httpx.Response, method: str, path: str, tries: int) -> MauticError:
    """An error status as the ``MauticError`` subclass callers branch on, with the fix of its known causes."""
    status = response.status_code
    try:
        message, kind = mautic_error(response.json())
    except ValueError:
        message, kind = "", ""
    said = _REDACTOR.text(message)[:MESSAGE_LIMIT]
    answer = f"HTTP {status}: {said}" if said else f"HTTP {status}"
    where = _where(client, method, path)
    common = {"instance": client.name, "method": method, "path": path}
    if path == TOKEN_PATH and status in (400, 401):
        fix = (
            "the API credential does not allow client credentials: create it in Mautic (Settings → API "
            "Credentials → OAuth 2) while logged in as an administrator"
            if kind == "unauthorized_client"
            else f"check {client.auth.source}"
        )
        return MauticAuthError(f"{where} refused the OAuth2 client ({answer}); {fix}.", **common)
    if status == 401:
        fix = (
            f"the token was renewed and still refused: check {client.auth.source} and that the API "
            "credential still exists in Mautic"
            if isinstance(client.auth, OAuth2ClientCredentials)
            else f"check {client.auth.source}: they must be those of a Mautic user who can log in"
        )
        return MauticAuthError(f"{where} refused the credentials ({answer}); {fix}.", **common)
    if status == 403:
        if kind == "api_disabled":
            fix = "enable the API in Mautic (Settings → Configuration → API Settings → API enabled)"
        elif message.startswith("Basic Auth disabled"):
            fix = (
                "enable HTTP basic auth in Mautic (Settings → Configuration → API Settings), or use "
                "OAuth2 client credentials instead"
            )
        else:
            fix = "give the Mautic user's role this permission, or use an administrator"
        return MauticAuthError(f"{where} refused access ({answer}); {fix}.", **common)
    if status == 429:
        reset = _rate_limit_reset_text(response)
        return MauticRateLimited(
            f"{where} hit Mautic's API rate limit {_after_tries(tries)} ({answer}){reset}; wait and "
            "rerun, raise api_rate_limiter_limit in Mautic's configuration, or use fewer workers.",
            **common,
        )
    if status in (301, 302, 303, 307, 308):
        target = response.headers.get("location", "").split("?")[0]
        for asked in ("/api" + path, path):  # suggest the base URL, not the API route that was redirected
            if target.endswith(asked):
                target = target.removesuffix(asked)
                break
        fix = f"set {client.url_source} to the address it redirects to ({target})"
        return MauticHTTPError(
            f"{where} redirected ({answer}); {fix}.", status=status, mautic_message=said, **common
        )
    if status == 404:
        plugin = ", and that the Focus plugin is enabled" if path.startswith("/focus") else ""
        fix = (
            f"check that {client.url_source} is Mautic's base URL and that it runs Mautic 5{plugin}"
            if message.startswith("Requested URL not found") or not message
            else "the object was probably deleted meanwhile: run plan again"
        )
    elif status in (400, 422):
        fix = "correct the value Mautic names, in the spec or in Mautic"
    elif status in GATEWAY_STATUSES:
        fix = f"Mautic or a proxy in front of it is overloaded or down {_after_tries(tries)}: rerun later"
    elif status >= 500:
        fix = (
            "Mautic's log (var/logs/mautic_prod-*.php) has the cause; names or aliases over 191 "
            "characters and batches over 200 items are known causes"
        )
    else:
        fix = "this answer was not expected: check Mautic's log"
    return MauticHTTPError(f"{where} failed ({answer}); {fix}.", status=status, mautic_message=said, **common)


def _after_tries(tries: int) -> str:
    return f"after {tries} attempt{'s' if tries > 1 else ''}"


def rate_limit_wait(response: httpx.Response) -> float | None:
    """Seconds until the limit resets: ``Retry-After`` (seconds or date), else ``X-RateLimit-Reset``."""
    retry_after = response.headers.get("retry-after")
    if retry_after:
        seconds = _as_float(retry_after, default=None)
        if seconds is not None:
            return max(seconds, 0.0)
        try:
            return max(email.utils.parsedate_to_datetime(retry_after).timestamp() - time.time(), 0.0)
        except (TypeError, ValueError):
            pass
    reset = _as_float(response.headers.get("x-ratelimit-reset"), default=None)
    if reset is None:
        return None
    # NoxLogic sends an epoch timestamp; a small number can only be a delay in seconds.
    return max(reset - time.time(), 0.0) if reset > 1e9 else max(reset, 0.0)


def _rate_limit_reset_text(response: httpx.Response) -> str:
    wait = rate_limit_wait(response)
    if wait is None:
        return ""
    return ", which resets at " + time.strftime("%H:%M:%S UTC", time.gmtime(time.time() + wait))


def _timeout_text(timeout: httpx.Timeout | float) -> str:
    seconds = timeout.read if isinstance(timeout, httpx.Timeout) else timeout
    return f"{seconds:g} s" if seconds is not None else "no limit"


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _as_float(value: Any, *, default: float | None) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return default
