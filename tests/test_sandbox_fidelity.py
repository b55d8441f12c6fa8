"""Fidelity is the acceptance of the sandbox: replay every exchange recorded against a real Mautic 5.1.0, and
the same conversation recorded against a real 7.0.2, and compare.

Each recorded session (``recorded/<version>/crud``, ``.../flows``) is replayed in file order against a freshly
reset sandbox, set up as the session's notes say (the OAuth2 client of flows/001, the rate limit of
flows/216-217; console steps become ``/_sandbox/`` controls; NOTE files are read, not replayed). For every
exchange the status code must be the same, and for JSON answers the *shape*: the same keys, the same value
types, objects keyed by the same ids where Mautic keys by id, arrays of the same length where Mautic answers
arrays. Ids are compared by value (``id`` keys and id-keyed objects) because the recorded URLs and bodies use
them: the sandbox must number as Mautic did.

What cannot matter to a client is normalised in ``normalise`` (one place, each rule with its reason); what is
not replayed is on ``SKIPPED`` (one list per version, each with its reason, at most 5% of all exchanges).
5.1.0 must match on every replayed exchange; the 7.0 sandbox on at least 95% of them (the figure is printed,
and what it misses is listed)."""

from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from recordings import RECORDED_ROOT, exchange_files, exchange_name, read_exchange

from gdpr_as_code.sandbox import Sandbox

RECORDED_BASE = "http://127.0.0.1:8080"
ADMIN_PASSWORD = "Maut1cOracle!"
BASIC_ADMIN = "Basic " + base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
BASIC_BADPASS = "Basic " + base64.b64encode(b"admin:wrong-password").decode()
OAUTH_CLIENT_ID = "1_oracleRandomId0123456789abcdefghijklmnopqrstu"
OAUTH_CLIENT_SECRET = "oracleSecret0123456789abcdefghijklmnopqrstuvwx"
MAX_SKIPPED_SHARE = 0.05
RANDOM_ALIAS = re.compile(r"[a-z]{5}")

# Exchanges not replayed, each with the reason. At most 5% of all exchanges may be here (asserted below).
CAMPAIGNS = "campaigns: issue 2 leaves them out of the sandbox and the tool never touches them"
SKIPPED: dict[str, str] = {
    "flows/205_GET_campaigns_empty_list.json": CAMPAIGNS,
    "flows/206_POST_campaigns_new_minimal_name_only.json": CAMPAIGNS,
    "flows/207_POST_campaigns_new_form_and_segment_sources_decision_action.json": CAMPAIGNS,
    "flows/208_GET_campaigns_list_after.json": CAMPAIGNS,
    "flows/209_GET_campaigns_list_minimal.json": CAMPAIGNS,
    "flows/210_GET_campaigns_1_one.json": CAMPAIGNS,
    "flows/211_GET_campaigns_1_contacts_contacts.json": CAMPAIGNS,
    "flows/212_GET_campaigns_events_events_list.json": CAMPAIGNS,
    "flows/213_POST_campaigns_1_contact_12_add_add_bob.json": CAMPAIGNS,
    "flows/214_GET_contacts_12_campaigns_bob_after_add.json": "shows the campaign membership of 213",
    "flows/215_GET_campaigns_1_contacts_contacts_after_add.json": CAMPAIGNS,
    "flows/101_GET_contacts_activity_all_contacts_activity.json": "one recorded request (057) crossed a "
    "second: its submission is stamped 05:58:37, its other events 05:58:38, but its Date (the pinned clock) "
    "says 05:58:38 for all, so the merged timeline orders that submission differently (the first 25 events "
    "match; 099, 100 and 129 check the timeline of one contact)",
    "flows/153_GET_contacts_no_limit_default.json": "the default order (last active first) leaves the 252 "
    "never-active contacts tied; MariaDB's filesort returned them in no defined order, so which 21 fill the "
    "first page cannot be reproduced (151, the same list unpaged, is compared)",
}

# The 7.0.2 recording of the same conversation: the same campaign steps, and what 7.0 does that the sandbox
# does not model (each with its reason).
SKIPPED_70: dict[str, str] = {
    **{name: reason for name, reason in SKIPPED.items() if "campaigns" in name},
    "flows/101_GET_contacts_activity_all_contacts_activity.json": "the merged timeline of all contacts "
    "orders events stamped in the same second as MariaDB returned them (see the 5.1 reason)",
    "flows/153_GET_contacts_no_limit_default.json": SKIPPED["flows/153_GET_contacts_no_limit_default.json"],
}
VERSIONS = {"5.1.0": ("5.1", SKIPPED, 1.0), "7.0.2": ("7.0", SKIPPED_70, 0.95)}  # line, skips, share to match

# Console steps of the recorded sessions and the sandbox control that does the same thing.
CONSOLE_CONTROLS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "080_CONSOLE_mautic_segments_update_all.txt": ("POST", "/_sandbox/segments/rebuild", None),
    "081_CONSOLE_mautic_segments_update_one_list.txt": ("POST", "/_sandbox/segments/rebuild?id=2", None),
    # 216 NOTE: api_rate_limiter_limit = 5, made effective by the cache:clear of 217; 228 turns it off again.
    "217_CONSOLE_cache_clear_enable_rate_limit.txt": ("POST", "/_sandbox/rate-limit", {"limit": 5}),
    "228_CONSOLE_cache_clear_disable_rate_limit.txt": ("POST", "/_sandbox/rate-limit", {"limit": 0}),
}

# The recorded session let its first token expire before these (flows/017 NOTE: expires_at in the past).
EXPIRE_TOKENS_BEFORE = {"flows/013_GET_segments_bearer_expired.json"}

# Headers whose presence a client may rely on; compared by presence (their values are dates and counters).
HEADERS_COMPARED = ("Location", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def normalise(path: str, value: Any) -> Any:
    """The one place where recorded and sandbox values are made comparable; each rule says why.

    Applied to both sides before the shape comparison, so only rules that erase a client-irrelevant difference
    belong here.
    """
    key = path.rsplit(".", 1)[-1]
    if key in ("createdByUser", "modifiedByUser"):
        # User names: Mautic answers the admin's display name, " " when a public (anonymous) request changed
        # the object and null when nobody did; the text depends on the installation's users, not the request.
        return "<user name>"
    return value


@dataclass
class Exchange:
    """One recorded request and Mautic's answer."""

    name: str
    method: str
    url: str
    body: Any
    body_kind: str | None
    headers: dict[str, str]
    status: int
    content_type: str
    raw: str
    response_headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Step:
    """A session step in file order: an exchange to replay, or a console command done by a sandbox control."""

    name: str
    exchange: Exchange | None = None
    control: tuple[str, str, dict[str, Any] | None] | None = None


def load_session(session: str, version: str = "5.1.0") -> list[Step]:
    """Read one recorded session in file order; NOTE files carry no request, so they are not steps."""
    steps: list[Step] = []
    for path in exchange_files(RECORDED_ROOT / version / session):
        if path.suffix == ".txt":
            if "_CONSOLE_" in path.name:
                steps.append(Step(f"{session}/{path.name}", control=CONSOLE_CONTROLS[path.name]))
            continue
        data = read_exchange(path)
        request, response = data["request"], data["response"]
        headers = dict(request.get("headers") or {})
        if session == "crud":  # crud files carry no headers: Basic admin, except the noauth/badpass labels
            if "_noauth" in path.name:
                pass
            elif "_badpass" in path.name:
                headers["Authorization"] = BASIC_BADPASS
            else:
                headers["Authorization"] = BASIC_ADMIN
        exchange = Exchange(
            name=exchange_name(path),
            method=request["method"],
            url=request["url"],
            body=request.get("body"),
            body_kind=request.get("body_kind", "json" if request.get("body") is not None else None),
            headers=headers,
            status=response["status"],
            content_type=response.get("content_type", ""),
            raw=response["raw"],
            response_headers=dict(response.get("headers") or {}),
        )
        steps.append(Step(exchange.name, exchange=exchange))
    return steps


def all_exchanges(version: str = "5.1.0") -> list[Exchange]:
    return [s.exchange for session in ("crud", "flows") for s in load_session(session, version) if s.exchange]


class Replayer:
    """Sends recorded requests to a sandbox, translating what differs by installation (base URL, tokens)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens: dict[str, str] = {}  # recorded access token -> token the sandbox issued in its place
        self.clock = ""  # the recorded Date the sandbox clock is pinned to
        self.aliases: dict[str, str] = {}  # '"otqay"' (a random alias Mautic made) -> the sandbox's
        self.client = httpx.Client(timeout=30, follow_redirects=False)
        del self.client.headers["User-Agent"]  # send only the recorded headers (flows/227 has no User-Agent)

    def close(self) -> None:
        self.client.close()

    def translate(self, text: str) -> str:
        text = text.replace(RECORDED_BASE, self.base_url)
        for recorded, live in self.tokens.items():
            text = text.replace(recorded, live)
        return text

    def control(self, method: str, path: str, body: dict[str, Any] | None) -> None:
        answer = self.client.request(method, self.base_url + path, json=body)
        assert answer.status_code < 300, (
            f"sandbox control {method} {path} failed: {answer.status_code} {answer.text}"
        )

    def send(self, ex: Exchange) -> httpx.Response:
        headers = {k: self.translate(v) for k, v in ex.headers.items()}
        url = self.translate(ex.url)
        kwargs: dict[str, Any] = {}
        if ex.body_kind == "multipart":
            headers.pop("Content-Type", None)  # httpx writes its own boundary
            kwargs["files"] = [(name, (None, self.translate(value))) for name, value in ex.body]
        elif ex.body_kind == "raw":
            kwargs["content"] = self.translate(ex.body).encode()
        elif ex.body is not None:
            headers.setdefault("Content-Type", "application/json")
            kwargs["content"] = json.dumps(ex.body).encode()
        if ex.name in EXPIRE_TOKENS_BEFORE:
            self.control("POST", "/_sandbox/tokens/expire", None)
        stamp = ex.response_headers.get("Date")
        if stamp and stamp != self.clock:  # pin the sandbox clock to Mautic's, so timestamps order the same
            self.control("POST", "/_sandbox/clock", {"now": parsedate_to_datetime(stamp).isoformat()})
            self.clock = stamp
        self.client.cookies.clear()  # a browser's cookies are in the recorded headers, never carried over
        answer = self.client.request(ex.method, url, headers=headers, **kwargs)
        self.learn(ex, answer)
        return answer

    def learn(self, ex: Exchange, answer: httpx.Response) -> None:
        """Map what Mautic generates at random to what the sandbox generated in its place: OAuth2 tokens
        (later requests send them) and 5-letter random field aliases (later answers use them as keys)."""
        if ex.status != answer.status_code or "json" not in ex.content_type or not ex.raw:
            return
        if urlsplit(ex.url).path == "/oauth/v2/token" and ex.status == 200:
            self.tokens[json.loads(ex.raw)["access_token"]] = answer.json()["access_token"]
        recorded, live = json.loads(ex.raw), answer.json()
        forms = [r.get("form") if isinstance(r, dict) else None for r in (recorded, live)]
        if not all(isinstance(form, dict) for form in forms):
            return
        asked = json.dumps(ex.body)
        pairs = zip(forms[0].get("fields") or [], forms[1].get("fields") or [], strict=False)
        for mine, theirs in pairs:
            alias = str(mine.get("alias"))
            made_up = RANDOM_ALIAS.fullmatch(alias) and f'"{alias}"' not in asked  # not what the client sent
            if made_up and mine.get("id") == theirs.get("id") and alias != theirs.get("alias"):
                self.aliases[f'"{alias}"'] = f'"{theirs.get("alias")}"'

    def recorded_answer(self, ex: Exchange) -> Any:
        """Mautic's answer, its random aliases replaced by the sandbox's (see ``learn``)."""
        text = ex.raw
        for recorded, live in self.aliases.items():
            text = text.replace(recorded, live)
        return json.loads(text)


def shape_differences(recorded: Any, actual: Any, path: str = "$") -> Iterator[str]:
    """Yield each place where ``actual`` differs from ``recorded`` in shape (keys, types, lengths, ids)."""
    recorded, actual = normalise(path, recorded), normalise(path, actual)
    if type(recorded) is not type(actual):
        yield (
            f"{path}: type {type(recorded).__name__} recorded, {type(actual).__name__} from sandbox "
            f"(recorded {short(recorded)}, sandbox {short(actual)})"
        )
        return
    if isinstance(recorded, dict):
        missing = [k for k in recorded if k not in actual]
        extra = [k for k in actual if k not in recorded]
        if missing:
            yield f"{path}: keys missing from sandbox: {', '.join(missing)}"
        if extra:
            yield f"{path}: keys only in sandbox: {', '.join(extra)}"
        for key in recorded:
            if key in actual:
                yield from shape_differences(recorded[key], actual[key], f"{path}.{key}")
    elif isinstance(recorded, list):
        if len(recorded) != len(actual):
            yield f"{path}: array of {len(recorded)} recorded, {len(actual)} from sandbox"
        for i, (r, a) in enumerate(zip(recorded, actual, strict=False)):
            yield from shape_differences(r, a, f"{path}[{i}]")
    elif path.endswith(".id") and recorded != actual:
        yield f"{path}: id {recorded!r} recorded, {actual!r} from sandbox"


def short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def compare(ex: Exchange, answer: httpx.Response, replayer: Replayer) -> list[str]:
    """Every difference a client could notice between the recorded answer and the sandbox's."""
    problems: list[str] = []
    if answer.status_code != ex.status:
        problems.append(
            f"status {ex.status} recorded, {answer.status_code} from sandbox: {answer.text[:300]}"
        )
        return problems
    for name in HEADERS_COMPARED if ex.response_headers else ():  # crud/ recorded no response headers
        if name in ex.response_headers and name not in answer.headers:
            problems.append(f"header {name} missing from sandbox")
        elif name not in ex.response_headers and name in answer.headers:
            problems.append(f"header {name} only in sandbox")
    if "Location" in ex.response_headers and "location" in answer.headers:
        want = ex.response_headers["Location"].replace(RECORDED_BASE, replayer.base_url).split("?")[0]
        got = answer.headers["location"].split("?")[0]
        if want != got:
            problems.append(f"Location {want!r} recorded, {got!r} from sandbox")
    if "json" not in ex.content_type:
        # Generated HTML (redirect pages, thank-you pages, the postMessage wrapper) is not a client contract;
        # its content type is.
        if "html" not in answer.headers.get("content-type", ""):
            problems.append(
                f"content type {ex.content_type!r} recorded, {answer.headers.get('content-type')!r}"
            )
        return problems
    if not ex.raw:  # 7.0.2 refuses a wrong password with an empty body (crud/002)
        extra = [f"sandbox answered {answer.text[:200]!r}, not nothing"] if answer.content else []
        return [*problems, *extra]
    try:
        got = answer.json()
    except ValueError:
        return [*problems, f"sandbox answered non-JSON: {answer.text[:200]!r}"]
    problems.extend(shape_differences(replayer.recorded_answer(ex), got))
    return problems


@pytest.fixture(scope="module")
def replay_sandboxes() -> Iterator[dict[str, Sandbox]]:
    """One sandbox per Mautic line for the module, made when first asked for, with the recorded
    installation's admin password."""
    made: dict[str, Sandbox] = {}
    try:
        yield made
    finally:
        for sandbox in made.values():
            sandbox.stop()


def sandbox_as(sandboxes: dict[str, Sandbox], line: str) -> Sandbox:
    if line not in sandboxes:
        sandboxes[line] = Sandbox(port=0, password=ADMIN_PASSWORD, mautic_version=line).start()
    return sandboxes[line]


@pytest.mark.parametrize("version", VERSIONS)
def test_skip_list_is_small_and_names_real_exchanges(version: str) -> None:
    skipped = VERSIONS[version][1]
    names = {ex.name for ex in all_exchanges(version)}
    unknown = sorted(set(skipped) - names)
    assert not unknown, f"skip list names exchanges that are not recorded: {unknown}"
    assert len(skipped) <= MAX_SKIPPED_SHARE * len(names), (
        f"{len(skipped)} of {len(names)} exchanges skipped; at most {MAX_SKIPPED_SHARE:.0%} may be"
    )


@pytest.mark.parametrize("session", ["crud", "flows"])
@pytest.mark.parametrize("version", VERSIONS)
def test_replay_matches_recorded_mautic(
    version: str, session: str, replay_sandboxes: dict[str, Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    line, skips, share = VERSIONS[version]
    replay_sandbox = sandbox_as(replay_sandboxes, line)
    replayer = Replayer(replay_sandbox.url)
    try:
        replayer.control("POST", "/_sandbox/reset", None)
        if session == "flows":  # flows/001 NOTE: the OAuth2 client the recorded session used
            replayer.control(
                "POST",
                "/_sandbox/oauth-clients",
                {"client_id": OAUTH_CLIENT_ID, "client_secret": OAUTH_CLIENT_SECRET},
            )
        failures: list[str] = []
        matched = skipped = total = 0
        for step in load_session(session, version):
            if step.control:
                replayer.control(*step.control)
                continue
            ex = step.exchange
            assert ex is not None
            total += 1
            if ex.name in skips:
                skipped += 1
                continue
            problems = compare(ex, replayer.send(ex), replayer)
            if problems:
                failures.append(
                    f"{ex.name} ({ex.method} {ex.url.removeprefix(RECORDED_BASE)}):\n    "
                    + "\n    ".join(problems[:12])
                )
            else:
                matched += 1
    finally:
        replayer.close()
    replayed = total - skipped
    with capsys.disabled():  # the figure is the point of the test: show it even when output is captured
        print(f"\nfidelity {version}/{session}: {matched}/{replayed} replayed exchanges matched "
              f"({matched / replayed:.1%}), {skipped} skipped")
        if failures and share < 1:
            print("  differing: " + ", ".join(f.split(" ", 1)[0] for f in failures))
    replay_sandbox.check_errors()
    assert matched >= share * replayed, (
        f"{len(failures)} of {replayed} {session} exchanges differ from Mautic {version}:\n"
        + "\n".join(failures)
    )


def test_shape_comparison_reports_what_a_client_would_notice() -> None:
    """The comparison itself must catch the differences the acceptance is about."""
    recorded = {"total": "2", "contacts": {"1": {"id": 1, "tags": []}, "2": {"id": 2, "tags": []}}}
    assert list(shape_differences(recorded, recorded)) == []
    assert list(shape_differences(recorded, {**recorded, "total": 2})) == [
        '$.total: type str recorded, int from sandbox (recorded "2", sandbox 2)'
    ]
    as_array = {"total": "2", "contacts": [{"id": 1, "tags": []}, {"id": 2, "tags": []}]}
    assert "type dict recorded, list" in next(iter(shape_differences(recorded, as_array)))
    renumbered = {"total": "2", "contacts": {"1": {"id": 1, "tags": []}, "3": {"id": 3, "tags": []}}}
    assert list(shape_differences(recorded, renumbered)) == [
        "$.contacts: keys missing from sandbox: 2",
        "$.contacts: keys only in sandbox: 3",
    ]
    assert list(shape_differences({"a": {"createdByUser": " "}}, {"a": {"createdByUser": None}})) == []
    assert re.search(r"array of 2 recorded, 1", next(iter(shape_differences([1, 2], [1]))))


# --- fresh recordings: sessions an acceptance run wrote (GDPR_AS_CODE_RECORD_DIR), replayed the same way ---

FRESH_MIN_MATCH = 0.95
REFERENCE_SESSIONS = {"crud", "flows"}
# Probes of one VERSIONS.md item each, on fresh instances with users, roles and /api/v2 the sandbox does not
# have: checked item by item, on the recordings and on the sandbox, by test_versions_recorded.py.
NOT_SESSIONS = {"versions"}
# What the recording proxy wrote for credentials (tests/acceptance/proxy.py), and what the replay sends.
PLACEHOLDERS = {
    "Basic <credentials>": BASIC_ADMIN,
    "<client_id>": OAUTH_CLIENT_ID,
    "<client_secret>": OAUTH_CLIENT_SECRET,
}
FRESH_CONSOLE = {"segments_update": ("POST", "/_sandbox/segments/rebuild", None)}


def fresh_sessions() -> list[Path]:
    """The sessions beyond the reference conversation, of each version the sandbox models: those kept in the
    repo, and a fresh run's folder named by ``GDPR_AS_CODE_REPLAY_DIR`` (its ``<version>/`` parts)."""
    bases = [RECORDED_ROOT]
    if os.environ.get("GDPR_AS_CODE_REPLAY_DIR"):
        bases.append(Path(os.environ["GDPR_AS_CODE_REPLAY_DIR"]))
    roots = [base / version for base in bases for version in VERSIONS]
    return sorted(
        folder for root in roots if root.is_dir() for folder in root.iterdir()
        if folder.is_dir() and folder.name not in REFERENCE_SESSIONS | NOT_SESSIONS
    )


def load_fresh(folder: Path) -> list[Step]:
    steps: list[Step] = []
    for path in exchange_files(folder):
        if path.suffix == ".txt":
            if "_CONSOLE_" not in path.name:
                continue  # a NOTE on how the session was recorded
            label = path.stem.split("_CONSOLE_", 1)[-1]
            steps.append(Step(exchange_name(path), control=FRESH_CONSOLE[label]))
            continue
        data = read_exchange(path)
        request, response = data["request"], data["response"]
        steps.append(Step(exchange_name(path), exchange=Exchange(
            name=exchange_name(path), method=request["method"], url=request["url"], body=request.get("body"),
            body_kind=request.get("body_kind"), headers=dict(request.get("headers") or {}),
            status=response["status"], content_type=response.get("content_type", ""), raw=response["raw"],
            response_headers=dict(response.get("headers") or {}),
        )))
    return steps


class FreshReplayer(Replayer):
    """A replayer for proxy recordings: credentials were replaced by placeholders, so it sends the sandbox's
    own (Basic admin, and a token of its own for every ``Bearer``)."""

    def __init__(self, base_url: str, token: str) -> None:
        super().__init__(base_url)
        self.token = token
        self.tracked: dict[str, str] = {}  # click tracking's random values recorded -> the sandbox's

    def translate(self, text: str) -> str:
        for placeholder, value in PLACEHOLDERS.items():
            text = text.replace(placeholder, value)
        for recorded, live in self.tracked.items():
            text = text.replace(recorded, live)
        return super().translate(text.replace("Bearer <credentials>", f"Bearer {self.token}"))

    def learn(self, ex: Exchange, answer: httpx.Response) -> None:
        """Also map what Mautic's click tracking makes at random to the sandbox's: each send's tracking hash
        (``/stats/email_stats`` rows, by id), and the redirect ids and click-throughs of the links in an
        email's web view (in order), so the recorded web view and clicks replay on the sandbox's sends."""
        path = urlsplit(ex.url).path
        if ex.status == answer.status_code == 200 and path.startswith("/email/view/"):
            for mine, theirs in zip(_tracked(ex.raw), _tracked(answer.text), strict=False):
                for recorded, live in zip(mine, theirs, strict=True):
                    self.tracked[recorded] = live
        elif ex.status == answer.status_code == 200 and path == "/api/stats/email_stats":
            live = {row["id"]: row for row in answer.json().get("stats") or []}
            for row in json.loads(ex.raw).get("stats") or []:
                if row["id"] in live and row.get("tracking_hash"):
                    self.tracked[row["tracking_hash"]] = live[row["id"]]["tracking_hash"]
        super().learn(ex, answer)


def _tracked(page: str) -> list[tuple[str, str]]:
    """``(/r/{redirect}, ct=...)`` of each tracked link of a web view."""
    return re.findall(r'href="[^"]*(/r/[0-9a-f]+)\?(ct=[^"&]+)', page)


@pytest.mark.parametrize("folder", fresh_sessions(), ids=lambda f: f"{f.parent.parent.name}/{f.name}")
def test_fresh_recordings_replay_on_the_sandbox(
    folder: Path, replay_sandboxes: dict[str, Sandbox], capsys: pytest.CaptureFixture[str]
) -> None:
    replay_sandbox = sandbox_as(replay_sandboxes, VERSIONS[folder.parent.name][0])  # as the version recorded
    setup = Replayer(replay_sandbox.url)
    setup.control("POST", "/_sandbox/reset", None)
    setup.control("POST", "/_sandbox/oauth-clients",
                  {"client_id": OAUTH_CLIENT_ID, "client_secret": OAUTH_CLIENT_SECRET})
    token = httpx.post(f"{replay_sandbox.url}/oauth/v2/token", data={
        "grant_type": "client_credentials", "client_id": OAUTH_CLIENT_ID,
        "client_secret": OAUTH_CLIENT_SECRET}).json()["access_token"]
    setup.close()
    replayer = FreshReplayer(replay_sandbox.url, token)
    failures: list[str] = []
    matched = total = 0
    try:
        for step in load_fresh(folder):
            if step.control:
                replayer.control(*step.control)
                continue
            ex = step.exchange
            assert ex is not None
            total += 1
            problems = compare(ex, replayer.send(ex), replayer)
            if problems:
                failures.append(f"{ex.name} ({ex.method} {ex.url.removeprefix(RECORDED_BASE)}):\n    "
                                + "\n    ".join(problems[:6]))
            else:
                matched += 1
    finally:
        replayer.close()
    with capsys.disabled():
        print(f"\nfidelity {folder.parent.name}/{folder.name}: {matched}/{total} matched")
    replay_sandbox.check_errors()
    assert total and matched >= FRESH_MIN_MATCH * total, (
        f"{total - matched} of {total} exchanges differ from the real Mautic:\n" + "\n".join(failures[:20])
    )
