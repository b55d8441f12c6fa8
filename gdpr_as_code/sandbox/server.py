"""The request pipeline: faults, route, auth, rate limit, handler (under the store lock), headers, log, save.

``App`` is everything one sandbox knows; ``SandboxHandler`` adapts ``http.server`` to it. Paths under
``/_sandbox/`` are controls: no auth, no faults, not logged, not rate limited.
"""

from __future__ import annotations

import contextlib
import re
import socket
import sys
import threading
import time
from collections import Counter, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from gdpr_as_code.sandbox import routing
from gdpr_as_code.sandbox.auth import Auth
from gdpr_as_code.sandbox.entities import php_truthy
from gdpr_as_code.sandbox.faults import Faults
from gdpr_as_code.sandbox.http import (
    ApiError,
    Request,
    Response,
    kernel_error,
    php_parse,
    route_not_found,
)
from gdpr_as_code.sandbox.store import Store
from gdpr_as_code.sandbox.versions import V51, Profile, shape

CONTROL_PREFIX = "/_sandbox/"
# Query parameters whose values the request log masks: credentials, and what searches for a person.
SENSITIVE = re.compile(r"token|secret|password|^search$|\[val\]", re.IGNORECASE)
LOG_LIMIT = 100_000  # log entries kept, so a long benchmark cannot exhaust memory
SAVE_DELAY = 0.2  # seconds: writes within it reach the state file together
GATEWAY_PAGES = {
    502: b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n",
    503: b"<html><head><title>503 Service Unavailable</title></head><body><h1>503 Service Unavailable</h1>"
    b"</body></html>\n",
}


class Drop(Exception):
    """Close the connection without answering (an injected fault)."""


def redacted(query: str) -> str:
    """The query string with secrets (tokens, client secrets) and search values (emails, names) masked."""
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(SENSITIVE.search(name) for name, _ in pairs):
        return query
    return "&".join(f"{name}={'***' if SENSITIVE.search(name) else value}" for name, value in pairs)


class RequestLog:
    """Every non-control request: method, path, status; counts per ``METHOD /path-template``; and the most
    requests being answered at once (``peak``, latency faults included), which shows a client's concurrency.

    A request is logged when it ends, so one still hanging in a timeout fault when the log is cleared would
    land in the next test's log; each clear starts a new ``epoch``, and requests of an older one are dropped,
    from the log and from ``peak`` alike (a straggler would otherwise count as one more client request).
    """

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=LOG_LIMIT)  # counts keep counting past it
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.epoch = 0
        self.running = self.peak = 0

    def begin(self) -> int:
        """Count a request as running; its epoch, for ``add``."""
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            return self.epoch

    def add(self, method: str, path: str, query: str, status: int | None, template: str, epoch: int) -> None:
        with self.lock:
            if epoch != self.epoch:
                return
            self.running -= 1
            self.entries.append({"method": method, "path": path, "query": redacted(query), "status": status})
            self.counts[f"{method} {template}"] += 1

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.counts.clear()
            self.epoch += 1
            self.running = self.peak = 0

    def describe(self) -> dict[str, Any]:
        with self.lock:
            return {"total": len(self.entries), "requests": list(self.entries), "counts": dict(self.counts),
                    "peak": self.peak}


class App:
    """One sandbox's state and services; ``handle`` answers one request."""

    def __init__(
        self, store: Store, auth: Auth, state_file: Path | None, profile: Profile = V51
    ) -> None:
        self.store = store
        self.profile = profile  # the Mautic line answered as (versions.py)
        self.auth = auth
        self.state_file = state_file
        self.faults = Faults()
        self.log = RequestLog()
        self.errors: list[BaseException] = []
        self.stopping = threading.Event()
        self._dirty = threading.Event()
        self._saver: threading.Thread | None = None

    def reset(self) -> None:
        """A fresh install: empty tables, ids from 1, then every module's seed data."""
        with self.store.lock:
            self.store.clear()
            for seeder in routing.SEEDERS:
                seeder(self.store)
            self.persist()

    def persist(self) -> None:
        """Have the state file written soon; a burst of writes is saved once, off the request path."""
        if self.state_file is not None:
            self._dirty.set()

    def flush(self) -> None:
        """Write the state file now if anything changed: snapshot under the lock, write outside it."""
        if self.state_file is None:
            return
        with self.store.lock:
            self._dirty.clear()
            text = self.store.snapshot()
        self.store.save(self.state_file, text)

    def start_saver(self) -> None:
        if self.state_file is not None and self._saver is None:
            self._saver = threading.Thread(target=self._save_loop, name="sandbox-state", daemon=True)
            self._saver.start()

    def stop_saver(self) -> None:
        """Stop the saver and write what is left (``stopping`` must be set)."""
        if self._saver is not None:
            self._dirty.set()
            self._saver.join()
            self._saver = None
        self.flush()

    def _save_loop(self) -> None:
        while not self.stopping.is_set():
            self._dirty.wait()
            self.stopping.wait(SAVE_DELAY)
            try:
                self.flush()
            except OSError as err:  # a full disk: surface it in tests, keep serving
                self.errors.append(err)

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request; raises ``Drop`` when a fault says to close the connection instead."""
        split = urlsplit(target)
        path = unquote(split.path)
        if path.startswith("/index.php/"):  # Mautic without URL rewriting: its front controller in the path
            path = path.removeprefix("/index.php")
        control = path.startswith(CONTROL_PREFIX)
        query = php_parse(parse_qsl(split.query, keep_blank_values=True))
        found = routing.resolve(method, path)
        template = found[0].template if found else path
        status: int | None = None
        lose_answer = False
        epoch = self.log.begin() if not control else 0
        try:
            try:
                if not control:
                    lose_answer = self._inject_faults(method, path)
                response = self._dispatch(method, path, query, headers, body, found, control)
            except ApiError as err:
                response = err.response
            status = response.status
            if lose_answer:  # handled and logged with its status; the client never hears
                raise Drop
            return response
        finally:
            if not control:
                self.log.add(method, path, split.query, status, template, epoch)

    def _inject_faults(self, method: str, path: str) -> bool:
        """Act on the faults that fire before the handler; answers whether to lose the answer after it."""
        lose_answer = False
        for rule in self.faults.firing(method, path):
            if rule.kind == "lose_answer":
                lose_answer = True
            elif rule.kind == "latency":
                time.sleep(rule.ms / 1000)
            elif rule.kind == "drop":
                raise Drop
            elif rule.kind == "timeout":
                self.stopping.wait(rule.seconds)
                raise Drop
            elif rule.kind == "rate_limit":
                body = {"errors": [{"code": 429, "message": "Too many requests.", "details": []}]}
                raise ApiError(Response(429, body, {"Retry-After": str(rule.retry_after)}, controller=False))
            elif rule.status in GATEWAY_PAGES:
                raise ApiError(
                    Response(
                        rule.status, GATEWAY_PAGES[rule.status], controller=False, content_type="text/html"
                    )
                )
            else:
                raise kernel_error(rule.status)
        return lose_answer

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, Any],
        headers: dict[str, str],
        body: bytes,
        found: tuple[routing.Route, dict[str, str]] | None,
        control: bool,
    ) -> Response:
        extra: dict[str, str] = {}
        request = Request(method, path, query, headers, body, self)
        try:
            if path.startswith("/api/") or path == "/api":
                request.user, key = self.auth.authenticate(request)
                extra = self.auth.count_call(key) if self.profile.rate_limiter else {}
            if found is None:
                raise route_not_found(path)
            route, request.path_args = found
            with self.store.lock:
                response = route.handler(request)
                if method != "GET":
                    self.persist()
        except ApiError as err:
            response = err.response
        except Exception as err:
            self.errors.append(err)
            response = kernel_error(500).response
        if response.controller and path.startswith("/api/"):
            response.headers.setdefault("Mautic-Version", self.profile.header)
            response.body = shape(self.profile, path, response.body, php_truthy(query.get("minimal")))
        response.headers.update(extra)
        return response


class SandboxHandler(BaseHTTPRequestHandler):
    """Adapts ``http.server`` to ``App.handle``; one instance per request."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in one write (no Nagle / delayed-ACK stall of ~40 ms per keep-alive request).
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    server: SandboxHTTPServer

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ValueError:  # a chunk size that is not hexadecimal: the client's fault, as any server says
            self.send_error(400, "Bad chunked body")
            return
        headers = {name.lower(): value for name, value in self.headers.items()}
        try:
            response = self.server.app.handle(self.command, self.path, headers, body)
        except Drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        payload = response.encode()
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Cache-Control", response.headers.pop("Cache-Control", "no-cache, private"))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _read_body(self) -> bytes:
        """The request body, sized by Content-Length or sent chunked (as a streaming client does)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers, up to the empty line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is ``GET /_sandbox/requests``; stderr stays for the CLI."""


class SandboxHTTPServer(ThreadingHTTPServer):
    """Threaded HTTP server bound to one ``App``."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, family: socket.AddressFamily) -> None:
        self.address_family = family
        self.app = app
        super().__init__(address, SandboxHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A failure outside the handlers (reading the request, writing the answer) is a bug to surface too,
        unless the client simply went away."""
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, (ConnectionError, TimeoutError)):
            self.app.errors.append(error)
