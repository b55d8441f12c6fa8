"""A Mautic-5.1-compatible API server on localhost, for tests, benchmarks and a user's first five minutes.

    with Sandbox().start() as sandbox:          # port 0: the OS picks a free port
        httpx.get(sandbox.url + "/api/segments", auth=("admin", "sandbox"))

Layout (one module per concept):

- ``http``: ``Request`` (method, path, PHP-parsed ``query``, lower-cased ``headers``, ``data`` = the body
  as Mautic reads it, ``path_args``, ``user``, ``store``) and ``Response`` (status, JSON-able ``body`` or
  bytes, headers);
  Mautic's error bodies: raise ``validation_error({...})``, ``not_found()``, ``controller_error(...)``,
  ``kernel_error(...)``.
- ``routing``: ``@route("GET", "/api/segments/{id}")`` registers a handler ``(Request) -> Response``;
  ``@on_reset`` registers a seeder run on a fresh store. ``{id}`` placeholders match digits only.
- ``store``: tables ``id -> dict`` with auto-increment ids (``store.insert(kind, obj)``), one lock (held by
  the server while a handler runs, so handlers just read and write), atomic JSON persistence.
- ``server``: the pipeline (faults, auth, rate limit, handler, headers, request log, persistence).
- ``auth``, ``faults``, ``controls`` (``/_sandbox/``).
- ``entities``: the standard-entity machinery (the eight routes, paging, search, batches) a resource declares
  with an ``EntityKind``; aliases are derived by ``mautic.aliases``, as the spec checks them.
- one module per Mautic resource: ``segments``, ``fields``, ``forms`` (+ ``formparts``, ``formhtml``),
  ``focus``, ``emails``; ``contacts`` (+ ``contact_list``, ``notes``, ``activity``), ``membership``,
  ``submit``, ``messages``.

To add a resource: write ``sandbox/<name>.py`` with ``@route`` handlers and add ``"<name>"`` to
``RESOURCE_MODULES`` below. That is the only line outside your module.
"""

from __future__ import annotations

import importlib
import ipaddress
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.sandbox.auth import Auth
from gdpr_as_code.sandbox.server import App, SandboxHTTPServer
from gdpr_as_code.sandbox.store import Store
from gdpr_as_code.sandbox.versions import profile_for

__all__ = ["DEFAULT_CLIENT_ID", "DEFAULT_CLIENT_SECRET", "Sandbox"]

RESOURCE_MODULES: tuple[str, ...] = (
    "auth",
    "controls",
    "fields",
    "segments",
    "forms",
    "focus",
    "emails",
    "clock",
    "contact_routes",
    "contact_list",
    "notes",
    "activity",
    "membership",
    "submit",
    "submissions",
    "messages",
    "tracking",
    "stats",
)

DEFAULT_CLIENT_ID = "1_sandbox"
DEFAULT_CLIENT_SECRET = "sandbox-secret"


def _load_modules() -> None:
    """Import every resource module once, so their routes and seeders are registered."""
    for name in RESOURCE_MODULES:
        importlib.import_module(f"gdpr_as_code.sandbox.{name}")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Sandbox:
    """One in-process sandbox server: ``start()`` serves on a background thread, ``stop()`` ends it."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        state_file: str | Path | None = None,
        username: str = "admin",
        password: str = "sandbox",
        oauth_clients: dict[str, str] | None = None,
        rate_limit: int | None = None,
        allow_remote: bool = False,
        mautic_version: str = "5.1",
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise GdprAsCodeError(
                f"Refusing to serve the sandbox on {host}: it is not a loopback address, and the sandbox has "
                "published credentials. Use 127.0.0.1 (the default), or pass --allow-remote if you really "
                "want other machines to reach it."
            )
        _load_modules()
        self.host = host
        self.port = port
        clients = (
            dict(oauth_clients) if oauth_clients is not None else {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        )
        self.app = App(
            Store(),
            Auth(username, password, clients, rate_limit or 0),
            Path(state_file) if state_file is not None else None,
            profile_for(mautic_version),
        )
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8765`` (API calls go to ``url + "/api/..."``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> Sandbox:
        """Load or seed the state, bind, and serve in a daemon thread (a started sandbox is left as it is)."""
        if self._server is not None:
            return self
        state_file = self.app.state_file
        if state_file is None or not self.app.store.load(state_file):
            self.app.reset()
            self._save(self.app.flush)  # a --state that cannot be written fails now, not silently later
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            server = SandboxHTTPServer((self.host, self.port), self.app, family)
        except OSError as err:
            raise GdprAsCodeError(
                f"Cannot start the sandbox on {self.host}:{self.port}: {err.strerror}. Choose another --port "
                "(0 picks a free one) or stop whatever is using it."
            ) from None
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self.app.start_saver()
        return self

    def banner(self) -> str:
        """What the CLI prints: where to point a client, and the sandbox's published (non-secret) logins."""
        clients = ", ".join(f"{cid} / {secret}" for cid, secret in self.app.auth.clients.items())
        state = f"\n  state:    {self.app.state_file}" if self.app.state_file else ""
        return (
            f"Mautic {self.app.profile.header} sandbox listening on {self.url}\n"
            f"  API:      {self.url}/api\n"
            f"  Basic:    {self.app.auth.username} / {self.app.auth.password}\n"
            f"  OAuth2:   {clients} (client credentials at {self.url}/oauth/v2/token)\n"
            f"  controls: {self.url}/_sandbox/{state}\n"
            "Press Ctrl-C to stop."
        )

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's foreground mode)."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        """Stop serving, release the port, wake requests hanging on a timeout fault, save the state."""
        self.app.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        try:
            self._save(self.app.stop_saver)
        finally:
            self._server = self._thread = None
            self.app.stopping.clear()

    def _save(self, save: Callable[[], None]) -> None:
        """Write the state file, a failure being the user's to fix (a path they chose), not a bug."""
        try:
            save()
        except OSError as err:
            raise GdprAsCodeError(
                f"Cannot write the sandbox state file {self.app.state_file}: {err.strerror}. Point --state "
                "at a file in a writable directory, or start without --state."
            ) from None

    def reset(self) -> None:
        """Back to a fresh install, as ``POST /_sandbox/reset`` does."""
        self.app.reset()

    def check_errors(self) -> None:
        """Re-raise (once) the first exception a handler raised in a server thread, so no test can miss it."""
        errors, self.app.errors[:] = list(self.app.errors), []
        if errors:
            raise errors[0]

    def __enter__(self) -> Sandbox:
        return self.start() if self._server is None else self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
