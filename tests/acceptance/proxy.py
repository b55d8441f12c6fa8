"""A counting, recording reverse proxy between the tool and a real Mautic.

Real Mautic keeps no request log a test could read, so the acceptance suite points the tool at this proxy:
it forwards every request unchanged, remembers ``METHOD /path`` of each (so a test can count the writes of a
second apply), and, given a folder, writes each exchange in the layout of ``tests/recorded`` (credentials
replaced by placeholders) so the sandbox's fidelity test can replay today's real answers.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}
)
RECORDED_ANSWER_HEADERS = ("Location", "Mautic-Version")  # as the reference recordings spell them
SECRET_FORM_KEYS = re.compile(r"(client_secret|client_id|password)=[^&]*")


class RecordingProxy:
    """Forwards ``http://127.0.0.1:<port>/…`` to ``upstream``; ``calls`` lists what went through, in order."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.calls: list[tuple[str, str]] = []
        self.record_dir: Path | None = None
        self._seq = 0
        self._lock = threading.Lock()
        self._http = httpx.Client(timeout=120, follow_redirects=False)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> RecordingProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    def api_calls(self) -> list[str]:
        """API requests since the last ``clear``, as ``METHOD /path``; token requests are not counted."""
        with self._lock:
            return [f"{m} {p}" for m, p in self.calls if not p.startswith("/oauth/")]

    def writes(self) -> list[str]:
        """Write requests since the last ``clear``, as ``METHOD /path``; a token request is not a write."""
        with self._lock:
            return [f"{m} {p}" for m, p in self.calls if m in WRITES and not p.startswith("/oauth/")]

    def record_into(self, folder: Path | None) -> None:
        """Write the following exchanges into ``folder`` (``None`` stops recording)."""
        with self._lock:
            self.record_dir, self._seq = folder, 0
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)

    def note(self, label: str, text: str) -> None:
        """A step the proxy cannot see (a console command), written in turn as ``NNN_CONSOLE_<label>.txt``."""
        with self._lock:
            if self.record_dir is None:
                return
            self._seq += 1
            (self.record_dir / f"{self._seq:03d}_CONSOLE_{label}.txt").write_text(text + "\n")

    def _forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        sent = {k: v for k, v in headers.items() if k.lower() not in HOP_BY_HOP}
        return self._http.request(method, self.upstream + target, headers=sent, content=body)

    def _remember(self, method: str, target: str, headers: dict[str, str], body: bytes,
                  answer: httpx.Response) -> None:
        path = urlsplit(target).path
        with self._lock:
            self.calls.append((method, path))
            if self.record_dir is None:
                return
            self._seq += 1
            slug = re.sub(r"[^A-Za-z0-9]+", "_", path.removeprefix("/api/")).strip("_")[:60]
            exchange = {
                "request": {
                    "method": method,
                    "url": "http://127.0.0.1:8080" + target,
                    "body": _body_of(headers, body),
                    "body_kind": _kind_of(headers, body),
                    "headers": _recorded_headers(headers),
                },
                "response": {
                    "status": answer.status_code,
                    "content_type": answer.headers.get("content-type", ""),
                    "headers": {name: answer.headers[name] for name in RECORDED_ANSWER_HEADERS
                                if name in answer.headers},
                    "raw": _scrubbed(path, answer.text),
                },
            }
            name = f"{self._seq:03d}_{method}_{slug}.json"
            (self.record_dir / name).write_text(json.dumps(exchange, indent=2, ensure_ascii=False) + "\n")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = dict(self.headers.items())
                try:
                    answer = proxy._forward(self.command, self.path, headers, body)
                except httpx.HTTPError as err:
                    self.send_error(502, f"upstream Mautic unreachable: {type(err).__name__}")
                    return
                proxy._remember(self.command, self.path, headers, body, answer)
                content = answer.content
                self.send_response(answer.status_code)
                for name, value in answer.headers.multi_items():
                    if name.lower() in HOP_BY_HOP:
                        continue
                    if name.lower() == "location":
                        value = value.replace(proxy.upstream, proxy.url)
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(content)  # unless the tool gave up waiting (its own timeout)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _kind_of(headers: dict[str, str], body: bytes) -> str | None:
    if not body:
        return None
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    return "json" if "json" in content_type else "raw"  # "raw": sent as is, with its Content-Type


def _body_of(headers: dict[str, str], body: bytes) -> Any:
    kind = _kind_of(headers, body)
    if kind is None:
        return None
    text = body.decode("utf-8", "replace")
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return SECRET_FORM_KEYS.sub(lambda m: f"{m.group(1)}=<{m.group(1)}>", text)


def _scrubbed(path: str, raw: str) -> str:
    """An answer as kept: a token answer's token replaced (a recording is committed; a token is a secret)."""
    if path.startswith("/oauth/"):
        return re.sub(r'"(access_token|refresh_token)":"[^"]*"', r'"\1":"<token>"', raw)
    return raw


def _recorded_headers(headers: dict[str, str]) -> dict[str, str]:
    """The request headers a replay needs, with the credentials replaced by what they were."""
    kept: dict[str, str] = {}
    for name, value in headers.items():
        if name.lower() == "authorization":
            kept["Authorization"] = value.split(" ", 1)[0] + " <credentials>"
        elif name.lower() == "content-type":
            kept["Content-Type"] = value
    return kept
