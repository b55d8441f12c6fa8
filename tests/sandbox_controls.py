"""``SandboxControls``: the ``/_sandbox/`` endpoints of one sandbox, over HTTP, as a test or benchmark of a
client drives them (the ``controls`` fixture in ``conftest.py`` yields one)."""

from __future__ import annotations

from typing import Any

import httpx


class SandboxControls:
    """The ``/_sandbox/`` controls of one sandbox, over HTTP."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url + "/_sandbox", timeout=10)

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        self._call("POST", "/reset")

    def requests(self) -> dict[str, Any]:
        """``{"total", "requests": [{method, path, query, status}], "counts": {"GET /api/x": n}}``."""
        return self._call("GET", "/requests")

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    def fault(self, **rule: Any) -> list[dict[str, Any]]:
        """Add one fault rule, e.g. ``fault(kind="error", status=503, count=2)`` (see sandbox/faults.py)."""
        return self._call("POST", "/faults", rule)["faults"]

    def faults(self) -> list[dict[str, Any]]:
        """The rules still armed; a rule with a ``count`` leaves the list once it has fired that often."""
        return self._call("GET", "/faults")["faults"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def expire_tokens(self) -> int:
        return self._call("POST", "/tokens/expire")["expired"]

    def rate_limit(self, limit: int) -> None:
        self._call("POST", "/rate-limit", {"limit": limit})

    def close(self) -> None:
        self.http.close()
