"""The tool says which Mautic it talks to: the client keeps the ``Mautic-Version`` header, plans (text,
Markdown, JSON), receipts and the rollout table show it, and an untested version is warned about once."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jsonschema
import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.mautic import versions
from gdpr_as_code.mautic.auth import BasicAuth
from gdpr_as_code.mautic.client import MauticClient

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "configs" / "gdpr.yaml"


@pytest.mark.parametrize(
    ("version", "tested"),
    [("5.1.0", True), ("5.1.4", True), ("7.0.2", True), ("7.0.0-beta2", True), ("5.2.1", False),
     ("6.0.3", False), ("7.1.3", False), ("7.2.1", False), ("", False), ("unknown", False)],
)
def test_tested_lines_are_5_1_and_7_0(version: str, tested: bool) -> None:
    assert versions.is_tested(version) is tested


def test_at_least_reads_versions_and_treats_unknown_as_old() -> None:
    assert versions.at_least("7.0.2", 5, 2) and versions.at_least("5.2.0", 5, 2)
    assert not versions.at_least("5.1.0", 5, 2) and not versions.at_least(None, 5, 2)


def test_an_untested_version_is_warned_about_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(versions, "_warned", set())
    said: list[str] = []
    for name in ("https://a.example", "https://b.example"):
        versions.warn_if_untested("7.1.3", name, said.append)
    versions.warn_if_untested("7.0.2", "https://c.example", said.append)
    assert len(said) == 1
    assert "https://a.example runs Mautic 7.1.3" in said[0] and "tested on 5.1.x, 7.0.x" in said[0]


def test_the_client_keeps_the_version_header_and_warns_once_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # No sandbox answers as 7.1 (it models the tested lines only), so this one answer is made by hand.
    monkeypatch.setattr(versions, "_warned", set())

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"total": 0, "lists": []}, headers={"Mautic-Version": "7.1.3"})

    with MauticClient("https://m.example", BasicAuth("u", "p"), transport=httpx.MockTransport(answer)) as c:
        assert c.mautic_version is None
        c.get("/segments")
        c.get("/segments")
        assert c.mautic_version == "7.1.3"
    assert capsys.readouterr().err.count("runs Mautic 7.1.3") == 1


def test_plan_text_markdown_json_and_receipt_name_the_version(
    sandbox_env: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["plan", str(SPEC_PATH)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"Plan for {sandbox_env['MAUTIC_URL']} (Mautic 5.1.0):\n") and err == ""
    assert main(["plan", str(SPEC_PATH), "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith(f"**Plan for `{sandbox_env['MAUTIC_URL']}` (Mautic 5.1.0): ")
    assert main(["plan", str(SPEC_PATH), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, json.loads((ROOT / "schemas" / "plan.schema.json").read_text()))
    assert document["mautic_version"] == "5.1.0"

    assert main(["apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(tmp_path)]) == 0
    (receipt,) = tmp_path.glob("*.json")
    assert json.loads(receipt.read_text())["mautic_version"] == "5.1.0"
    capsys.readouterr()
    assert main(["plan", str(SPEC_PATH), "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith(
        f"**No changes.** Mautic 5.1.0 at `{sandbox_env['MAUTIC_URL']}` matches the spec."
    )
