"""HTTP to one Mautic instance: auth (methods in ``auth``), paging, retries, error translation, counting.

Every request to Mautic's API goes through ``MauticClient``, so this is the one place that knows how a
real Mautic 5 behaves on the wire (``shared/mautic-api``): list answers keyed by id or as arrays, ``total``
as int or string, no maximum page size, 429s that carry only ``X-RateLimit-Reset``, OAuth2 tokens that
expire, 403 bodies that say which setting is off. httpx and HTTP failures are translated into
``errors.MauticError`` here, once; the rest of the code never sees an httpx exception or a status code.

Safety of retries: GET, PUT, DELETE and PATCH with absolute values are repeated after a lost answer; a POST is
repeated only when it certainly never reached Mautic (connection refused, 429, 401 before a token renewal).
``create`` handles a lost answer to a POST by re-reading and adopting what the lost request made.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gdpr_as_code.auth import TOKEN_PATH, Auth, BasicAuth, OAuth2ClientCredentials
from gdpr_as_code.errors import (
    MauticAuthError,
    MauticError,
    MauticHTTPError,
    MauticRateLimited,
    MauticUnreachable,
    MissingCredentials,
)
from gdpr_as_code.redact import Redactor
from gdpr_as_code.spec.model import Target

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "EnvTarget",
    "ListPage",
    "MauticClient",
    "RequestStats",
    "RetryPolicy",
    "client_from_env",
    "mautic_error",
    "parse_list_page",
]

API_PREFIX = "/api"
# Mautic has no maximum page size (recorded flows 150, 189): a large page reads a whole kind in one request
# while keeping each answer bounded; list_all continues while ``total`` says more.
DEFAULT_PAGE_SIZE = 5000
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_GATEWAY_STATUSES = frozenset({502, 503, 504})
# Transport errors raised before a single byte of the request left: repeating even a POST is safe.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MESSAGE_LIMIT = 300
_REDACTOR = Redactor()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry; injectable so tests retry with tiny waits and a seeded jitter."""

    attempts: int = 4  # tries per request in total, the first included
    base_delay: float = 0.5  # seconds before the first retry; doubles each time, with jitter
    max_delay: float = 20.0
    max_rate_limit_wait: float = 60.0  # a 429 that resets later than this fails at once rather than hang
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def backoff(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based): exponential, with equal jitter."""
        ceiling = min(self.max_delay, self.base_delay * 2**retry)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


class RequestStats:
    """Requests this client sent, by method; lets callers assert e.g. "a second apply makes zero writes"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_method: Counter[str] = Counter()
        self.token_requests = 0  # OAuth2 token fetches; not API calls, so not in by_method
        self.retries = 0
        self.adopted = 0  # creates whose answer was lost and whose object was found and adopted

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.by_method.items() if method in WRITE_METHODS)

    def as_dict(self) -> dict[str, Any]:
        """A plain snapshot, for JSON output and benchmarks."""
        with self._lock:
            return {
                "total": self.total,
                "writes": self.writes,
                "by_method": dict(sorted(self.by_method.items())),
                "token_requests": self.token_requests,
                "retries": self.retries,
                "adopted": self.adopted,
            }

    def reset(self) -> None:
        with self._lock:
            self.by_method.clear()
            self.token_requests = self.retries = self.adopted = 0

    def _add(self, what: str, method: str = "") -> None:
        with self._lock:
            if what == "request":
                self.by_method[method] += 1
            else:
                setattr(self, what, getattr(self, what) + 1)


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


class _AnswerLost(Exception):
    """A request that is not safe to repeat may have reached Mautic, but its answer was lost."""

    def __init__(self, error: MauticError, *, retry_worthwhile: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_worthwhile = retry_worthwhile


class MauticClient:
    """A client for one Mautic instance; paths are relative to ``/api`` (``client.get("/segments/3")``)."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        name: str | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        url_source: str = "the Mautic URL",
    ) -> None:
        url = httpx.URL(base_url.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise MauticUnreachable(
                f"{url_source} is not an http(s) URL with a host, so Mautic cannot be reached; set it to the "
                "base URL of your Mautic, e.g. https://mautic.example.com."
            )
        path = url.path.rstrip("/")
        path = path.removesuffix(API_PREFIX) if path.endswith(API_PREFIX) else path
        self.base_url = str(
            url.copy_with(username=None, password=None, path=path or "/", query=None, fragment=None)
        )
        self.base_url = self.base_url.rstrip("/")
        self.name = name or self.base_url
        self.auth = auth
        self.retry = retry or RetryPolicy()
        self.page_size = page_size
        self.url_source = url_source
        self.stats = RequestStats()
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "gdpr-as-code"},
        )

    def __repr__(self) -> str:
        return f"MauticClient({self.name!r})"

    def __enter__(self) -> MauticClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- the API ---

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def put(self, path: str, body: Any) -> Any:
        return self._call("PUT", path, json=body)

    def patch(self, path: str, body: Any, *, idempotent: bool = True) -> Any:
        """PATCH ``body``. Pass ``idempotent=False`` when it adds sub-objects without ``id`` (form fields
        or actions): Mautic appends those, so a repeat would duplicate them; a lost answer is an error."""
        if idempotent:
            return self._call("PATCH", path, json=body)
        return self._call_once("PATCH", path, body)

    def post(self, path: str, body: Any = None) -> Any:
        """POST ``body``; repeated only when it certainly never reached Mautic. Use ``create`` for creates."""
        return self._call_once("POST", path, body)

    def delete(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """DELETE; a retry that finds the object already gone (404) counts as done and answers ``{}``."""
        return self._call("DELETE", path, params=params)

    def create(
        self, path: str, body: Any, *, find_existing: Callable[[], dict[str, Any] | None]
    ) -> dict[str, Any]:
        """POST a create and return the new object, unwrapped from Mautic's ``{"list": {...}}`` envelope.

        When the answer is lost (connection dropped, timeout, 5xx after sending) the POST may have created the
        object anyway, so ``find_existing`` (a re-read, e.g. a list filtered by alias) is asked first; what it
        finds is adopted, and only if it finds nothing is the POST sent again.
        """
        for round_ in range(self.retry.attempts):
            try:
                return _unwrap(self._call("POST", path, json=body, repeatable=False))
            except _AnswerLost as lost:
                existing = find_existing()
                if existing is not None:
                    self.stats._add("adopted")
                    return existing
                if not lost.retry_worthwhile or round_ + 1 >= self.retry.attempts:
                    raise lost.error from None
                self.stats._add("retries")
                self.retry.sleep(self.retry.backoff(round_))
        raise AssertionError("unreachable: the loop returns or raises")

    def list_all(
        self,
        path: str,
        list_key: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int | None = None,
    ) -> list[dict[str, Any]]:
        """Every object of a list endpoint, in id order, with the fewest requests: pages of ``page_size``
        (default ``DEFAULT_PAGE_SIZE``), continuing while ``total`` says more remain (a server or proxy that
        caps pages is still read whole) or a page came back full (contacts' ``total`` is cached for 5 s and
        may lag behind), until a page comes back empty or short. A page that repeats earlier objects (a
        server ignoring ``start``) is an error: a partial list would make the plan create duplicates.

        Top-level collections (``/segments``, ``/fields/contact``) are ordered by id so offsets stay stable
        between pages: Mautic's generic list prefixes ``id`` with the table alias. Nested lists such as
        ``/contacts/7/notes`` pass ``orderBy`` through raw (a bare ``id`` fails there), so they keep the
        endpoint's own order unless ``params`` names one."""
        size = page_size or self.page_size
        top_level = not any(part.isdigit() for part in path.split("/"))
        order = {"orderBy": "id", "orderByDir": "ASC"} if top_level else {}
        query = {**order, **(params or {}), "limit": size}
        found: dict[int, dict[str, Any]] = {}
        start = 0
        while True:
            body = self.get(path, params={**query, "start": start})
            try:
                page = parse_list_page(body, list_key)
            except ValueError as err:
                raise self._protocol_error("GET", path, f"it is not a Mautic list: {err}") from None
            new = 0
            for item in page.items:
                new += int(item["id"]) not in found
                found[int(item["id"])] = item
            start += len(page.items)
            if page.items and not new:
                what = f"asked for the objects from {start - len(page.items)} on, it repeated earlier ones"
                raise self._protocol_error("GET", path, what)
            more = len(page.items) >= size or (page.total is not None and start < page.total)
            if not page.items or not more:
                return [found[key] for key in sorted(found)]

    # --- the machinery ---

    def _call_once(self, method: str, path: str, body: Any) -> Any:
        try:
            return self._call(method, path, json=body, repeatable=False)
        except _AnswerLost as lost:
            raise lost.error from None

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        repeatable: bool = True,
    ) -> Any:
        """One API call with auth, retries and translation; answers the decoded JSON body."""
        if not path.startswith("/"):
            path = "/" + path
        response = self._exchange(
            method, API_PREFIX + path, path, params=params, json=json, repeatable=repeatable
        )
        if response is None:  # a retried DELETE found the object already gone
            return {}
        return self._decode(response, method, path)

    def _exchange(
        self,
        method: str,
        url: str,
        shown: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        repeatable: bool = True,
    ) -> httpx.Response | None:
        """Send with retries: the only place that talks to httpx. ``shown`` is the path used in messages."""
        api = data is None
        renewed = False
        retry = 0
        while True:
            headers = {"Authorization": self.auth.authorization(self._fetch_token)} if api else {}
            try:
                response = self._http.request(
                    method, url, params=params, json=json, data=data, headers=headers
                )
            except httpx.TransportError as exc:
                self._count(api, method, retried=retry > 0)
                safe = repeatable or isinstance(exc, _NOT_SENT)
                if safe and retry + 1 < self.retry.attempts:
                    self._wait(retry)
                    retry += 1
                    continue
                error = self._transport_error(exc, method, shown, retry + 1)
                if safe:
                    raise error from None
                raise _AnswerLost(error, retry_worthwhile=True) from None
            self._count(api, method, retried=retry > 0)
            status = response.status_code
            if status == 401 and api and not renewed and self.auth.invalidate():
                renewed = True  # a 401 is refused before anything runs: safe to repeat, even a POST
                continue
            if status == 429 and retry + 1 < self.retry.attempts:
                wait = _rate_limit_wait(response)
                if wait is None or wait <= self.retry.max_rate_limit_wait:
                    self.retry.sleep(wait if wait is not None else self.retry.backoff(retry))
                    retry += 1
                    continue
            if status in _GATEWAY_STATUSES and repeatable and retry + 1 < self.retry.attempts:
                self._wait(retry)
                retry += 1
                continue
            if status == 404 and method == "DELETE" and retry > 0:
                return None
            if status < 300:
                return response
            error = self._http_error(response, method, shown, retry + 1)
            if not repeatable and status >= 500:
                raise _AnswerLost(error, retry_worthwhile=status in _GATEWAY_STATUSES)
            raise error

    def _count(self, api: bool, method: str, *, retried: bool) -> None:
        if api:
            self.stats._add("request", method)
        else:
            self.stats._add("token_requests")
        if retried:
            self.stats._add("retries")

    def _wait(self, retry: int) -> None:
        self.retry.sleep(self.retry.backoff(retry))

    def _fetch_token(self, form: dict[str, str]) -> Any:
        response = self._exchange("POST", TOKEN_PATH, TOKEN_PATH, data=form)
        assert response is not None  # only a retried DELETE answers None
        return self._decode(response, "POST", TOKEN_PATH)

    def _decode(self, response: httpx.Response, method: str, path: str) -> Any:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type").split(";")[0]
            raise self._protocol_error(method, path, f"it answered {kind}, not JSON") from None

    # --- error translation: one sentence naming the instance, the request, what Mautic said, what to do ---

    def _where(self, method: str, path: str) -> str:
        return f"Mautic at {self.name} ({method} {path.split('?')[0]})"

    def _protocol_error(self, method: str, path: str, what: str) -> MauticHTTPError:
        return MauticHTTPError(
            f"{self._where(method, path)} gave an unexpected answer: {what}. Check that {self.url_source} is "
            "the base URL of a Mautic 5 instance (without /api).",
            status=200,
            instance=self.name,
            method=method,
            path=path,
        )

    def _transport_error(
        self, exc: httpx.TransportError, method: str, path: str, tries: int
    ) -> MauticUnreachable:
        where, after = self._where(method, path), _after_tries(tries)
        sent = not isinstance(exc, _NOT_SENT)
        if not sent:
            reason = _REDACTOR.text(str(exc))[:_MESSAGE_LIMIT] or type(exc).__name__
            what = f"could not be reached {after}: {reason}"
        elif isinstance(exc, httpx.TimeoutException):
            what = f"did not answer in time ({_timeout_text(self._timeout)}) {after}"
        else:
            what = f"dropped the connection without an answer {after}"
        fix = (
            "The change may or may not have been made: run plan to see, then rerun."
            if sent and method != "GET"
            else f"Check {self.url_source}, that Mautic is running and reachable from here, and rerun."
        )
        return MauticUnreachable(f"{where} {what}. {fix}", instance=self.name, method=method, path=path)

    def _http_error(self, response: httpx.Response, method: str, path: str, tries: int) -> MauticError:
        status = response.status_code
        try:
            message, kind = mautic_error(response.json())
        except ValueError:
            message, kind = "", ""
        said = _REDACTOR.text(message)[:_MESSAGE_LIMIT]
        answer = f"HTTP {status}: {said}" if said else f"HTTP {status}"
        where = self._where(method, path)
        common = {"instance": self.name, "method": method, "path": path}
        if path == TOKEN_PATH and status in (400, 401):
            fix = (
                "the API credential does not allow client credentials: create it in Mautic (Settings → API "
                "Credentials → OAuth 2) while logged in as an administrator"
                if kind == "unauthorized_client"
                else f"check {self.auth.source}"
            )
            return MauticAuthError(f"{where} refused the OAuth2 client ({answer}); {fix}.", **common)
        if status == 401:
            fix = (
                f"the token was renewed and still refused: check {self.auth.source} and that the API "
                "credential still exists in Mautic"
                if isinstance(self.auth, OAuth2ClientCredentials)
                else f"check {self.auth.source}: they must be those of a Mautic user who can log in"
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
            fix = f"set {self.url_source} to the address it redirects to ({target})"
            return MauticHTTPError(
                f"{where} redirected ({answer}); {fix}.", status=status, mautic_message=said, **common
            )
        if status == 404:
            fix = (
                f"check that {self.url_source} is Mautic's base URL, that it runs Mautic 5, and that the "
                "plugin serving it (e.g. Focus) is enabled"
                if message.startswith("Requested URL not found") or not message
                else "the object was probably deleted meanwhile: run plan again"
            )
        elif status in (400, 422):
            fix = "correct the value Mautic names, in the spec or in Mautic"
        elif status in _GATEWAY_STATUSES:
            fix = f"Mautic or a proxy in front of it is overloaded or down {_after_tries(tries)}: rerun later"
        elif status >= 500:
            fix = (
                "Mautic's log (var/logs/mautic_prod-*.php) has the cause; names or aliases over 191 "
                "characters and batches over 200 items are known causes"
            )
        else:
            fix = "this answer was not expected: check Mautic's log"
        return MauticHTTPError(
            f"{where} failed ({answer}); {fix}.", status=status, mautic_message=said, **common
        )


def _after_tries(tries: int) -> str:
    return f"after {tries} attempt{'s' if tries > 1 else ''}"


def _unwrap(body: Any) -> dict[str, Any]:
    """The object inside Mautic's single-object envelope (``{"list": {...}}``, ``{"form": {...}}``)."""
    if isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict):
            return inner
    return body if isinstance(body, dict) else {}


def _rate_limit_wait(response: httpx.Response) -> float | None:
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
    wait = _rate_limit_wait(response)
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


# --- building a client from the environment ---

# The spec's target section is what client_from_env takes; named here for callers without a spec (the demo).
EnvTarget = Target


def client_from_env(
    target: Target | None = None,
    env: Mapping[str, str] = os.environ,
    name: str | None = None,
    **options: Any,
) -> MauticClient:
    """A client for the instance named by ``target`` (a spec's target section) or the ``MAUTIC_*`` variables;
    without a target, OAuth2 is used when ``MAUTIC_CLIENT_ID`` is set, Basic auth otherwise.

    A missing variable is a ``MissingCredentials`` naming the variable, never showing any value. ``options``
    go to ``MauticClient`` (timeout, retry, transport, page_size).
    """
    t = target or Target(auth="oauth2" if env.get(Target.client_id_env) else "basic")

    def need(var: str, why: str) -> str:
        value = env.get(var, "").strip()
        if not value:
            raise MissingCredentials(f"The environment variable {var} is not set or empty; set it to {why}.")
        return value

    url = t.url or need(t.url_env, "the base URL of your Mautic, e.g. https://mautic.example.com")
    auth: Auth
    if t.auth == "oauth2":
        auth = OAuth2ClientCredentials(
            need(t.client_id_env, "the public id of a Mautic API credential (OAuth 2)"),
            need(t.client_secret_env, "the secret of that API credential"),
            source=f"{t.client_id_env} and {t.client_secret_env}",
        )
    else:
        alternative = (
            f" (or set {t.client_id_env} and {t.client_secret_env} to use OAuth2)" if target is None else ""
        )
        auth = BasicAuth(
            need(t.username_env, f"the name of a Mautic user{alternative}"),
            need(t.password_env, "that user's password"),
            source=f"{t.username_env} and {t.password_env}",
        )
    url_source = "the target url in the spec" if t.url else t.url_env
    return MauticClient(url, auth, name=name, url_source=url_source, **options)
