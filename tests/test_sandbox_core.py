"""The sandbox's machinery as a client sees it: auth, errors, rate limit, faults, request log, persistence."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from recordings import recorded_exchange
from sandbox_controls import SandboxControls

from gdpr_as_code.cli import main
from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox, routing
from gdpr_as_code.sandbox.http import Request, Response


def token(sandbox: Sandbox) -> str:
    answer = httpx.post(
        sandbox.url + "/oauth/v2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["expires_in"] == 3600 and body["token_type"] == "bearer" and body["scope"] is None
    return body["access_token"]


def test_missing_and_wrong_credentials_answer_mauticss_exact_401(sandbox: Sandbox) -> None:
    anonymous = httpx.get(sandbox.url + "/api/users/self")
    wrong = httpx.get(sandbox.url + "/api/users/self", auth=("admin", "nope"))
    assert (anonymous.status_code, wrong.status_code) == (401, 401)
    assert (
        anonymous.text
        == recorded_exchange("crud/001_GET_segments_noauth.json")["response"]["raw"]
    )
    assert wrong.json() == {
        "errors": [
            {"message": "Authorization denied, invalid credentials.", "code": 401, "type": "access_denied"}
        ]
    }
    assert "Mautic-Version" not in anonymous.headers


def test_unknown_route_is_mautics_404_with_type_null(api: httpx.Client) -> None:
    answer = api.get("/api/nonexistent")
    assert answer.status_code == 404
    assert (
        answer.text == '{"errors":[{"message":"Requested URL not found: \\/api\\/nonexistent","code":404,'
        '"type":null}]}'
    )


def test_oauth2_client_credentials_token_works_until_expired(sandbox: Sandbox, controls) -> None:
    bearer = {"Authorization": "Bearer " + token(sandbox)}
    ok = httpx.get(sandbox.url + "/api/users/self", headers=bearer)
    assert ok.status_code == 200 and ok.headers["Mautic-Version"] == "5.1.0"
    assert controls.expire_tokens() >= 1
    expired = httpx.get(sandbox.url + "/api/users/self", headers=bearer)
    assert expired.status_code == 401
    assert expired.json()["errors"][0] == {
        "message": "The access token provided has expired.",
        "code": 401,
        "type": "invalid_grant",
    }
    invalid = httpx.get(sandbox.url + "/api/users/self", headers={"Authorization": "Bearer invalidtoken123"})
    assert invalid.json()["errors"][0]["message"] == "The access token provided is invalid."


@pytest.mark.parametrize(
    ("form", "kind"),
    [
        (
            {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID, "client_secret": "x"},
            "invalid_client",
        ),
        ({"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET}, "invalid_request"),
        (
            {
                "grant_type": "password",
                "client_id": DEFAULT_CLIENT_ID,
                "client_secret": DEFAULT_CLIENT_SECRET,
            },
            "unauthorized_client",
        ),
    ],
)
def test_token_endpoint_rejects_like_fosoauth(sandbox: Sandbox, form: dict[str, str], kind: str) -> None:
    answer = httpx.post(sandbox.url + "/oauth/v2/token", data=form)
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["type"] == kind


def test_token_accepts_json_body_and_basic_header(sandbox: Sandbox) -> None:
    as_json = httpx.post(
        sandbox.url + "/oauth/v2/token",
        json={
            "grant_type": "client_credentials",
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET,
        },
    )
    in_header = httpx.post(
        sandbox.url + "/oauth/v2/token",
        data={"grant_type": "client_credentials"},
        auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
    )
    assert as_json.status_code == in_header.status_code == 200
    query = httpx.get(
        sandbox.url + "/api/users/self", params={"access_token": in_header.json()["access_token"]}
    )
    assert query.status_code == 200


def test_rate_limit_counts_per_hour_then_answers_429_without_retry_after(
    sandbox: Sandbox, api: httpx.Client, controls
) -> None:
    controls.rate_limit(2)
    first, second, third = (api.get("/api/users/self") for _ in range(3))
    assert [r.status_code for r in (first, second, third)] == [200, 200, 429]
    assert first.headers["X-RateLimit-Limit"] == "2" and first.headers["X-RateLimit-Remaining"] == "1"
    assert int(first.headers["X-RateLimit-Reset"]) - time.time() > 3500
    assert third.text == (
        '{ "errors": [ { "code": 429, "message": "You exceeded the rate limit of 2 API calls '
        'per hour.", "details": [] } ]}'
    )
    assert "Retry-After" not in third.headers
    # a bearer token is its own bucket (flows/225); no credentials is a 401 before any counting (flows/226)
    bearer = httpx.get(sandbox.url + "/api/users/self", headers={"Authorization": "Bearer " + token(sandbox)})
    assert bearer.status_code == 200 and bearer.headers["X-RateLimit-Remaining"] == "1"
    assert "X-RateLimit-Limit" not in httpx.get(sandbox.url + "/api/users/self").headers


def test_error_fault_fires_count_times_on_matching_paths_only(api: httpx.Client, controls) -> None:
    controls.fault(kind="error", status=503, count=2, path="^/api/users")
    statuses = [api.get("/api/users/self").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    controls.fault(kind="error", status=500, methods=["POST"])
    assert api.get("/api/users/self").status_code == 200
    failed = api.post("/oauth/v2/token")
    assert failed.status_code == 500 and "error #500" in failed.json()["errors"][0]["message"]


def test_injected_429_carries_retry_after(api: httpx.Client, controls) -> None:
    controls.fault(kind="rate_limit", retry_after=7, count=1)
    limited = api.get("/api/users/self")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
    assert api.get("/api/users/self").status_code == 200


def test_dropped_connection_and_timeout_reach_the_client_as_transport_errors(
    api: httpx.Client, controls
) -> None:
    controls.fault(kind="drop", count=1)
    with pytest.raises(httpx.TransportError):
        api.get("/api/users/self")
    controls.fault(kind="timeout", seconds=2, count=1)
    started = time.monotonic()
    with pytest.raises(httpx.TimeoutException):
        api.get("/api/users/self", timeout=0.3)
    assert time.monotonic() - started < 1.5
    assert api.get("/api/users/self").status_code == 200


def test_a_lost_answer_fault_carries_out_the_request_then_closes_unanswered(
    api: httpx.Client, controls: SandboxControls
) -> None:
    controls.fault(kind="lose_answer", methods=["POST"], path="/segments/new$", count=1)
    body = {"name": "Lost", "alias": "lost", "isPublished": True, "filters": []}
    with pytest.raises(httpx.RemoteProtocolError):  # a connection closed with no answer at all
        api.post("/api/segments/new", json=body)
    segments = api.get("/api/segments").json()["lists"]
    assert [s["alias"] for s in segments.values()] == ["lost"]  # made, though the client never heard
    assert api.post("/api/segments/new", json={**body, "alias": "kept"}).status_code == 201  # rule spent
    assert [(r["method"], r["path"], r["status"]) for r in controls.requests()["requests"]] == [
        ("POST", "/api/segments/new", 201),  # logged with the status Mautic would have answered
        ("GET", "/api/segments", 200),
        ("POST", "/api/segments/new", 201),
    ]
    assert controls.requests()["counts"]["POST /api/segments/new"] == 2


def test_latency_fault_delays_each_request(api: httpx.Client, controls) -> None:
    controls.fault(kind="latency", ms=150, count=1)
    started = time.monotonic()
    api.get("/api/users/self")
    assert time.monotonic() - started >= 0.15


def test_seeded_fault_rate_replays_the_same_sequence(api: httpx.Client, controls) -> None:
    def run() -> list[int]:
        controls.clear_faults()
        controls.fault(kind="error", status=502, rate=0.5, seed=42)
        return [api.get("/api/users/self").status_code for _ in range(12)]

    first = run()
    assert first == run()
    assert {200, 502} == set(first)


def test_bad_fault_rule_is_refused_with_a_reason(sandbox: Sandbox) -> None:
    answer = httpx.post(sandbox.url + "/_sandbox/faults", json={"kind": "error", "status": 404})
    assert answer.status_code == 400 and "status" in answer.json()["error"]


def test_request_log_counts_per_route_template_and_ignores_controls(api: httpx.Client, controls) -> None:
    api.get("/api/users/self")
    api.get("/api/users/self")
    api.get("/api/nowhere")
    controls.requests()
    log = controls.requests()
    assert log["counts"] == {"GET /api/users/self": 2, "GET /api/nowhere": 1}
    assert [(e["method"], e["path"], e["status"]) for e in log["requests"]][-1] == (
        "GET",
        "/api/nowhere",
        404,
    )
    controls.clear_requests()
    assert controls.requests()["total"] == 0


def test_handler_exception_answers_500_and_surfaces_in_the_test(
    sandbox: Sandbox, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(req: Request) -> Response:
        raise RuntimeError("handler bug")

    route = routing.Route("GET", "/api/broken", routing.compile_template("/api/broken"), broken)
    monkeypatch.setattr(routing, "ROUTES", [route, *routing.ROUTES])
    assert api.get("/api/broken").status_code == 500
    with pytest.raises(RuntimeError, match="handler bug"):
        sandbox.check_errors()


def test_non_loopback_host_is_refused_without_allow_remote() -> None:
    with pytest.raises(GdprAsCodeError, match="--allow-remote"):
        Sandbox("0.0.0.0")


def test_fifty_sandboxes_start_and_serve_independently() -> None:
    """How fast they start is the benchmarks' business: a wall-clock bound here would flake under load."""
    servers = [Sandbox().start() for _ in range(50)]
    try:
        assert len({s.port for s in servers}) == 50
        assert httpx.get(servers[-1].url + "/api/users/self", auth=("admin", "sandbox")).status_code == 200
    finally:
        for server in servers:
            server.stop()


def test_state_file_survives_a_restart_and_is_written_atomically(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state) as first:
        first.app.store.insert("notes", {"text": "kept"})
        httpx.post(first.url + "/_sandbox/faults", json={"kind": "latency", "ms": 0})  # a write request saves
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]
    with Sandbox(state_file=state) as second:
        assert second.app.store.table("notes")[1]["text"] == "kept"
        assert second.app.store.next_id("notes") == 2


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text("{half")
    with pytest.raises(GdprAsCodeError, match="not a sandbox state"):
        Sandbox(state_file=state).start()


def test_chunked_request_bodies_are_read(api: httpx.Client) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"name": "Stre'
        yield b'amed"}'

    created = api.post("/api/segments/new", content=body(), headers={"Content-Type": "application/json"})
    assert created.status_code == 201 and created.json()["list"]["alias"] == "streamed"


def test_concurrent_creates_get_distinct_ids_in_creation_order(api: httpx.Client) -> None:
    def create(n: int) -> int:
        return api.post("/api/segments/new", json={"name": f"S{n}"}).json()["list"]["id"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(create, range(40)))
    assert sorted(ids) == list(range(1, 41))
    assert api.get("/api/segments", params={"limit": 0}).json()["total"] == 40


def test_cli_refuses_a_public_address_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sandbox", "--host", "0.0.0.0", "--port", "0"]) == 1
    err = capsys.readouterr().err
    assert "not a loopback address" in err and "--allow-remote" in err and "Traceback" not in err


def test_a_malformed_chunked_body_is_a_400_not_a_sandbox_error(sandbox: Sandbox) -> None:
    with socket.create_connection(("127.0.0.1", sandbox.port), timeout=5) as raw:
        head = b"POST /api/segments/new HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        raw.sendall(head + b"zz\r\nxx\r\n0\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")


def test_request_log_masks_tokens_and_searched_personal_data(
    sandbox: Sandbox, api: httpx.Client, controls
) -> None:
    api.get("/api/segments", params={"search": "email:alice@example.com", "limit": 5})
    bearer = token(sandbox)
    httpx.get(sandbox.url + "/api/users/self", params={"access_token": bearer})
    text = json.dumps(controls.requests())
    assert "alice" not in text and bearer not in text
    assert "access_token=***" in text and "limit=5" in text


def test_state_reaches_the_file_while_serving_not_only_at_stop(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    with Sandbox(state_file=state) as running:
        httpx.post(running.url + "/api/segments/new", json={"name": "Kept"}, auth=("admin", "sandbox"))
        deadline = time.monotonic() + 3
        while "Kept" not in (state.read_text() if state.exists() else "") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "Kept" in state.read_text()


def test_a_request_still_hanging_when_the_log_is_cleared_is_not_logged_afterwards(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    """Tests clear the log before each test; a timed-out request of the previous test must not land in it,
    nor count toward its ``peak`` (a plan's five reads at once measured 6 under load)."""
    controls.fault(kind="timeout", seconds=0.5, count=1)
    with ThreadPoolExecutor(1) as pool:
        hanging = pool.submit(httpx.get, f"{sandbox.url}/api/segments", auth=("admin", "sandbox"), timeout=5)
        deadline = time.monotonic() + 5
        while controls.faults() and time.monotonic() < deadline:
            time.sleep(0.01)  # the fault is spent once the request is inside it, however loaded the machine
        controls.clear_requests()
        httpx.get(f"{sandbox.url}/api/segments", auth=("admin", "sandbox"), timeout=5).raise_for_status()
        assert controls.requests()["peak"] == 1  # the hanging one belongs to the cleared log
        with pytest.raises(httpx.HTTPError):
            hanging.result()
    assert [entry["path"] for entry in controls.requests()["requests"]] == ["/api/segments"]
