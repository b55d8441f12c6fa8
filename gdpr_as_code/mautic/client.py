"""HTTP to one Mautic instance: sending with auth, retries, paging and request counting.

Every request to Mautic's API goes through ``MauticClient``, so this is the one place that knows how a
real Mautic 5 behaves on the wire (``shared/mautic-api``): list answers keyed by id or as arrays, ``total``
as int or string, no maximum page size, 429s that carry only ``X-RateLimit-Reset``, OAuth2 tokens that
expire, 403 bodies that say which setting is off. httpx and HTTP failures are translated into
``errors.MauticError`` here, once (the wording is in ``answers``, the auth methods in ``auth``); the rest
of the code never sees an httpx exception or a status code.

Safety of retries: GET, PUT, DELETE and PATCH with absolute values are repeated after a lost answer; a POST is
repeated only when it certainly never reached Mautic (connection refused, 429, 401 before a token renewal).
``create`` handles a lost answer to a POST by re-reading and adopting what the lost request made.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any

import httpx

from gdpr_as_code.errors import MauticError, MauticUnreachable
from gdpr_as_code.mautic.answers import (
    GATEWAY_STATUSES,
    NOT_SENT,
    http_error,
    lasting,
    parse_list_page,
    protocol_error,
    rate_limit_wait,
    transport_error,
)
from gdpr_as_code.mautic.auth import TOKEN_PATH, Auth
from gdpr_as_code.mautic.concurrent import READ_CONCURRENCY, gather
from gdpr_as_code.mautic.policy import RequestStats, RetryPolicy
from gdpr_as_code.mautic.versions import warn_if_untested

__all__ = ["DEFAULT_PAGE_SIZE", "MauticClient"]

API_PREFIX = "/api"
# Mautic has no maximum page size (recorded flows 150, 189): a large page reads a whole kind in one request
# while keeping each answer bounded; list_all continues while ``total`` says more.
DEFAULT_PAGE_SIZE = 5000
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class _AnswerLost(Exception):
    """A request that is not safe to repeat may have reached Mautic, but its answer was lost."""

    def __init__(self, error: MauticError, *, retry_worthwhile: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_worthwhile = retry_worthwhile


@cache
def shared_tls_context() -> ssl.SSLContext:
    """The one TLS context of the process, as httpx builds it by default (certifi, or ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``). httpx builds a new one for every client, about 30 ms of CPU loading the CA bundle; a
    rollout makes clients by the hundred, and a context is safe to share between them."""
    return httpx.create_ssl_context()


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
        read_concurrency: int = READ_CONCURRENCY,
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
        self.read_concurrency = read_concurrency  # reads sent side by side (``concurrent``); 1: one by one
        self.url_source = url_source
        self.stats = RequestStats()
        self.mautic_version: str | None = None  # the Mautic-Version header of the last API answer
        self.timeout = timeout
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=timeout,
            transport=transport,
            verify=shared_tls_context(),
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
                    self.stats.count("adopted")
                    return existing
                if not lost.retry_worthwhile or round_ + 1 >= self.retry.attempts:
                    raise lost.error from None
                self.stats.count("retries")
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
        (default ``DEFAULT_PAGE_SIZE``), continuing while ``total`` says more remain (those pages read side by
        side, ``concurrent.gather``; a server or proxy that
        caps pages is still read whole) or a page came back full (contacts' ``total`` is cached for 5 s and
        may lag behind), until a page comes back empty or short. A page that repeats earlier objects (a
        server ignoring ``start``) is an error: a partial list would make the plan create duplicates.

        Top-level collections (``/segments``, ``/fields/contact``) are ordered by id so offsets stay stable
        between pages: Mautic's generic list prefixes ``id`` with the table alias. Nested lists such as
        ``/contacts/7/notes`` pass ``orderBy`` through raw (a bare ``id`` fails there), so they keep the
        endpoint's own order unless ``params`` names one.

        Checked (real-Mautic audit): contacts answer ``total`` as a string (flows/147, read by ``_as_int``)
        counted once per ``contact_api_count_cache_ttl`` = 5 s (Mautic 5.1 LeadBundle/Controller/Api/
        LeadApiController.php L116), which the full-page rule covers; no server maximum on ``limit``
        (flows/150, 189); ``orderBy=id`` on ``/contacts`` is recorded (flows/088)."""
        size = page_size or self.page_size
        top_level = not any(part.isdigit() for part in path.split("/"))
        order = {"orderBy": "id", "orderByDir": "ASC"} if top_level else {}
        query = {**order, **(params or {}), "limit": size}
        found: dict[int, dict[str, Any]] = {}
        starts = [0]
        while True:  # the pages ``total`` announces are read side by side, then checked in order
            pages = [partial(self.get, path, {**query, "start": start}) for start in starts]
            bodies = gather(pages, self.read_concurrency)
            for start, body in zip(starts, bodies, strict=True):
                try:
                    page = parse_list_page(body, list_key)
                except ValueError as err:
                    raise protocol_error(self, "GET", path, f"it is not a Mautic list: {err}") from None
                new = 0
                for item in page.items:
                    new += int(item["id"]) not in found
                    found[int(item["id"])] = item
                if page.items and not new:
                    what = f"asked for the objects from {start} on, it repeated earlier ones"
                    raise protocol_error(self, "GET", path, what)
                end = start + len(page.items)
                more = len(page.items) >= size or (page.total is not None and end < page.total)
                if not page.items or not more:
                    return [found[key] for key in sorted(found)]
            starts = list(range(end, max(page.total or 0, end + 1), size))

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
                safe = repeatable or isinstance(exc, NOT_SENT)
                if safe and retry + 1 < self.retry.attempts and not lasting(exc):
                    self._wait(retry)
                    retry += 1
                    continue
                error = transport_error(self, exc, method, shown, retry + 1)
                if safe:
                    raise error from None
                raise _AnswerLost(error, retry_worthwhile=True) from None
            self._count(api, method, retried=retry > 0)
            if api:
                self._saw_version(response.headers.get("Mautic-Version"))
            status = response.status_code
            if status == 401 and api and not renewed and self.auth.invalidate(headers["Authorization"]):
                renewed = True  # a 401 is refused before anything runs: safe to repeat, even a POST
                continue
            if status == 429 and retry + 1 < self.retry.attempts:
                wait = rate_limit_wait(response)
                if wait is None or wait <= self.retry.max_rate_limit_wait:
                    self.retry.sleep(wait if wait is not None else self.retry.backoff(retry))
                    retry += 1
                    continue
            if status in GATEWAY_STATUSES and repeatable and retry + 1 < self.retry.attempts:
                self._wait(retry)
                retry += 1
                continue
            if status == 404 and method == "DELETE" and retry > 0:
                return None
            if status < 300:
                return response
            error = http_error(self, response, method, shown, retry + 1)
            if not repeatable and status >= 500:
                raise _AnswerLost(error, retry_worthwhile=status in GATEWAY_STATUSES)
            raise error

    def _count(self, api: bool, method: str, *, retried: bool) -> None:
        if api:
            self.stats.count_request(method)
        else:
            self.stats.count("token_requests")
        if retried:
            self.stats.count("retries")

    def _saw_version(self, version: str | None) -> None:
        if version and version != self.mautic_version:
            self.mautic_version = version
            warn_if_untested(version, self.name)

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
            raise protocol_error(self, method, path, f"it answered {kind}, not JSON") from None


def _unwrap(body: Any) -> dict[str, Any]:
    """The object inside Mautic's single-object envelope (``{"list": {...}}``, ``{"form": {...}}``)."""
    if isinstance(body, dict) and len(body) == 1:
        (inner,) = body.values()
        if isinstance(inner, dict):
            return inner
    return body if isinstance(body, dict) else {}
