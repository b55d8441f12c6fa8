"""The client against the sandbox over real HTTP: auth, retries under injected faults, paging, lost answers.

What the user sees is asserted: the answer, the error message, and how many requests reached the server
(the sandbox's own request log), so retries and "no duplicate" are checked from both ends.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from sandbox_controls import SandboxControls

from gdpr_as_code.errors import MauticAuthError, MauticHTTPError, MauticRateLimited, MauticUnreachable
from gdpr_as_code.mautic.auth import BasicAuth, OAuth2ClientCredentials
from gdpr_as_code.mautic.client import MauticClient, RetryPolicy
from gdpr_as_code.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, Sandbox

QUICK = RetryPolicy(base_delay=0.001, max_delay=0.01)


def basic(sandbox: Sandbox, **options: Any) -> MauticClient:
    return MauticClient(sandbox.url, BasicAuth("admin", "sandbox"), retry=QUICK, **options)


def oauth(sandbox: Sandbox, secret: str = DEFAULT_CLIENT_SECRET) -> MauticClient:
    return MauticClient(sandbox.url, OAuth2ClientCredentials(DEFAULT_CLIENT_ID, secret), retry=QUICK)


def served(controls: SandboxControls) -> list[tuple[str, str, int | None]]:
    """What reached the sandbox: (method, path, status) in order."""
    return [(r["method"], r["path"], r["status"]) for r in controls.requests()["requests"]]


def test_oauth2_token_is_renewed_once_when_mautic_expires_it(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    client = oauth(sandbox)
    assert client.get("/users/self")["username"] == "Sandbox API client [1]"
    controls.expire_tokens()
    assert client.get("/users/self")["username"] == "Sandbox API client [1]"
    assert client.stats.token_requests == 2
    assert client.stats.as_dict()["by_method"] == {"GET": 3}
    assert [status for _m, path, status in served(controls) if path == "/api/users/self"] == [200, 401, 200]


def test_wrong_oauth2_secret_is_one_clear_error(sandbox: Sandbox) -> None:
    with pytest.raises(MauticAuthError) as err:
        oauth(sandbox, secret="not-the-secret").get("/users/self")
    message = str(err.value)
    assert message.startswith(f"Mautic at {sandbox.url} (POST /oauth/v2/token) refused the OAuth2 client")
    assert "not-the-secret" not in message


def test_wrong_password_is_one_clear_error(sandbox: Sandbox, controls: SandboxControls) -> None:
    client = MauticClient(sandbox.url, BasicAuth("admin", "wrong-password"), retry=QUICK, name="shop-de")
    with pytest.raises(MauticAuthError) as err:
        client.get("/users/self")
    message = str(err.value)
    assert message.startswith("Mautic at shop-de (GET /users/self) refused the credentials (HTTP 401: ")
    assert "wrong-password" not in message
    assert len(served(controls)) == 1  # a wrong password is not retried


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        ({"kind": "error", "status": 503}, 503),
        ({"kind": "error", "status": 502}, 502),
        ({"kind": "rate_limit", "retry_after": 0}, 429),
        ({"kind": "drop"}, None),
    ],
    ids=["503", "502", "429", "dropped"],
)
def test_reads_are_retried_through_transient_faults(
    sandbox: Sandbox, controls: SandboxControls, fault: dict[str, Any], status: int | None
) -> None:
    controls.fault(**fault, count=2)
    client = basic(sandbox)
    assert client.get("/users/self")["username"] == "admin"
    assert client.stats.as_dict()["by_method"] == {"GET": 3}
    assert client.stats.retries == 2
    assert [s for _m, _p, s in served(controls)] == [status, status, 200]


def test_a_persistent_503_fails_after_the_attempts_with_one_message(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="error", status=503)
    with pytest.raises(MauticHTTPError) as err:
        basic(sandbox).get("/users/self")
    assert err.value.status == 503
    assert "after 4 attempts" in str(err.value)
    assert len(served(controls)) == QUICK.attempts


def test_a_server_that_does_not_answer_in_time_is_retried(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="timeout", seconds=1, count=1)
    client = basic(sandbox, timeout=0.3)
    assert client.get("/users/self")["username"] == "admin"
    assert client.stats.retries == 1


def test_sandbox_rate_limit_resetting_in_an_hour_is_not_waited_for(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.rate_limit(1)
    client = basic(sandbox)
    client.get("/users/self")
    with pytest.raises(MauticRateLimited) as err:
        client.get("/users/self")
    assert "You exceeded the rate limit of 1 API calls per hour." in str(err.value)
    assert "resets at" in str(err.value)
    assert len(served(controls)) == 2


def test_unreachable_host_names_the_instance_and_the_variable() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = MauticClient(
        f"http://127.0.0.1:{port}", BasicAuth("admin", "pw"), retry=QUICK, url_source="MAUTIC_URL"
    )
    with pytest.raises(MauticUnreachable) as err:
        client.get("/segments")
    message = str(err.value)
    assert message.startswith(
        f"Mautic at http://127.0.0.1:{port} (GET /segments) could not be reached after 4"
    )
    assert "Check MAUTIC_URL" in message


def segment_body(alias: str) -> dict[str, Any]:
    return {"name": f"Segment {alias}", "alias": alias, "isPublished": True, "filters": []}


def find_by_alias(client: MauticClient, alias: str) -> dict[str, Any] | None:
    """How a caller re-reads after a lost create: one list call."""
    return next((s for s in client.list_all("/segments", "lists") if s["alias"] == alias), None)


def test_list_all_reads_every_page_in_id_order(sandbox: Sandbox, controls: SandboxControls) -> None:
    writer = basic(sandbox)
    made = [
        writer.create("/segments/new", segment_body(f"s{n}"), find_existing=lambda: None) for n in range(25)
    ]
    controls.clear_requests()
    client = basic(sandbox)
    paged = client.list_all("/segments", "lists", page_size=10)
    assert [s["id"] for s in paged] == sorted(s["id"] for s in made)
    assert [r["query"] for r in controls.requests()["requests"]] == [
        f"orderBy=id&orderByDir=ASC&limit=10&start={start}" for start in (0, 10, 20)
    ]
    assert client.list_all("/segments", "lists") == paged  # the default page reads them in one request
    assert client.stats.as_dict()["by_method"] == {"GET": 4}


def test_a_create_whose_answer_is_lost_is_adopted_not_repeated(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="lose_answer", methods=["POST"], count=1)  # Mautic makes it; the answer is lost
    client = basic(sandbox)
    made = client.create(
        "/segments/new",
        segment_body("consent-given"),
        find_existing=lambda: find_by_alias(client, "consent-given"),
    )
    assert made["alias"] == "consent-given"
    assert [s["id"] for s in basic(sandbox).list_all("/segments", "lists")] == [made["id"]]
    assert client.stats.adopted == 1
    assert [m for m, path, _s in served(controls) if path == "/api/segments/new"] == ["POST"]


def test_a_create_that_never_arrived_is_sent_again_once_the_re_read_finds_nothing(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="drop", methods=["POST"], count=1)  # dropped before Mautic handles it
    client = basic(sandbox)
    made = client.create(
        "/segments/new",
        segment_body("data-requested"),
        find_existing=lambda: find_by_alias(client, "data-requested"),
    )
    assert [s["id"] for s in basic(sandbox).list_all("/segments", "lists")] == [made["id"]]
    assert client.stats.adopted == 0
    assert [status for m, path, status in served(controls) if m == "POST"] == [None, 201]


def test_a_plain_post_whose_answer_is_lost_is_never_repeated(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="lose_answer", methods=["POST"], count=1)
    client = basic(sandbox)
    with pytest.raises(MauticUnreachable) as err:
        client.post("/segments/new", segment_body("once"))
    assert "may or may not have been made" in str(err.value)
    assert len(basic(sandbox).list_all("/segments", "lists")) == 1
    assert [m for m, _p, _s in served(controls) if m == "POST"] == ["POST"]


def test_a_delete_whose_answer_is_lost_is_repeated_and_done(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    made = basic(sandbox).create("/segments/new", segment_body("doomed"), find_existing=lambda: None)
    controls.fault(kind="lose_answer", methods=["DELETE"], count=1)
    client = basic(sandbox)
    assert client.delete(f"/segments/{made['id']}/delete") == {}
    assert basic(sandbox).list_all("/segments", "lists") == []
    assert [status for m, _p, status in served(controls) if m == "DELETE"] == [200, 404]


def test_a_create_answered_503_is_re_read_then_sent_again(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    controls.fault(kind="error", status=503, methods=["POST"], count=1)
    client = basic(sandbox)
    alias = "access-requested"
    made = client.create(
        "/segments/new", segment_body(alias), find_existing=lambda: find_by_alias(client, alias)
    )
    assert [(m, s) for m, _p, s in served(controls)] == [("POST", 503), ("GET", 200), ("POST", 201)]
    assert [s["id"] for s in basic(sandbox).list_all("/segments", "lists")] == [made["id"]]


def test_a_create_answered_500_is_re_read_but_not_repeated(
    sandbox: Sandbox, controls: SandboxControls
) -> None:
    """Mautic's 500s are mostly deterministic (a name over 191 characters): a repeat fails the same way."""
    controls.fault(kind="error", status=500, methods=["POST"], count=1)
    client = basic(sandbox)
    with pytest.raises(MauticHTTPError) as err:
        client.create("/segments/new", segment_body("x"), find_existing=lambda: find_by_alias(client, "x"))
    assert err.value.status == 500
    assert "var/logs" in str(err.value)
    assert [(m, s) for m, _p, s in served(controls)] == [("POST", 500), ("GET", 200)]
