"""How the client authenticates to Mautic: HTTP Basic as a user, or OAuth2 client credentials.

Both hold their secret privately and show only ``source`` (where the credentials come from, e.g.
"MAUTIC_USERNAME and MAUTIC_PASSWORD"), so no ``repr``, message or log can carry a password or a token. The
client asks ``authorization`` for a header before each request and calls ``invalidate`` with that header
after a 401: a token can be renewed, a password cannot. One token serves every concurrent request of a
process: it is fetched once under a lock, and a 401 renews it only if it is still the token that was refused,
so requests refused together fetch one new token, not one each.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from gdpr_as_code.errors import MauticAuthError

TOKEN_PATH = "/oauth/v2/token"
DEFAULT_TOKEN_LIFETIME = 3600.0  # seconds, when the token answer does not say


class Auth(Protocol):
    """What the client needs of an authentication method."""

    source: str  # where the credentials come from, for messages ("MAUTIC_USERNAME and MAUTIC_PASSWORD")

    def authorization(self, fetch_token: Callable[[dict[str, str]], Any]) -> str: ...

    def invalidate(self, refused: str) -> bool: ...


class BasicAuth:
    """HTTP Basic auth as a Mautic user (needs "API: enable HTTP basic auth" in Mautic's configuration)."""

    def __init__(self, username: str, password: str, *, source: str = "the username and password") -> None:
        self._header = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self.source = source

    def __repr__(self) -> str:
        return f"BasicAuth(source={self.source!r})"

    def authorization(self, fetch_token: Callable[[dict[str, str]], Any]) -> str:
        return self._header

    def invalidate(self, refused: str) -> bool:
        """Nothing to renew: a 401 means the credentials are wrong."""
        return False


class OAuth2ClientCredentials:
    """OAuth2 client credentials: a token from ``POST /oauth/v2/token``, cached until it nearly expires."""

    def __init__(
        self, client_id: str, client_secret: str, *, source: str = "the OAuth2 client id and secret"
    ) -> None:
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self.source = source
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0

    def __repr__(self) -> str:
        return f"OAuth2ClientCredentials(source={self.source!r})"

    def authorization(self, fetch_token: Callable[[dict[str, str]], Any]) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                answer = fetch_token(self._form)
                token = answer.get("access_token") if isinstance(answer, dict) else None
                if not isinstance(token, str) or not token:
                    raise MauticAuthError(
                        f"Mautic's token endpoint ({TOKEN_PATH}) answered without an access_token. Check "
                        "that the URL points at Mautic 5 and that its API credentials use OAuth 2."
                    )
                lifetime = _lifetime(answer.get("expires_in"))
                self._token, self._expires_at = token, time.monotonic() + max(lifetime - 60.0, lifetime / 2)
            return f"Bearer {self._token}"

    def invalidate(self, refused: str) -> bool:
        """Forget the token Mautic refused (401) so the next request fetches a fresh one; when another
        request already renewed it, keep the new one."""
        with self._lock:
            if refused == f"Bearer {self._token}":
                self._token = None
        return True


def _lifetime(expires_in: Any) -> float:
    """A token's lifetime in seconds, from ``expires_in`` (a number or numeric string)."""
    try:
        return float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME
