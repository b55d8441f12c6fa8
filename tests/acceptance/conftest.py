"""The acceptance suite: the user's journeys against whatever real Mautic the environment names.

``GDPR_AS_CODE_TEST_MAUTIC_URL`` with ``…_USERNAME``/``…_PASSWORD`` and/or ``…_CLIENT_ID``/``…_CLIENT_SECRET``
name the instance; ``…_RESET`` is a shell command that empties it, ``…_CRON`` one that runs Mautic's
``mautic:segments:update``. ``GDPR_AS_CODE_TEST_MAUTIC2_*`` name a second instance for the rollout journey.
Unset, ``tests/conftest.py`` leaves the suite out and says so in one line. Without a reset command every test
deletes what it created, so the instance is left as it was found. ``GDPR_AS_CODE_RECORD_DIR`` writes every
exchange the tool makes, per test, in the layout of ``tests/recorded`` (the fidelity test replays them).

The tool runs as a user runs it, a ``gdpr-as-code`` process, through a proxy that counts its requests.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from .proxy import RecordingProxy
from .tooling import PREFIX, Tool

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
# What a test may create; each is listed in one call, and deleted again when there is no reset command.
KINDS = {
    "segments": ("/api/segments", "lists", "/api/segments/{id}/delete"),
    "fields": ("/api/fields/contact", "fields", "/api/fields/contact/{id}/delete"),
    "forms": ("/api/forms", "forms", "/api/forms/{id}/delete"),
    "focus": ("/api/focus", "focus", "/api/focus/{id}/delete"),
    "emails": ("/api/emails", "emails", "/api/emails/{id}/delete"),
    "contacts": ("/api/contacts", "contacts", "/api/contacts/{id}/delete"),
}


@dataclass
class RealMautic:
    """One real Mautic, reached directly (``api``) or through the counting ``proxy`` (the tool's way)."""

    prefix: str
    url: str
    username: str | None
    password: str | None
    client_id: str | None
    client_secret: str | None
    reset_command: str | None
    cron_command: str | None
    proxy: RecordingProxy
    version: str = ""
    _token: str | None = field(default=None, repr=False)

    @classmethod
    def from_env(cls, prefix: str) -> RealMautic | None:
        url = os.environ.get(f"{prefix}_URL")
        if not url:
            return None
        get = os.environ.get
        return cls(
            prefix, url.rstrip("/"), get(f"{prefix}_USERNAME"), get(f"{prefix}_PASSWORD"),
            get(f"{prefix}_CLIENT_ID"), get(f"{prefix}_CLIENT_SECRET"), get(f"{prefix}_RESET"),
            get(f"{prefix}_CRON"), RecordingProxy(url).start(),
        )

    @property
    def has_oauth2(self) -> bool:
        return bool(self.client_id and self.client_secret)

    def token(self) -> str:
        if self._token is None:
            answer = httpx.post(f"{self.url}/oauth/v2/token", data={
                "grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret}, timeout=60)
            answer.raise_for_status()
            self._token = str(answer.json()["access_token"])
        return self._token

    def api(self) -> httpx.Client:
        """A client for what a person does by hand (drift, form posts); Bearer when it can. It goes through
        the proxy, so a recording holds the hand edits too (a replay needs them); tests count writes only
        after ``proxy.clear()``."""
        if self.has_oauth2:
            return httpx.Client(base_url=self.proxy.url, timeout=120,
                                headers={"Authorization": f"Bearer {self.token()}"})
        assert self.username and self.password, f"{self.prefix}: set _USERNAME/_PASSWORD or _CLIENT_ID"
        return httpx.Client(base_url=self.proxy.url, timeout=120, auth=(self.username, self.password))

    def env(self, auth: str) -> dict[str, str]:
        """The variables a user sets to point the tool at this instance (through the proxy)."""
        env = {"MAUTIC_URL": self.proxy.url}
        if auth == "oauth2":
            env.update(MAUTIC_CLIENT_ID=self.client_id or "", MAUTIC_CLIENT_SECRET=self.client_secret or "")
        else:
            env.update(MAUTIC_USERNAME=self.username or "", MAUTIC_PASSWORD=self.password or "")
        return env

    def preferred_auth(self) -> str:
        return "oauth2" if self.has_oauth2 else "basic"

    def reset(self) -> None:
        assert self.reset_command
        subprocess.run(self.reset_command, shell=True, check=True, capture_output=True, timeout=120)
        self._token = None  # a reset drops the issued tokens

    def cron(self) -> None:
        """Mautic's segment cron, as the operator's crontab runs it."""
        if not self.cron_command:
            pytest.skip(f"{self.prefix}_CRON is not set: this journey needs mautic:segments:update")
        subprocess.run(self.cron_command, shell=True, check=True, capture_output=True, timeout=300)
        self.proxy.note("segments_update", "php bin/console mautic:segments:update")

    def inventory(self) -> dict[str, set[int]]:
        """The ids of every object of the kinds a test may create, one list call per kind."""
        with self.api() as api:
            found: dict[str, set[int]] = {}
            for kind, (path, key, _) in KINDS.items():
                body = api.get(path, params={"limit": 5000, "minimal": "true"}).raise_for_status().json()
                rows = body.get(key) or {}
                found[kind] = {int(r["id"]) for r in (rows.values() if isinstance(rows, dict) else rows)}
            return found

    def delete_new(self, before: dict[str, set[int]]) -> None:
        """Delete what appeared since ``before``: forms first (they use emails, fields and segments)."""
        after = self.inventory()
        with self.api() as api:
            for kind in ("forms", "focus", "contacts", "segments", "emails", "fields"):
                for new_id in sorted(after[kind] - before[kind]):
                    api.delete(KINDS[kind][2].format(id=new_id))


def _instance(prefix: str) -> RealMautic | None:
    made = RealMautic.from_env(prefix)
    if made is not None:
        made.version = _version_of(made)
    return made


def _version_of(instance: RealMautic) -> str:
    with instance.api() as api:
        return api.get("/api/segments", params={"limit": 1}).headers.get("Mautic-Version", "unknown")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Journeys on a real Mautic take minutes, not the unit tests' two."""
    for item in items:
        if "acceptance" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.timeout(900))


@pytest.fixture(scope="session")
def _primary() -> Iterator[RealMautic]:
    instance = _instance(PREFIX)
    if instance is None:
        pytest.skip(f"{PREFIX}_URL is not set: the acceptance suite needs a real Mautic (README, Testing)")
    yield instance
    instance.proxy.stop()


@pytest.fixture(scope="session")
def _secondary() -> Iterator[RealMautic | None]:
    instance = _instance(PREFIX + "2")
    yield instance
    if instance is not None:
        instance.proxy.stop()


def _fresh(instance: RealMautic, request: pytest.FixtureRequest) -> Iterator[RealMautic]:
    """The instance empty (reset) or as found (cleaned after), recording this test when asked to."""
    record_root = os.environ.get("GDPR_AS_CODE_RECORD_DIR")
    before: dict[str, set[int]] | None = None
    if instance.reset_command:
        instance.reset()
    else:
        before = instance.inventory()
    if record_root:
        name = re.sub(r"\W+", "_", request.node.name).strip("_")
        instance.proxy.record_into(Path(record_root) / instance.version / name)
    instance.proxy.clear()
    try:
        yield instance
    finally:
        instance.proxy.record_into(None)
        if before is not None:
            instance.delete_new(before)


@pytest.fixture
def mautic(_primary: RealMautic, request: pytest.FixtureRequest) -> Iterator[RealMautic]:
    yield from _fresh(_primary, request)


@pytest.fixture
def second_mautic(_secondary: RealMautic | None, request: pytest.FixtureRequest) -> Iterator[RealMautic]:
    if _secondary is None:
        pytest.skip(f"{PREFIX}2_URL is not set: this journey needs a second real Mautic")
    yield from _fresh(_secondary, request)


@pytest.fixture
def tool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Tool:
    work = tmp_path / "ops"
    shutil.copytree(CONFIGS, work)
    monkeypatch.setenv("GDPR_AS_CODE_LOCK_DIR", str(tmp_path / "locks"))
    return Tool(work)
