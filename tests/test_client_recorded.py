"""The client against answers recorded from a real Mautic 5.1.0 (``tests/recorded``).

The parsers are table-driven over every recorded list and error answer. Error translation is checked by
replaying real answers through an in-process transport: these bodies are Mautic's own, so the messages users
see are those a real instance would produce.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from recordings import EXAMPLES, RECORDED, exchange_files, exchange_name, read_exchange, recorded_exchange

from gdpr_as_code.errors import (
    MauticAuthError,
    MauticHTTPError,
    MauticRateLimited,
    MissingCredentials,
)
from gdpr_as_code.mautic.answers import mautic_error, parse_list_page
from gdpr_as_code.mautic.auth import BasicAuth, OAuth2ClientCredentials
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.mautic.connect import client_from_env
from gdpr_as_code.mautic.policy import RetryPolicy
from gdpr_as_code.spec import Target

URL = "http://mautic.example.test"
# Rows a list_all caller reads: entities with ids (not activity events or campaign memberships).
ENTITY_LIST_KEYS = {
    "lists",
    "fields",
    "forms",
    "focus",
    "emails",
    "contacts",
    "submissions",
    "notes",
    "campaigns",
}
ENV = {
    "MAUTIC_URL": URL,
    "MAUTIC_USERNAME": "admin",
    "MAUTIC_PASSWORD": "Maut1cOracle!",
    "MAUTIC_CLIENT_ID": "1_oracleRandomId0123456789abcdefghijklmnopqrstu",
    "MAUTIC_CLIENT_SECRET": "oracleSecret0123456789abcdefghijklmnopqrstuvwx",
}


def _recorded() -> Iterator[tuple[str, dict[str, Any]]]:
    for session in sorted(p for p in RECORDED.iterdir() if p.is_dir()):
        for path in exchange_files(session):
            if path.suffix != ".txt":
                yield exchange_name(path), read_exchange(path)


def _body(exchange: dict[str, Any]) -> Any:
    try:
        return json.loads(exchange["response"]["raw"])
    except ValueError:
        return None


def _entity_lists() -> list[tuple[str, str, Any]]:
    rows = []
    for name, exchange in _recorded():
        body = _body(exchange)
        if isinstance(body, dict) and "total" in body and exchange["response"]["status"] == 200:
            (key,) = [k for k in body if k != "total"][:1]
            collection = body[key]
            items = collection.values() if isinstance(collection, dict) else collection
            if key in ENTITY_LIST_KEYS and all("id" in item for item in items):
                rows.append((name, key, body))
    return rows


def _errors() -> list[tuple[str, Any]]:
    return [
        (name, body)
        for name, exchange in _recorded()
        if exchange["response"]["status"] >= 400
        and isinstance(body := _body(exchange), dict)
        and isinstance(body.get("errors"), list)
    ]


ENTITY_LISTS = _entity_lists()
ERRORS = _errors()


def test_the_recorded_answers_are_there() -> None:
    """The tables below must not silently shrink to nothing if the recordings move."""
    assert len(ENTITY_LISTS) >= 70
    assert len(ERRORS) >= 60


@pytest.mark.parametrize(("name", "key", "body"), ENTITY_LISTS, ids=[row[0] for row in ENTITY_LISTS])
def test_every_recorded_list_answer_parses(name: str, key: str, body: dict[str, Any]) -> None:
    page = parse_list_page(body, key)
    collection = body[key]
    expected_ids = (
        [int(k) for k in collection] if isinstance(collection, dict) else [int(i["id"]) for i in collection]
    )
    assert [int(item["id"]) for item in page.items] == expected_ids
    assert page.total == int(body["total"])


@pytest.mark.parametrize(
    ("name", "key", "total", "count"),
    [
        ("crud/003_GET_segments_empty.json", "lists", 0, 0),  # empty list is []
        ("flows/077_GET_forms_1_submissions_contact_999999_unknown_contact.json", "submissions", 0, 0),  # {}
        ("crud/027_GET_forms_list.json", "forms", 1, 1),  # forms are a JSON array
        ("crud/022_GET_fields_contact_limit3.json", "fields", 30, 3),  # one page of several
        ("flows/151_GET_contacts_limit_0.json", "contacts", 261, 261),  # total as a string
        ("flows/154_GET_contacts_start_beyond_total.json", "contacts", 261, 0),
    ],
)
def test_list_shapes_seen_on_real_mautic(name: str, key: str, total: int, count: int) -> None:
    page = parse_list_page(json.loads(recorded_exchange(name)["response"]["raw"]), key)
    assert (page.total, len(page.items)) == (total, count)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"total": 1, "list": {}}, "no 'lists' list"),
        ({"total": 1, "lists": "x"}, "not a list or an object"),
        ({"total": 1, "lists": [{"name": "no id"}]}, "no numeric id"),
        ("<html>", "no 'lists' list"),
    ],
)
def test_what_is_not_a_mautic_list_is_refused(body: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_list_page(body, "lists")


@pytest.mark.parametrize(("name", "body"), ERRORS, ids=[row[0] for row in ERRORS])
def test_mautics_message_is_read_from_every_recorded_error(name: str, body: dict[str, Any]) -> None:
    message, _kind = mautic_error(body)
    assert message == body["errors"][0]["message"]
    assert message


# --- error translation, replaying real answers in-process ---


class Replay(httpx.BaseTransport):
    """Answers with recorded responses in turn, and remembers what was asked."""

    def __init__(self, *answers: tuple[int, str, dict[str, str]]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status, raw, headers = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        return httpx.Response(
            status, content=raw.encode(), headers={"Content-Type": "application/json", **headers}
        )


def recorded(name: str, **headers: str) -> tuple[int, str, dict[str, str]]:
    response = recorded_exchange(name)["response"]
    return response["status"], response["raw"], headers


def example(name: str) -> tuple[int, str, dict[str, str]]:
    return int(name.split(".")[-2]), (EXAMPLES / name).read_text(), {}


def quick(sleeps: list[float] | None = None) -> RetryPolicy:
    return RetryPolicy(base_delay=0.001, sleep=(sleeps.append if sleeps is not None else lambda _s: None))


def from_env(*answers: tuple[int, str, dict[str, str]], oauth: bool = False) -> tuple[MauticClient, Replay]:
    env = ENV if oauth else {k: v for k, v in ENV.items() if "CLIENT" not in k}
    transport = Replay(*answers)
    return client_from_env(env=env, transport=transport, retry=quick()), transport


def _assert_no_secret(message: str) -> None:
    for name in ("MAUTIC_PASSWORD", "MAUTIC_CLIENT_SECRET", "MAUTIC_CLIENT_ID"):
        assert ENV[name] not in message


def test_wrong_password_names_the_variables_not_their_values() -> None:
    client, _ = from_env(recorded("crud/002_GET_segments_badpass.json"))
    with pytest.raises(MauticAuthError) as err:
        client.get("/segments")
    message = str(err.value)
    assert message.startswith(f"Mautic at {URL} (GET /segments) refused the credentials")
    assert "Authorization denied, invalid credentials." in message
    assert "MAUTIC_USERNAME and MAUTIC_PASSWORD" in message
    _assert_no_secret(message)


def test_wrong_client_secret_is_reported_from_the_token_endpoint() -> None:
    client, transport = from_env(recorded("flows/003_POST_oauth_v2_token_bad_secret.json"), oauth=True)
    with pytest.raises(MauticAuthError) as err:
        client.get("/segments")
    message = str(err.value)
    assert "(POST /oauth/v2/token)" in message
    assert "The client credentials are invalid" in message
    assert "MAUTIC_CLIENT_ID and MAUTIC_CLIENT_SECRET" in message
    _assert_no_secret(message)
    assert len(transport.requests) == 1  # a refused client is not retried


def test_a_credential_without_client_credentials_grant_says_how_to_create_one() -> None:
    client, _ = from_env(
        recorded("flows/005_POST_oauth_v2_token_grant_password_unsupported.json"), oauth=True
    )
    with pytest.raises(MauticAuthError, match="while logged in as an administrator"):
        client.get("/segments")


def test_oauth2_token_is_fetched_once_sent_as_bearer_and_never_shown() -> None:
    token_answer = recorded("flows/002_POST_oauth_v2_token_client_credentials_ok.json")
    client, transport = from_env(token_answer, recorded("flows/010_GET_segments_bearer_ok.json"), oauth=True)
    assert client.list_all("/segments", "lists") == []
    assert client.list_all("/segments", "lists") == []
    token = json.loads(token_answer[1])["access_token"]
    token_request, *api_requests = transport.requests
    assert token_request.url.path == "/oauth/v2/token"
    assert b"grant_type=client_credentials" in token_request.content
    assert [r.headers["authorization"] for r in api_requests] == [f"Bearer {token}"] * 2
    assert client.stats.token_requests == 1
    assert token not in repr(client.auth) and ENV["MAUTIC_CLIENT_SECRET"] not in repr(client.auth)


@pytest.mark.parametrize(
    ("answer", "fix"),
    [
        ("errors.api_disabled.403.json", "enable the API in Mautic (Settings → Configuration → API Settings"),
        ("errors.basic_auth_disabled.403.json", "enable HTTP basic auth in Mautic"),
        ("errors.access_denied.403.json", "give the Mautic user's role this permission"),
    ],
)
def test_403s_say_which_setting_to_change(answer: str, fix: str) -> None:
    client, _ = from_env(example(answer))
    with pytest.raises(MauticAuthError) as err:
        client.get("/segments")
    message = str(err.value)
    assert message.startswith(f"Mautic at {URL} (GET /segments) refused access (HTTP 403: ")
    assert fix in message


@pytest.mark.parametrize(
    ("answer", "method", "path", "says"),
    [
        ("crud/011_GET_segments_99999_notfound.json", "GET", "/segments/99999", "deleted meanwhile"),
        ("flows/186_GET_segments_new_GET_method_not_allowed.json", "GET", "/segments/new", "base URL"),
        ("flows/196_POST_segments_new_name_192.json", "POST", "/segments/new", "over 191 characters"),
        ("crud/007_POST_segments_new_missing_name.json", "POST", "/segments/new", "correct the value"),
    ],
)
def test_http_errors_carry_status_request_mautics_message_and_a_fix(
    answer: str, method: str, path: str, says: str
) -> None:
    status, raw, _ = recorded(answer)
    client, transport = from_env((status, raw, {}))
    with pytest.raises(MauticHTTPError) as err:
        client.post(path, {"name": "x"}) if method == "POST" else client.get(path)
    expected_said = json.loads(raw)["errors"][0]["message"]
    assert (err.value.status, err.value.method, err.value.path) == (status, method, path)
    assert err.value.mautic_message == expected_said
    assert str(err.value).startswith(
        f"Mautic at {URL} ({method} {path}) failed (HTTP {status}: {expected_said})"
    )
    assert says in str(err.value)
    assert len(transport.requests) == 1  # neither a 4xx nor a 500 is retried


def test_rate_limit_resetting_in_an_hour_fails_at_once_with_the_reset_time() -> None:
    """Mautic's limiter counts per hour and sends only X-RateLimit-Reset (flows/223): waiting is pointless."""
    reset = int(time.time()) + 3600
    sleeps: list[float] = []
    transport = Replay(
        recorded("flows/223_GET_segments_ratelimited_basic_6.json", **{"X-RateLimit-Reset": str(reset)})
    )
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick(sleeps))
    with pytest.raises(MauticRateLimited) as err:
        client.get("/segments")
    assert "You exceeded the rate limit of 5 API calls per hour." in str(err.value)
    assert time.strftime("%H:%M", time.gmtime(reset)) in str(err.value)
    assert "api_rate_limiter_limit" in str(err.value)
    assert sleeps == [] and len(transport.requests) == 1


def test_rate_limit_resetting_soon_is_waited_out_using_x_ratelimit_reset() -> None:
    limited = recorded("flows/223_GET_segments_ratelimited_basic_6.json", **{"X-RateLimit-Reset": "2"})
    sleeps: list[float] = []
    transport = Replay(limited, recorded("flows/189_GET_segments_huge_limit.json"))
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick(sleeps))
    assert [s["id"] for s in client.list_all("/segments", "lists")] == list(range(1, 8))
    assert sleeps == [2.0]
    assert client.stats.as_dict()["by_method"] == {"GET": 2} and client.stats.retries == 1


def test_list_all_asks_once_with_a_large_limit_ordered_by_id_and_returns_id_order() -> None:
    transport = Replay(recorded("flows/151_GET_contacts_limit_0.json"))  # keyed in Mautic's order, not by id
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick())
    contacts = client.list_all("/contacts", "contacts", params={"minimal": "true"})
    ids = [c["id"] for c in contacts]
    assert ids == sorted(ids) and len(ids) == 261
    (request,) = transport.requests
    assert dict(request.url.params) == {
        "orderBy": "id",
        "orderByDir": "ASC",
        "minimal": "true",
        "limit": "5000",
        "start": "0",
    }


@pytest.mark.parametrize(
    "page_size",
    [
        100,  # flows/147-149: three pages of 100 out of a total of "261"
        None,  # asked for 5,000, answered 100 at a time (a proxy or plugin capping limit): still read whole
    ],
)
def test_list_all_reads_on_while_total_says_more(page_size: int | None) -> None:
    transport = Replay(
        recorded("flows/147_GET_contacts_page_0_100.json"),
        recorded("flows/148_GET_contacts_page_100_100.json"),
        recorded("flows/149_GET_contacts_page_200_100.json"),
    )
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick())
    contacts = client.list_all("/contacts", "contacts", page_size=page_size)
    assert len(contacts) == 261 == len({c["id"] for c in contacts})
    assert [r.url.params["start"] for r in transport.requests] == ["0", "100", "200"]


def test_a_server_repeating_the_same_page_is_an_error_not_a_partial_list() -> None:
    """Ignoring ``start`` would loop forever or, cut short, make the plan create what already exists."""
    transport = Replay(recorded("crud/022_GET_fields_contact_limit3.json"))  # 3 of a total of 30, every time
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick())
    with pytest.raises(MauticHTTPError, match=r"from 3 on, it repeated earlier ones"):
        client.list_all("/fields/contact", "fields")
    assert len(transport.requests) == 2


def test_non_json_answer_points_at_the_url() -> None:
    transport = httpx.MockTransport(
        lambda _r: httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"})
    )
    client = MauticClient(
        URL + "/api/", BasicAuth("admin", "pw"), transport=transport, url_source="MAUTIC_URL"
    )
    with pytest.raises(
        MauticHTTPError, match=r"answered text/html, not JSON\. Check that MAUTIC_URL is the base URL"
    ):
        client.get("/segments")


def test_base_url_loses_credentials_and_api_suffix_and_keeps_a_subdirectory() -> None:
    transport = Replay(
        recorded("flows/002_POST_oauth_v2_token_client_credentials_ok.json"),
        recorded("flows/010_GET_segments_bearer_ok.json"),
    )
    auth = OAuth2ClientCredentials("1_x", "secret")
    client = MauticClient("https://user:pw@mautic.example.test/index.php/api/", auth, transport=transport)
    assert client.base_url == client.name == "https://mautic.example.test/index.php"
    client.get("/segments")
    assert [r.url.path for r in transport.requests] == [
        "/index.php/oauth/v2/token",
        "/index.php/api/segments",
    ]


def test_missing_variables_are_named_never_valued() -> None:
    with pytest.raises(MissingCredentials, match="MAUTIC_URL is not set"):
        client_from_env(env={})
    with pytest.raises(MissingCredentials) as err:
        client_from_env(env={"MAUTIC_URL": URL, "MAUTIC_USERNAME": "admin"})
    assert "MAUTIC_PASSWORD is not set" in str(err.value)
    with pytest.raises(MissingCredentials, match="MAUTIC_CLIENT_SECRET is not set"):
        client_from_env(env={"MAUTIC_URL": URL, "MAUTIC_CLIENT_ID": ENV["MAUTIC_CLIENT_ID"]})
    assert ENV["MAUTIC_CLIENT_ID"] not in str(err.value)


def test_a_spec_target_chooses_the_variables_and_the_auth() -> None:
    target = Target(
        url=None, auth="oauth2", url_env="SHOP_URL", client_id_env="SHOP_ID", client_secret_env="SHOP_SECRET"
    )
    env = {"SHOP_URL": URL, "SHOP_ID": "1_x", "SHOP_SECRET": "s3cret-value"}
    client = client_from_env(target, env=env, name="shop")
    assert isinstance(client.auth, OAuth2ClientCredentials)
    assert (client.name, client.base_url) == ("shop", URL)
    assert "s3cret-value" not in repr(client) + repr(client.auth)
    with pytest.raises(MissingCredentials, match="SHOP_SECRET is not set"):
        client_from_env(target, env={"SHOP_URL": URL, "SHOP_ID": "1_x"})


def test_nested_lists_keep_their_own_order_since_a_bare_id_would_fail_there() -> None:
    """``/contacts/{id}/notes`` gives ``orderBy`` to Doctrine as is (LeadApiController::getNotesAction)."""
    transport = Replay(recorded("flows/102_GET_contacts_13_notes_empty.json"))
    client = MauticClient(URL, BasicAuth("admin", "pw"), transport=transport, retry=quick())
    assert client.list_all("/contacts/13/notes", "notes") == []
    (request,) = transport.requests
    assert dict(request.url.params) == {"limit": "5000", "start": "0"}


@pytest.mark.parametrize("name", ["client", "connect", "policy"])
def test_the_public_surface_is_what_all_says(name: str) -> None:
    """Callers import from ``__all__``; a public name defined here but missing from it is an oversight."""
    import importlib
    import inspect

    module = importlib.import_module(f"gdpr_as_code.mautic.{name}")
    defined = {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isclass(value) or inspect.isfunction(value))
        and value.__module__ == module.__name__
    }
    constants = {"DEFAULT_PAGE_SIZE", "EnvTarget", "WRITE_METHODS"} & set(module.__all__)
    assert defined | constants == set(module.__all__)
