"""Authentication and rate limiting as Mautic 5.1 does them, with its exact bodies.

Recorded in crud/001-002, flows/002-017 and 216-229:

- HTTP Basic with the sandbox user; OAuth2 client credentials at ``/oauth/v2/token`` (POST form or JSON
  body, or GET query; client in the body or in a Basic header), bearer tokens valid 3600 s, sent as
  ``Authorization: Bearer`` or ``?access_token=``.
- Rate limit (``api_rate_limiter_limit``): N calls per hour per key; the key is the bearer token, or one
  shared key for Basic (Mautic's key has no per-user part). Checked after authentication, so a 401 has
  no X-RateLimit headers (flows/226).

Tokens live here, not in the store: a ``/_sandbox/reset`` resets data, not sessions.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from gdpr_as_code.sandbox.http import ApiError, Request, Response, kernel_error
from gdpr_as_code.sandbox.routing import route

TOKEN_LIFETIME = 3600
RATE_PERIOD = 3600
ALLOWED_GRANTS = ("authorization_code", "refresh_token", "client_credentials")
TOKEN_HEADERS = {"Cache-Control": "no-store, private", "Pragma": "no-cache"}


@dataclass
class Auth:
    """Credentials, issued tokens and rate-limit buckets of one sandbox."""

    username: str
    password: str
    clients: dict[str, str]
    rate_limit: int = 0
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    buckets: dict[str, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def user(self) -> dict[str, Any]:
        """The Basic-auth user as Mautic's ``createdBy``/``createdByUser`` and ``/users/self`` show it."""
        return {"id": 1, "username": self.username, "firstName": "Admin", "lastName": "Sandbox"}

    def authenticate(self, req: Request) -> tuple[dict[str, Any], str]:
        """Who is calling, and their rate-limit key; raises Mautic's 401 otherwise."""
        header = req.headers.get("authorization", "")
        scheme, _, credentials = header.partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else req.query.get("access_token")
        if isinstance(token, str) and token:
            return self._bearer(token), f"token:{token}"
        if scheme.lower() == "basic":
            try:
                user, _, password = (
                    base64.b64decode(credentials.strip(), validate=True).decode().partition(":")
                )
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            if secrets.compare_digest(user.encode(), self.username.encode()) and secrets.compare_digest(
                password.encode(), self.password.encode()
            ):
                return self.user(), "basic"
            if req.app.profile.empty_bad_credentials_body:  # 7.0.2: no body at all (crud/002)
                raise ApiError(Response(401, b"", controller=False))
            raise kernel_error(401, "Authorization denied, invalid credentials.", "access_denied")
        raise kernel_error(401, "API authorization denied.", "access_denied")

    def _bearer(self, token: str) -> dict[str, Any]:
        with self.lock:
            issued = self.tokens.get(token)
        if issued is None:
            raise kernel_error(401, "The access token provided is invalid.", "invalid_grant")
        client_id, expires = issued
        if time.time() >= expires:
            raise kernel_error(401, "The access token provided has expired.", "invalid_grant")
        number = client_id.partition("_")[0]
        # A client-credentials token acts as the client itself (flows/016: "Oracle API client [1]"); it is no
        # stored user, so there is no user id to attribute writes to.
        return {
            "id": None,
            "username": f"Sandbox API client [{number}]",
            "firstName": "Sandbox API client",
            "lastName": f"[{number}]",
        }

    def issue(self, client_id: str) -> str:
        """A new bearer token for ``client_id``, valid for TOKEN_LIFETIME seconds."""
        token = base64.b64encode(secrets.token_hex(32).encode()).decode().rstrip("=")
        with self.lock:
            self.tokens[token] = (client_id, time.time() + TOKEN_LIFETIME)
        return token

    def expire_tokens(self) -> int:
        """Make every issued token expired (as if an hour had passed); returns how many there were."""
        with self.lock:
            for token, (client_id, _) in self.tokens.items():
                self.tokens[token] = (client_id, 0.0)
            return len(self.tokens)

    def set_rate_limit(self, limit: int) -> None:
        """Change ``api_rate_limiter_limit`` (0 = off); like Mautic's cache:clear, it empties the buckets."""
        with self.lock:
            self.rate_limit = limit
            self.buckets.clear()

    def count_call(self, key: str) -> dict[str, str]:
        """Count one API call for ``key``; the X-RateLimit headers to send, or Mautic's 429 when over."""
        if self.rate_limit <= 0:
            return {}
        now = time.time()
        with self.lock:
            bucket = self.buckets.get(key)
            if bucket is None or now >= bucket[1]:
                bucket = self.buckets[key] = [0, float(int(now) + RATE_PERIOD)]
            bucket[0] += 1
            calls, reset = int(bucket[0]), int(bucket[1])
        headers = {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(self.rate_limit - calls, 0)),
            "X-RateLimit-Reset": str(reset),
        }
        if calls > self.rate_limit:
            body = (
                '{ "errors": [ { "code": 429, "message": "You exceeded the rate limit of '
                f'{self.rate_limit} API calls per hour.", "details": [] }} ]}}'
            )
            raise ApiError(Response(429, body.encode(), headers, controller=False))
        return headers


def _oauth_error(kind: str, message: str) -> ApiError:
    return kernel_error(400, message, kind)


@route("POST", "/oauth/v2/token")
@route("GET", "/oauth/v2/token")
def token(req: Request) -> Response:
    """OAuth2 token endpoint; the checks run in FOSOAuthServer's order: grant_type, client, grant allowed."""
    auth = req.app.auth
    params: dict[str, Any] = dict(req.query)
    if req.method == "POST" and isinstance(req.data, dict):
        params.update(req.data)
    grant = params.get("grant_type")
    if not isinstance(grant, str) or not grant:
        raise _oauth_error("invalid_request", "Invalid grant_type parameter or parameter missing")
    client_id, secret = params.get("client_id"), params.get("client_secret")
    scheme, _, credentials = req.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and not client_id:
        try:
            client_id, _, secret = base64.b64decode(credentials.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            client_id = secret = None
    known = auth.clients.get(str(client_id)) if client_id else None
    if (
        known is None
        or not isinstance(secret, str)
        or not secrets.compare_digest(known.encode(), secret.encode())
    ):
        raise _oauth_error("invalid_client", "The client credentials are invalid")
    if grant not in ALLOWED_GRANTS:
        raise _oauth_error("unauthorized_client", "The grant type is unauthorized for this client_id")
    if grant == "authorization_code":
        raise _oauth_error("invalid_request", 'Missing parameter. "code" is required')
    if grant == "refresh_token":
        raise _oauth_error("invalid_request", 'No "refresh_token" parameter found')
    body = {
        "access_token": auth.issue(str(client_id)),
        "expires_in": TOKEN_LIFETIME,
        "token_type": "bearer",
        "scope": None,
    }
    return Response(200, body, dict(TOKEN_HEADERS), controller=False)


@route("GET", "/api/users/self")
def users_self(req: Request) -> Response:
    """The authenticated user, as clients use it to check credentials."""
    user = req.user
    return Response(
        200,
        {
            "isPublished": True,
            "username": user["username"],
            "firstName": user["firstName"],
            "lastName": user["lastName"],
            "role": {
                "isPublished": True,
                "id": 1,
                "name": "Administrator",
                "description": "Full system access",
                "isAdmin": True,
            },
            "timezone": "",
            "locale": "",
        },
    )
