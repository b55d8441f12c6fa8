"""Sandbox-only controls under ``/_sandbox/`` (no auth, never counted in the request log).

POST   /_sandbox/reset                 a fresh install (ids restart at 1); sessions and faults survive
GET    /_sandbox/requests              {"total", "requests": [{method, path, query, status}], "counts": {...}}
DELETE /_sandbox/requests              clear the log
GET    /_sandbox/faults                active fault rules
POST   /_sandbox/faults                add rules (see ``faults.py``); 400 with a message when invalid. Kinds:
                                       latency (waits first); error, rate_limit, drop, timeout (answer or
                                       close before the handler: nothing is done); lose_answer (after it:
                                       done and logged with its status, then closed unanswered)
DELETE /_sandbox/faults                clear them
POST   /_sandbox/tokens/expire         every issued OAuth2 token is now expired
POST   /_sandbox/oauth-clients         {"client_id", "client_secret"}: register a client-credentials client
POST   /_sandbox/rate-limit            {"limit": N}: Mautic's api_rate_limiter_limit (0 = off)
"""

from __future__ import annotations

from typing import Any

from gdpr_as_code.sandbox.faults import FaultSpecError
from gdpr_as_code.sandbox.http import Request, Response
from gdpr_as_code.sandbox.routing import route


def _problem(message: str) -> Response:
    return Response(400, {"error": message}, controller=False)


def _json_object(req: Request) -> dict[str, Any] | None:
    data = req.data
    return data if isinstance(data, dict) else None


@route("POST", "/_sandbox/reset")
def reset(req: Request) -> Response:
    req.app.reset()
    return Response(200, {"reset": True}, controller=False)


@route("GET", "/_sandbox/requests")
def requests_log(req: Request) -> Response:
    return Response(200, req.app.log.describe(), controller=False)


@route("DELETE", "/_sandbox/requests")
def clear_requests(req: Request) -> Response:
    req.app.log.clear()
    return Response(200, {"cleared": True}, controller=False)


@route("GET", "/_sandbox/faults")
def list_faults(req: Request) -> Response:
    return Response(200, {"faults": req.app.faults.describe()}, controller=False)


@route("POST", "/_sandbox/faults")
def add_faults(req: Request) -> Response:
    try:
        added = req.app.faults.add(req.data)
    except FaultSpecError as err:
        return _problem(str(err))
    return Response(201, {"faults": [rule.describe() for rule in added]}, controller=False)


@route("DELETE", "/_sandbox/faults")
def clear_faults(req: Request) -> Response:
    req.app.faults.clear()
    return Response(200, {"faults": []}, controller=False)


@route("POST", "/_sandbox/tokens/expire")
def expire_tokens(req: Request) -> Response:
    return Response(200, {"expired": req.app.auth.expire_tokens()}, controller=False)


@route("POST", "/_sandbox/oauth-clients")
def add_oauth_client(req: Request) -> Response:
    data = _json_object(req)
    if (
        not data
        or not isinstance(data.get("client_id"), str)
        or not isinstance(data.get("client_secret"), str)
    ):
        return _problem('send {"client_id": "<id>_<random>", "client_secret": "..."} as JSON')
    req.app.auth.clients[data["client_id"]] = data["client_secret"]
    return Response(201, {"client_id": data["client_id"]}, controller=False)


@route("POST", "/_sandbox/rate-limit")
def set_rate_limit(req: Request) -> Response:
    data = _json_object(req)
    limit = data.get("limit") if data else None
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
        return _problem('send {"limit": N} with N >= 0 calls per hour (0 turns the limiter off)')
    req.app.auth.set_rate_limit(limit)
    return Response(200, {"limit": limit}, controller=False)
