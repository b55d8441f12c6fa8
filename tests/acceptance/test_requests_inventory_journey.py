"""GDPR requests on two real Mautics at once (``GDPR_AS_CODE_TEST_MAUTIC_*`` and ``…_MAUTIC2_*``; in CI 5.1.0
and 7.0.2), and the audit's re-import finding on one.

People submit each instance's public request form, Mautic's segment cron runs, and one inventory answers
both: ``requests list --inventory`` shows both instances' requests, ``fulfil --inventory`` carries them out,
each instance's journal and receipts in its own state folder, and a second fulfil does nothing. An instance
with a wrong secret, or unreachable, fails alone.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from .conftest import RealMautic
from .test_request_journey import RECEIPT_KEY, confirm, ready, submit
from .test_rollout_journey import inventory_line
from .tooling import Tool

NAMES = ("shop-one", "shop-two")


def fleet(tool: Tool, instances: dict[str, RealMautic], urls: dict[str, str] | None = None
          ) -> tuple[Path, dict[str, str]]:
    """The inventory of both instances (``urls`` replaces some), and the variables naming their secrets."""
    lines, env = ["version: 1", "instances:"], {"GDPR_AS_CODE_RECEIPT_KEY": RECEIPT_KEY}
    for name, instance in instances.items():
        line, secrets = inventory_line(name, instance)
        if urls and name in urls:
            line = line.replace(instance.proxy.url, urls[name])
        lines.append(line)
        env.update(secrets)
    inventory = tool.work / "fleet.yaml"
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return inventory, env


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def instance_rows(out: str) -> dict[str, str]:
    """The per-instance table (the one headed INSTANCE MAUTIC RESULT): instance → result."""
    (block,) = [b for b in out.split("\n\n") if b.startswith("INSTANCE  MAUTIC  RESULT")]
    return {line.split()[0]: line.split()[2] for line in block.splitlines()[1:]}


def test_both_instances_listed_fulfilled_each_in_its_own_state_and_a_failing_one_fails_alone(
    mautic: RealMautic, second_mautic: RealMautic, tool: Tool
) -> None:
    instances = dict(zip(NAMES, (mautic, second_mautic), strict=True))
    inventory, env = fleet(tool, instances)
    spec = tool.spec()
    applied = tool("apply", spec, "--inventory", inventory, "--auto-approve", env=env)
    assert applied.code == 0, applied.out + applied.err
    people: dict[str, dict[str, int]] = {}
    for name, instance in instances.items():
        with instance.api() as api:
            people[name] = {"access": submit(instance, api, "Alice", f"alice.{name}@example.com", "access"),
                            "erasure": submit(instance, api, "Bob", f"bob.{name}@example.com", "forget")}
            confirm(instance, api, people[name]["erasure"])  # Bob clicks the verification link
        instance.cron()
    state = tool.work / "state"
    common = ["--inventory", inventory, "--state-dir", state]

    listed = tool("requests", "list", spec, *common, "--json", env=env)
    assert listed.code == 0, listed.out + listed.err
    document = json.loads(listed.out)
    by_name = {i["name"]: i for i in document["instances"]}
    assert set(by_name) == set(NAMES) and document["summary"] == {"ok": 2}
    for name, instance in instances.items():
        assert by_name[name]["mautic_version"] == instance.version
        rows = {row["contact"]: row for row in by_name[name]["listing"]["requests"]}
        assert rows[people[name]["access"]]["type"] == "access"
        assert rows[people[name]["erasure"]]["email"] == "b***@example.com"
    text = tool("requests", "list", spec, *common, env=env)
    assert text.code == 0 and text.out.startswith("INSTANCE  TYPE"), text.out + text.err
    assert {line.split()[0] for line in text.out.split("\n\n")[0].splitlines()[1:]} == set(NAMES)

    for instance in instances.values():
        instance.proxy.clear()
    done = tool("requests", "fulfil", spec, *common, "--yes", env=env)
    assert done.code == 0, done.out + done.err
    assert done.out.count("1 done, 0 failed, 0 skipped, 1 waiting for hand-over") == 2, done.out
    assert instance_rows(done.out) == {"shop-one": "ok", "shop-two": "ok"}
    assert "alice." not in done.out + done.err and "bob." not in done.out + done.err
    for name, instance in instances.items():
        journal = (state / name / "journal.jsonl").read_text()
        assert f"erasure-{people[name]['erasure']}-" in journal
        assert f"access-{people[name]['access']}-" in journal
        (receipt,) = [json.loads(line) for line in (state / name / "receipts.jsonl").read_text().splitlines()]
        assert receipt["contact"] == people[name]["erasure"]
        assert list((tool.work / "exports" / name).glob(f"access-{people[name]['access']}-*"))
        with instance.api() as api:
            assert api.get(f"/api/contacts/{people[name]['erasure']}").status_code == 404
            assert api.get(f"/api/contacts/{people[name]['access']}").status_code == 200

    for instance in instances.values():
        instance.proxy.clear()
    again = tool("requests", "fulfil", spec, *common, "--yes", env=env)
    assert again.code == 0, again.out + again.err
    assert again.out.count("0 done, 0 failed, 0 skipped, 1 waiting for hand-over") == 2, again.out
    assert mautic.proxy.writes() == [] and second_mautic.proxy.writes() == []  # nothing sent twice

    (export,) = (tool.work / "exports" / "shop-two").glob("access-*")  # handed over on shop-two only
    handed = tool("requests", "delivered", spec, export.name, *common, "--instance", "shop-two", env=env)
    assert handed.code == 0 and "1 done, 0 failed" in handed.out, handed.out + handed.err
    assert mautic.proxy.writes() == [] and second_mautic.proxy.writes()  # the notification, on shop-two

    wrong = {**env, **{k: "wrong-secret-value" for k in env if k.startswith("SHOP_TWO_") and
                       k.endswith(("_SECRET", "_PASSWORD"))}}
    refused = tool("requests", "list", spec, *common, env=wrong)
    assert refused.code == 1 and instance_rows(refused.out) == {"shop-one": "ok", "shop-two": "failed"}
    assert "wrong-secret-value" not in refused.out + refused.err and "Traceback" not in refused.err
    fleet(tool, instances, {"shop-one": closed_port()})  # the same file, shop-one's URL unreachable
    unreachable = tool("requests", "fulfil", spec, *common, "--yes", env=env)
    assert unreachable.code == 1, unreachable.out + unreachable.err
    assert instance_rows(unreachable.out) == {"shop-one": "failed", "shop-two": "ok"}, unreachable.out


def test_audit_names_an_erased_person_imported_again(mautic: RealMautic, tool: Tool) -> None:
    spec, state, env = ready(mautic, tool)
    with mautic.api() as api:
        erin = submit(mautic, api, "Erin", "erin@example.com", "forget")
        confirm(mautic, api, erin)
        mautic.cron()
        erased = tool("requests", "fulfil", spec, "--yes", *state, env=env)
        assert erased.code == 0 and api.get(f"/api/contacts/{erin}").status_code == 404, erased.out
        clean = tool("audit", spec, *state, "--json", env=env)
        assert not [f for f in json.loads(clean.out)["findings"] if f["check"] == "reimported-erased"]
        back = api.post("/api/contacts/new", json={"email": "erin@example.com", "firstname": "Erin"})
        back_id = int(back.json()["contact"]["id"])
    mautic.proxy.clear()
    audited = tool("audit", spec, *state, "--json", env=env)
    assert audited.code == 2, audited.out + audited.err
    (finding,) = [f for f in json.loads(audited.out)["findings"] if f["check"] == "reimported-erased"]
    assert finding["object"] == {"kind": "contact", "id": back_id, "name": "e***@example.com"}
    assert finding["article"] == "Art. 17" and "requests reimported SPEC --erase" in finding["fix"]
    assert f"receipt erasure-{erin}-" in finding["problem"] and "erin@" not in audited.out
    with_receipts = mautic.proxy.api_calls()
    mautic.proxy.clear()
    without = tool("audit", spec, "--state-dir", tool.work / "empty", "--json", env=env)  # no receipts there
    assert without.code == 0, without.out + without.err
    # the re-import check costs one contacts list (the instance has fewer than 500 contacts), nothing else
    assert sorted(with_receipts) == sorted([*mautic.proxy.api_calls(), "GET /api/contacts"]), with_receipts
    assert mautic.proxy.writes() == []
