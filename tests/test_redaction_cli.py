"""The canary test: secrets and personal data planted everywhere must not come out of any command.

Canaries are planted in the environment (passwords, an OAuth2 client secret, the erasure receipt key), in
the spec (credentials in the target URL; a login variable the spec names, whose name does not look secret)
and in the sandbox (contacts' emails and names, submitted through the GDPR form as visitors do). Then every
command of the CLI runs, including failing ones, and every output and every file written is searched for
every canary. The one exception is the access export: the copy of the person's data the person asked for.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from test_requests_e2e import Site  # how a visitor submits the GDPR request form

from gdpr_as_code.cli import main
from gdpr_as_code.sandbox import Sandbox

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PASSWORD = "pw-CANARY-4407a"
CLIENT_SECRET = "cs-CANARY-9b12c"
URL_PASSWORD = "url-CANARY-77d3"
RECEIPT_KEY = "key-CANARY-5e60f"
WRONG_PASSWORD = "wrong-CANARY-1f0e"
CLIENT_ID = "1_canaryclient"
PEOPLE = [  # (first name, last name, email, request)
    ("Zebulonia", "Quetzalcanary", "zebulonia.canary@mail-canary.example", "access"),
    ("Ottokar", "Brzezcanary", "ottokar.canary@mail-canary.example", "forget"),
]
CANARIES = [
    PASSWORD, CLIENT_SECRET, URL_PASSWORD, RECEIPT_KEY, WRONG_PASSWORD,
    *(value for person in PEOPLE for value in person[:3]),
    *(person[2].split("@")[0] for person in PEOPLE),
]


@pytest.fixture(scope="module")
def canary_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose own credentials are canaries."""
    with Sandbox(username="apiuser", password=PASSWORD, oauth_clients={CLIENT_ID: CLIENT_SECRET}) as server:
        yield server


class Work:
    """The operator's folder, and everything the commands printed."""

    def __init__(self, root: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.root = root
        self.capsys = capsys
        self.outputs: dict[str, str] = {}

    def run(self, *args: str) -> int:
        self.capsys.readouterr()
        code = main(list(args))
        out, err = self.capsys.readouterr()
        self.outputs[f"{' '.join(args)} (exit {code})"] = out + err
        return code


@pytest.fixture
def work(
    canary_sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Work:
    canary_sandbox.reset()
    skip = shutil.ignore_patterns("receipts", "*.example.*")
    shutil.copytree(CONFIGS, tmp_path, dirs_exist_ok=True, ignore=skip)
    spec = (tmp_path / "gdpr.yaml").read_text()
    assert "target:\n  auth: basic\n" in spec
    host = canary_sandbox.url.split("://", 1)[1]
    # The spec names its own login variable, whose name does not look secret; a URL with credentials.
    basic = "target:\n  auth: basic\n  username_env: ACME_LOGIN_USER\n  password_env: ACME_LOGIN\n"
    (tmp_path / "gdpr.yaml").write_text(spec.replace("target:\n  auth: basic\n", basic))
    with_url = f"target:\n  auth: oauth2\n  url: http://someone:{URL_PASSWORD}@{host}\n"
    (tmp_path / "gdpr-url.yaml").write_text(spec.replace("target:\n  auth: basic\n", with_url))
    instance = f"  - name: canary\n    url: {canary_sandbox.url}\n    auth: basic\n"
    logins = "    username_env: ACME_LOGIN_USER\n    password_env: ACME_LOGIN\n"
    (tmp_path / "inventory.yaml").write_text(f"version: 1\ninstances:\n{instance}{logins}")
    oauth = "target:\n  auth: oauth2\n"
    (tmp_path / "gdpr-oauth.yaml").write_text(spec.replace("target:\n  auth: basic\n", oauth))
    for name, value in {
        "MAUTIC_URL": canary_sandbox.url,
        "ACME_LOGIN_USER": "apiuser",
        "ACME_LOGIN": PASSWORD,
        "MAUTIC_USERNAME": "apiuser",
        "MAUTIC_PASSWORD": PASSWORD,
        "MAUTIC_CLIENT_ID": CLIENT_ID,
        "MAUTIC_CLIENT_SECRET": CLIENT_SECRET,
        "GDPR_AS_CODE_RECEIPT_KEY": RECEIPT_KEY,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return Work(tmp_path, capsys)


def submit_requests(url: str, work: Path) -> None:
    """The canary people ask for their data and for erasure through the form, as browsers do."""
    with httpx.Client(base_url=url, auth=("apiuser", PASSWORD), timeout=10) as api, httpx.Client(
        base_url=url + "/_sandbox", timeout=10
    ) as control:
        site = Site(url, work / "gdpr.yaml", work / "state", api, control)
        for first, last, address, choice in PEOPLE:
            contact = site.submit(f"{first} {last}", address, choice)
            names = {"firstname": first, "lastname": last}
            api.patch(f"/api/contacts/{contact}/edit", json=names).raise_for_status()
        site.rebuild()


def leaks(text: str) -> list[str]:
    return [canary for canary in CANARIES if canary.lower() in text.lower()]


def test_no_command_prints_or_writes_a_canary(
    work: Work, canary_sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = work.run
    inputs = {p for p in work.root.rglob("*") if p.is_file()}
    # spec and plan files
    assert run("validate", "gdpr.yaml") == 0
    assert run("schema") == 0
    assert run("plan", "gdpr.yaml") == 0
    assert run("plan", "gdpr.yaml", "--json") == 0
    assert run("plan", "gdpr.yaml", "--format", "markdown", "--out", "gdpr.plan") == 0
    assert run("plan", "gdpr-oauth.yaml", "--detailed-exitcode") == 2  # OAuth2 with the canary secret
    assert run("validate", "gdpr-url.yaml") == 1  # credentials in the URL are refused, not echoed
    assert run("plan", "gdpr-url.yaml") == 1
    assert run("show", "gdpr.plan") == 0
    assert run("show", "gdpr.plan", "--json") == 0
    assert run("show", "gdpr.plan", "--format", "markdown") == 0
    # apply, receipts, history
    assert run("apply", "gdpr.plan", "--receipts", "receipts", "--remote-lock") == 0
    assert run("apply", "gdpr.yaml", "--auto-approve") == 0
    assert run("history", "receipts") == 0
    assert run("history", "receipts", "--json", "--key", "request_to_be_forgotten") == 0
    # GDPR requests of the canary people
    submit_requests(canary_sandbox.url, work.root)
    assert run("requests", "list", "gdpr.yaml") == 0
    assert run("requests", "list", "gdpr.yaml", "--json") == 0
    listed = json.loads(list(work.outputs.values())[-1])["requests"]
    access = next(row["request"] for row in listed if row["type"] == "access")
    assert run("requests", "extend", "gdpr.yaml", access, "--reason", "many requests", "--days", "30") == 0
    assert run("requests", "fulfil", "gdpr.yaml", "--dry-run") == 0
    assert run("requests", "fulfil", "gdpr.yaml", "--yes") == 0
    assert "1 done, 0 failed, 0 skipped, 1 waiting" in list(work.outputs.values())[-1]
    assert run("requests", "delivered", "gdpr.yaml", access) == 0
    assert run("requests", "show", "gdpr.yaml", access) == 0
    assert run("requests", "show", "gdpr.yaml", access, "--json") == 0
    assert run("requests", "verify-erasure", "gdpr.yaml", PEOPLE[1][2]) == 0
    assert run("requests", "reimported", "gdpr.yaml") == 0
    assert run("requests", "fulfil", "gdpr.yaml", "--yes", "--json") == 0
    assert run("requests", "retention", "gdpr.yaml") in (0, 2)
    # the inventory forms of plan and apply, the instance with its own login variables
    assert run("plan", "gdpr.yaml", "--inventory", "inventory.yaml", "--format", "markdown") == 0
    assert run("plan", "gdpr.yaml", "--inventory", "inventory.yaml", "--json") == 0
    assert run("apply", "gdpr.yaml", "--inventory", "inventory.yaml", "--auto-approve") == 0
    assert run("demo") == 0  # (``sandbox`` serves until Ctrl-C: it is the demo's server, covered here)
    # errors: wrong password, stale plan file, foreign id, a file that is not a plan
    assert run("import", "segment.request_to_be_forgotten", "999", "--spec", "gdpr.yaml") == 1
    assert run("apply", "gdpr.plan") == 1
    assert run("show", "gdpr.yaml") == 1
    monkeypatch.setenv("ACME_LOGIN", WRONG_PASSWORD)
    assert run("plan", "gdpr.yaml") == 1
    assert run("--debug", "plan", "gdpr.yaml") == 1

    assert all(text.strip() for text in work.outputs.values())  # every command said something
    found = {command: leaks(text) for command, text in work.outputs.items() if leaks(text)}
    assert found == {}
    exports = work.root / "exports"
    files = [p for p in work.root.rglob("*") if p.is_file() and p not in inputs and exports not in p.parents]
    assert any(p.parent.name == "receipts" for p in files)
    found = {str(p.relative_to(work.root)): leaks(p.read_text(errors="replace")) for p in files}
    assert {name: canaries for name, canaries in found.items() if canaries} == {}
    assert re.search(r"zebulonia\.canary", "\n".join(p.read_text() for p in exports.rglob("*.json")), re.I)
