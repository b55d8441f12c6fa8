"""Method + path-template routing for the sandbox, and the hooks resource modules register at import.

A route is declared with a template; ``{id}`` and any ``{…}`` placeholder match digits only, as
Mautic's ``\\d+`` requirements do (so ``/api/segments/abc`` is a 404, flows/200); ``{name:regex}``
overrides the pattern.
The template is also the key under which the request log counts calls (``"GET /api/segments/{id}"``).

    from gdpr_as_code.sandbox.routing import route, on_reset

    @route("GET", "/api/segments/{id}")
    def get_segment(req: Request) -> Response: ...

    @on_reset
    def seed(store: Store) -> None: ...   # runs on every reset, e.g. Mautic's core contact fields
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from gdpr_as_code.sandbox.http import Request, Response
from gdpr_as_code.sandbox.store import Store

Handler = Callable[[Request], Response]
Seeder = Callable[[Store], None]

_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]+))?\}")


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []
SEEDERS: list[Seeder] = []


def compile_template(template: str) -> re.Pattern[str]:
    """``/api/forms/{id}/fields/delete`` → an anchored regex with named groups."""
    parts: list[str] = []
    position = 0
    for match in _PLACEHOLDER.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        parts.append(f"(?P<{match.group(1)}>{match.group(2) or r'[0-9]+'})")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z")


def route(method: str, template: str) -> Callable[[Handler], Handler]:
    """Register ``handler`` for ``method`` and ``template``. Earlier registrations win on overlap."""

    def register(handler: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), template, compile_template(template), handler))
        return handler

    return register


def on_reset(seeder: Seeder) -> Seeder:
    """Register a function that fills a fresh store (at start without a state file, and on each reset)."""
    SEEDERS.append(seeder)
    return seeder


def resolve(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """The route for ``method path`` and its placeholder values, or None (the caller answers Mautic's 404)."""
    for candidate in ROUTES:
        if candidate.method != method:
            continue
        match = candidate.pattern.match(path)
        if match:
            return candidate, match.groupdict()
    return None
