"""The tool on both Mautic lines it is tested on, through the sandbox answering as 5.1 and as 7.0: a converged
plan reads the same 5 times on both (nothing 7.0 adds shows as a change), and an email's preheader is
managed where Mautic has one and refused where it has not.

Each difference the 7.0 sandbox models was measured on real 7.0.2 (tests/recorded/7.0.2, replayed by
test_sandbox_fidelity.py); ``tests/test_versions_recorded.py`` keeps the per-item checks of VERSIONS.md."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gdpr_as_code import converge
from gdpr_as_code.errors import PlanError
from gdpr_as_code.mautic.auth import BasicAuth
from gdpr_as_code.mautic.client import MauticClient, RetryPolicy
from gdpr_as_code.sandbox import Sandbox
from gdpr_as_code.spec import load_spec

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
PREHEADER = "We answer within one month."
ENV = {"MAUTIC_URL": "http://127.0.0.1"}


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, Sandbox]]:
    """One sandbox per line for the module."""
    started = {line: Sandbox(mautic_version=line).start() for line in ("5.1", "7.0")}
    yield started
    for sandbox in started.values():
        sandbox.stop()


def connect(sandbox: Sandbox) -> MauticClient:
    """A client on a freshly reset ``sandbox``; retries wait microseconds."""
    sandbox.reset()
    retry = RetryPolicy(base_delay=0.001, max_delay=0.01)
    return MauticClient(sandbox.url, BasicAuth("admin", "sandbox"), retry=retry)


@pytest.fixture(params=["5.1", "7.0"])
def line_sandbox(request: pytest.FixtureRequest, sandboxes: dict[str, Sandbox]) -> Sandbox:
    return sandboxes[request.param]


@pytest.fixture
def client(line_sandbox: Sandbox) -> Iterator[MauticClient]:
    with connect(line_sandbox) as made:
        yield made


@pytest.fixture
def client70(sandboxes: dict[str, Sandbox]) -> Iterator[MauticClient]:
    with connect(sandboxes["7.0"]) as made:
        yield made


@pytest.fixture
def client51(sandboxes: dict[str, Sandbox]) -> Iterator[MauticClient]:
    with connect(sandboxes["5.1"]) as made:
        yield made


def spec_copy(tmp_path: Path, preheader: str | None = None) -> Path:
    """configs/ copied, with a preheader on the request-received email when given."""
    folder = tmp_path / "configs"
    shutil.copytree(CONFIGS, folder)
    path = folder / "gdpr.yaml"
    if preheader is not None:
        text = path.read_text()
        line = "    subject: We received your request\n"
        path.write_text(text.replace(line, f"{line}    preheader: {preheader}\n", 1))
    return path


def test_a_converged_plan_makes_5_requests_and_no_change_on_either_line(
    client: MauticClient, line_sandbox: Sandbox, tmp_path: Path
) -> None:
    spec = load_spec(spec_copy(tmp_path), env=ENV)
    converge.apply(converge.plan(spec, client), client)
    client.stats.reset()
    again = converge.plan(spec, client)
    assert not again.changes, [c.address for c in again.changes]  # projects, fieldWidth... never show
    assert client.stats.total == 5
    assert again.mautic_version == line_sandbox.app.profile.header


def test_a_preheader_is_created_then_converges_then_repairs_on_7(
    client70: MauticClient, tmp_path: Path
) -> None:
    client = client70
    spec = load_spec(spec_copy(tmp_path, PREHEADER), env=ENV)
    first = converge.plan(spec, client)
    (made,) = [c for c in first.changes if c.address == "email.request_received"]
    assert ("preheaderText", PREHEADER) in [(f.path, f.after) for f in made.fields]
    converge.apply(first, client)
    assert not converge.plan(spec, client).changes
    email = next(e for e in client.list_all("/emails", "emails") if e["name"] == "GDPR request received")
    assert email["preheaderText"] == PREHEADER
    client.patch(f"/emails/{email['id']}/edit", {"preheaderText": "Changed by hand"})
    (repair,) = converge.plan(spec, client).changes
    assert [(f.path, f.before, f.after) for f in repair.fields] == [
        ("preheaderText", "Changed by hand", PREHEADER)
    ]


def test_a_preheader_on_5_1_is_refused_with_the_spec_line_and_the_fix(
    client51: MauticClient, tmp_path: Path
) -> None:
    spec = load_spec(spec_copy(tmp_path, PREHEADER), env=ENV)
    with pytest.raises(PlanError) as refused:
        converge.plan(spec, client51)
    message = str(refused.value)
    assert f"email.request_received ({tmp_path / 'configs' / 'gdpr.yaml'}:" in message
    assert "preheader needs Mautic 5.2 or later, and this instance runs Mautic 5.1.0" in message
    assert "Remove preheader from the spec, or upgrade Mautic." in message


def test_without_a_preheader_in_the_spec_the_one_in_mautic_is_left_alone(
    client70: MauticClient, tmp_path: Path
) -> None:
    spec = load_spec(spec_copy(tmp_path), env=ENV)
    converge.apply(converge.plan(spec, client70), client70)
    emails = client70.list_all("/emails", "emails")
    email = next(e for e in emails if e["name"] == "GDPR request received")
    client70.patch(f"/emails/{email['id']}/edit", {"preheaderText": "Written in Mautic"})
    assert not converge.plan(spec, client70).changes
