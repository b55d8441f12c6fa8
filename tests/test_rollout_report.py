"""The combined rollout output: table, details, JSON, Markdown within a comment's size, exit codes,
redaction."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest

from gdpr_as_code.converge.changes import Change, Create, FieldChange, Plan, Update
from gdpr_as_code.errors import MauticAuthError
from gdpr_as_code.redact import Redactor
from gdpr_as_code.rollout.inventory import Instance, Inventory
from gdpr_as_code.rollout.report import (
    exit_code,
    plan_json,
    plan_markdown,
    plan_status,
    redactor_for,
    render_plan_text,
    tracebacks,
)
from gdpr_as_code.rollout.runner import InstanceResult
from gdpr_as_code.spec import Target

CANARY_SECRET = "Pa55-canary-04417"


def instance(name: str) -> Instance:
    env = name.upper().replace("-", "_")
    target = Target(url=f"https://{name}.example", username_env=f"{env}_USER", password_env=f"{env}_PASSWORD")
    return Instance(name, target, MappingProxyType({"region": "eu"}))


def planned(name: str, *changes: Change, mautic: str = "7.0.2") -> InstanceResult[Plan]:
    plan = Plan(f"https://{name}.example", changes, mautic_version=mautic)
    return InstanceResult(instance(name), "ok", plan)


RENAME = Update(kind="segments", key="forget", name="Forget me", mautic_id=7, desired={"name": "Forget me"},
                fields=(FieldChange("name", "Renamed by hand", "Forget me"),), fingerprint="0" * 64)
CREATE = Create(kind="segments", key="export", name="Data requested", desired={"name": "Data requested"},
                fields=(FieldChange("name", None, "Data requested"),))


@pytest.fixture
def results() -> list[InstanceResult[Plan]]:
    refused = MauticAuthError(f"Mautic at https://b.example refused the credentials (sent {CANARY_SECRET})")
    return [
        planned("shop-a", RENAME, CREATE),
        InstanceResult(instance("shop-b"), "failed", error=str(refused), exception=refused),
        planned("shop-c", mautic="5.1.0"),
    ]


@pytest.fixture
def redactor(monkeypatch: pytest.MonkeyPatch) -> Redactor:
    # A variable whose NAME does not look secret: only the inventory says it holds a credential.
    monkeypatch.setenv("SHOP_B_PASSWORD", CANARY_SECRET)
    monkeypatch.setenv("SHOP_B_USER", "admin")
    inventory = Inventory("inv.yaml", (instance("shop-a"), instance("shop-b"), instance("shop-c")))
    return redactor_for(inventory)


def test_text_is_a_table_then_details_then_a_tally(
    results: list[InstanceResult[Plan]], redactor: Redactor
) -> None:
    text = render_plan_text(results, redactor)
    table, *details = text.split("\n\n")
    assert [line.split()[:6] for line in table.splitlines()] == [  # a mixed-version fleet at a glance
        ["INSTANCE", "MAUTIC", "RESULT", "ADD", "CHANGE", "DESTROY"],
        ["shop-a", "7.0.2", "changes", "1", "1", "0"],
        ["shop-b", "-", "failed", "-", "-", "-"],
        ["shop-c", "5.1.0", "no", "changes", "0", "0"],
    ]
    assert details[0] == "=== shop-a ===\nPlan for https://shop-a.example (Mautic 7.0.2):"
    drift = text.index('name: "Renamed by hand" → "Forget me"')
    assert drift < text.index("=== shop-b (failed) ===\nMautic at")
    assert "=== shop-c" not in text  # nothing to say about an instance that matches
    assert details[-1] == "Rollout plan: 3 instance(s): 1 changes, 1 no changes, 1 failed."
    assert CANARY_SECRET not in text and "[redacted]" in text


def test_json_covers_every_instance_with_its_single_instance_plan(
    results: list[InstanceResult[Plan]], redactor: Redactor
) -> None:
    document = json.loads(plan_json(Inventory("inv.yaml", ()), results, redactor))
    assert document["rollout_format_version"] == 1
    assert document["summary"] == {"changes": 1, "no changes": 1, "failed": 1, "skipped": 0}
    a, b, c = document["instances"]
    assert (a["name"], a["status"], a["error"], a["plan"]["counts"]) == (
        "shop-a", "changes", None, {"adopt": 0, "add": 1, "change": 1, "destroy": 0, "suppressed": 0})
    assert a["plan"]["format_version"] and a["plan"]["plan_sha256"]
    assert (b["status"], b["plan"]) == ("failed", None) and CANARY_SECRET not in b["error"]
    assert c["plan"]["changes"] == [] and c["labels"] == {"region": "eu"}


def test_markdown_stays_within_a_pull_request_comment(redactor: Redactor) -> None:
    many = [planned(f"shop-{i:03d}", RENAME, CREATE) for i in range(400)]
    text = plan_markdown(many, redactor)
    assert len(text) < 65_536
    assert text.startswith("**Rollout plan: 400 instance(s): 400 changes.**")
    assert text.count("| `shop-") == 400  # every instance has its table row
    assert "<details><summary><code>shop-000</code>: +1 ~1 -0</summary>" in text
    assert "left out to fit a comment: " in text and "`shop-399`" in text.rsplit("left out", 1)[1]


@pytest.mark.parametrize(
    ("statuses", "detailed", "code"),
    [
        (["no changes", "no changes"], True, 0),
        (["changes", "no changes"], True, 2),
        (["changes", "no changes"], False, 0),
        (["changes", "failed"], True, 1),
        (["applied", "skipped"], False, 1),
    ],
)
def test_exit_codes(statuses: list[str], detailed: bool, code: int) -> None:
    assert exit_code(statuses, detailed) == code


def test_status_of_a_skipped_instance(results: list[InstanceResult[Plan]]) -> None:
    skipped: InstanceResult[Plan] = InstanceResult(instance("shop-d"), "skipped", error="not attempted")
    assert [plan_status(r) for r in [*results, skipped]] == ["changes", "failed", "no changes", "skipped"]


def test_debug_tracebacks_show_bugs_only(redactor: Redactor) -> None:
    try:
        {}["missing"]  # a bug inside one instance's step
    except KeyError as err:
        bug = err
    results: list[InstanceResult[Plan]] = [
        InstanceResult(instance("shop-a"), "failed", error="internal error (KeyError)", exception=bug),
        InstanceResult(instance("shop-b"), "failed", error="refused", exception=MauticAuthError("refused")),
    ]
    text = tracebacks(results, redactor)
    assert text.startswith("=== shop-a: traceback ===\nTraceback (most recent call last):")
    assert "KeyError: 'missing'" in text and "shop-b" not in text
