"""``requests list|fulfil|retention --inventory`` end to end over HTTP: three sandboxes in this process, the
spec applied to each by ``apply --inventory``, people submitting each one's public form, the CLI driven as an
operator drives it.

Each instance keeps its own state folder (named after it) and credentials; a second fulfil does nothing; one
instance unreachable, refusing the password or answering 500 fails alone, with a non-zero exit, while the
others are answered; nothing printed holds an address or a password."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from browser import click, request_form_body, tracked_links
from test_rollout_e2e import closed_port_url, env_prefix, progress_lines, set_credentials, write_inventory

from gdpr_as_code.cli import main
from gdpr_as_code.dsr.erasure import RECEIPT_KEY_ENV
from gdpr_as_code.sandbox import Sandbox

CONFIGS = Path(__file__).resolve().parent.parent / "configs"
NAMES = ("shop-a", "shop-b", "shop-c")
WRITES = ("POST", "PUT", "PATCH", "DELETE")
KEY = "inventory-receipt-key-0123456789abcdef"


@pytest.fixture(scope="module")
def boxes() -> Iterator[list[Sandbox]]:
    started = [Sandbox().start() for _ in NAMES]
    yield started
    for box in started:
        box.stop()


class Fleet:
    """The sandboxes with the spec applied, the inventory naming them, and the operator's folder."""

    def __init__(self, boxes: list[Sandbox], work: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.boxes = dict(zip(NAMES, boxes, strict=True))
        self.work = work
        self.capsys = capsys
        self.spec = work / "gdpr.yaml"
        self.inventory = self.write([{"name": n, "url": b.url, "labels": {"brand": n}} for n, b in
                                     self.boxes.items()])
        self.state = work / "state"

    def write(self, rows: list[dict[str, Any]]) -> Path:
        return write_inventory(self.work / "fleet.yaml", rows)

    def run(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        code = main([*args[:2], str(self.spec), "--inventory", str(self.inventory),
                     "--state-dir", str(self.state), *args[2:]])
        captured = self.capsys.readouterr()
        return code, captured.out, captured.err

    def api(self, name: str) -> httpx.Client:
        return httpx.Client(base_url=self.boxes[name].url, auth=("admin", "sandbox"), timeout=10)

    def control(self, name: str, method: str, path: str, body: Any = None) -> Any:
        answer = httpx.request(method, f"{self.boxes[name].url}/_sandbox{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def submit(self, name: str, person: str, address: str, choice: str, *, click: bool = True) -> int:
        """Post the public request form of instance ``name`` as a browser does; the contact id."""
        with self.api(name) as api:
            form = next(f for f in api.get("/api/forms").json()["forms"] if f["name"] == "GDPR request")
            body = request_form_body(form, person, address, [choice])
            posted = httpx.post(f"{self.boxes[name].url}/form/submit", params={"formId": form["id"]},
                                data=body, timeout=10)
            assert posted.status_code == 302, posted.text
            found = api.get("/api/contacts", params={"search": f"email:{address}"}).json()["contacts"]
            (contact,) = found.values()
        if choice == "forget" and click:  # the person clicks the verification link of the confirmation
            self.confirm(name, int(contact["id"]))
        return int(contact["id"])

    def confirm(self, name: str, contact: int) -> None:
        pages = [m["body"] for m in self.control(name, "GET", "/outbox")["messages"]
                 if int(m["contactId"]) == contact and tracked_links(m["body"])]
        assert pages and click(tracked_links(pages[-1])[0]).status_code == 302

    def cron(self) -> None:
        for name in self.boxes:
            self.control(name, "POST", "/segments/rebuild")

    def writes(self, name: str) -> list[str]:
        log = self.control(name, "GET", "/requests")["requests"]
        return [f"{r['method']} {r['path']}" for r in log if r["method"] in WRITES]

    def clear_logs(self) -> None:
        for name in self.boxes:
            self.control(name, "DELETE", "/requests")


@pytest.fixture
def fleet(boxes: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          capsys: pytest.CaptureFixture[str]) -> Iterator[Fleet]:
    for box in boxes:
        httpx.delete(f"{box.url}/_sandbox/faults", timeout=10).raise_for_status()
        box.reset()
    work = tmp_path / "ops"
    shutil.copytree(CONFIGS, work, ignore=shutil.ignore_patterns("*.example.yaml"))
    set_credentials(monkeypatch, list(NAMES))
    monkeypatch.setenv(RECEIPT_KEY_ENV, KEY)
    made = Fleet(boxes, work, capsys)
    assert main(["apply", str(made.spec), "--inventory", str(made.inventory), "--auto-approve"]) == 0
    made.clear_logs()
    yield made
    for box in boxes:
        box.check_errors()


def people(fleet: Fleet) -> dict[str, dict[str, int]]:
    """One access and one erasure request on each instance, sorted into their segments by the cron."""
    found = {name: {"access": fleet.submit(name, "Ann", f"ann.{name}@example.com", "access"),
                    "erasure": fleet.submit(name, "Bob", f"bob.{name}@example.com", "forget")}
             for name in fleet.boxes}
    fleet.cron()
    return found


def test_list_and_fulfil_on_every_instance_each_with_its_own_state_and_then_nothing_twice(
    fleet: Fleet,
) -> None:
    ids = people(fleet)
    code, out, err = fleet.run("requests", "list", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert [i["name"] for i in document["instances"]] == list(NAMES) and document["summary"] == {"ok": 3}
    for instance in document["instances"]:
        rows = {row["contact"]: row for row in instance["listing"]["requests"]}
        name = instance["name"]
        assert rows[ids[name]["access"]]["type"] == "access"
        assert rows[ids[name]["erasure"]]["email"] == "b***@example.com"

    code, out, err = fleet.run("requests", "list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["INSTANCE", "TYPE", "CONTACT", "EMAIL"]
    assert sum(line.startswith("shop-b ") and "a***@example.com" in line for line in lines) == 1
    assert "Requests: 3 instance(s): 3 ok. 6 pending, 0 overdue." in out
    assert sorted(m[3] for m in progress_lines(err)) == list(NAMES)

    fleet.clear_logs()
    dry = fleet.run("requests", "fulfil", "--dry-run", "--yes")
    assert dry[0] == 0 and "Dry run on" in dry[1] and all(fleet.writes(n) == [] for n in NAMES), dry
    assert not fleet.state.exists() or not list(fleet.state.glob("*/journal.jsonl"))

    code, out, err = fleet.run("requests", "fulfil", "--yes")
    assert code == 0, out + err
    assert out.count("1 done, 0 failed, 0 skipped, 1 waiting for hand-over") == 3, out
    for name in NAMES:
        folder = fleet.state / name
        journal = (folder / "journal.jsonl").read_text()
        assert f"erasure-{ids[name]['erasure']}-" in journal and f"access-{ids[name]['access']}-" in journal
        (receipt,) = [json.loads(line) for line in (folder / "receipts.jsonl").read_text().splitlines()]
        assert receipt["contact"] == ids[name]["erasure"] and receipt["instance"] == fleet.boxes[name].url
        assert f"State: {folder}" in out
        (export,) = (fleet.work / "exports" / name).glob(f"access-{ids[name]['access']}-*")
        assert json.loads((export / "data.json").read_text())["fields"]["email"] == f"ann.{name}@example.com"
        with fleet.api(name) as api:
            assert api.get(f"/api/contacts/{ids[name]['erasure']}").status_code == 404
    assert "@example.com" not in re.sub(r"\w\*\*\*@example\.com", "", out + err)

    assert "--instance NAME" in out  # how to hand an export over on one instance

    fleet.clear_logs()
    code, out, err = fleet.run("requests", "fulfil", "--yes", "--json")
    assert code == 0, err
    document = json.loads(out)
    assert [i["summary"]["counts"]["done"] for i in document["instances"]] == [0, 0, 0]
    assert [i["state_dir"] for i in document["instances"]] == [str(fleet.state / n) for n in NAMES]
    assert all(fleet.writes(name) == [] for name in NAMES)  # nothing sent or deleted twice


def test_one_instance_failing_fails_alone_and_the_others_are_answered(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = people(fleet)
    monkeypatch.setenv(f"{env_prefix('shop-b')}_PASSWORD", "Wr0ng-Pa55-canary-4417")
    code, out, err = fleet.run("requests", "fulfil", "--yes")
    assert code == 1, out + err
    table = {line.split()[0]: line.split()[2] for line in out.split("\n\n")[-2].splitlines()[1:]}
    assert table == {"shop-a": "ok", "shop-b": "failed", "shop-c": "ok"}, out
    assert "Requests: 3 instance(s): 2 ok, 1 failed." in out and "Traceback" not in out + err
    assert "Wr0ng-Pa55-canary-4417" not in out + err
    assert not (fleet.state / "shop-b" / "journal.jsonl").exists()
    for name in ("shop-a", "shop-c"):
        with fleet.api(name) as api:
            assert api.get(f"/api/contacts/{ids[name]['erasure']}").status_code == 404

    monkeypatch.setenv(f"{env_prefix('shop-b')}_PASSWORD", "sandbox")
    fleet.control("shop-a", "POST", "/faults", {"kind": "error", "status": 500, "path": "^/api/segments"})
    fleet.inventory = fleet.write([{"name": "shop-a", "url": fleet.boxes["shop-a"].url},
                                   {"name": "shop-b", "url": fleet.boxes["shop-b"].url},
                                   {"name": "shop-gone", "url": closed_port_url()}])
    set_credentials(monkeypatch, ["shop-gone"])
    code, out, err = fleet.run("requests", "list", "--json")
    assert code == 1, err
    document = json.loads(out)
    assert [i["status"] for i in document["instances"]] == ["failed", "ok", "failed"]
    assert "500" in document["instances"][0]["error"] and document["instances"][2]["error"]
    assert len(document["instances"][1]["listing"]["requests"]) == 2  # shop-b still had both

    code, out, err = fleet.run("requests", "fulfil", "--yes", "--parallelism", "1")
    assert code == 1 and "shop-b" in out, out + err
    with fleet.api("shop-b") as api:
        assert api.get(f"/api/contacts/{ids['shop-b']['erasure']}").status_code == 404


def test_selection_shards_and_retention_as_a_rollout_has_them(
    fleet: Fleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    people(fleet)
    code, out, err = fleet.run("requests", "list", "--select", "brand=shop-c", "--json")
    assert code == 0 and [i["name"] for i in json.loads(out)["instances"]] == ["shop-c"], err
    code, out, err = fleet.run("requests", "list", "--select", "brand=nowhere")
    assert code == 1 and "matches no instance" in err
    code, out, _ = fleet.run("requests", "list", "--shard", "1/2", "--json")
    first = {i["name"] for i in json.loads(out)["instances"]}
    code, out, _ = fleet.run("requests", "list", "--shard", "2/2", "--json")
    assert first | {i["name"] for i in json.loads(out)["instances"]} == set(NAMES)
    code, out, err = fleet.run("requests", "retention")
    assert code == 0 and "0 past retention." in out, out + err
    monkeypatch.delenv(f"{env_prefix('shop-c')}_USER")
    code, out, err = fleet.run("requests", "retention", "--erase", "--yes", "--json")
    statuses = [i["status"] for i in json.loads(out)["instances"]]
    assert code == 1 and statuses == ["ok", "ok", "failed"], out + err
    assert main(["requests", "list", str(fleet.spec), "--shard", "1/2"]) == 64  # needs --inventory
    assert main(["requests", "list", str(fleet.spec), "--inventory", str(fleet.inventory), "--format",
                 "html"]) == 64


def test_one_request_on_one_instance_of_the_inventory(fleet: Fleet) -> None:
    """``delivered``, ``show``, ``verify-erasure`` and ``reimported`` with ``--inventory FILE --instance
    NAME``: that instance's credentials and state folder, as ``fulfil --inventory`` used them."""
    ids = people(fleet)
    code, fulfilled, _ = fleet.run("requests", "fulfil", "--yes")
    assert code == 0
    (export,) = (fleet.work / "exports" / "shop-b").glob("access-*")
    # the export's waiting line names the command that hands it over on its own instance
    assert f"delivered SPEC {export.name} --inventory {fleet.inventory} --instance shop-b`" in fulfilled
    one = ["--instance", "shop-b"]
    code, out, err = fleet.run("requests", "delivered", export.name, *one)
    assert code == 0 and "1 done, 0 failed" in out, out + err
    def notified(name: str) -> list[str]:
        return [m["subject"] for m in fleet.control(name, "GET", "/outbox")["messages"]
                if int(m["contactId"]) == ids[name]["access"]]

    assert len(notified("shop-b")) == len(notified("shop-a")) + 1  # the "your data" email, on shop-b only
    code, out, err = fleet.run("requests", "show", export.name, *one)
    assert code == 0 and "delivered" in out and "a***@example.com" in out, out + err
    assert fleet.run("requests", "verify-erasure", "bob.shop-b@example.com", *one)[0] == 0
    assert fleet.run("requests", "verify-erasure", "bob.shop-b@example.com", "--instance", "shop-a")[0] == 1
    with fleet.api("shop-c") as api:
        api.post("/api/contacts/new", json={"email": "bob.shop-c@example.com"}).raise_for_status()
    code, out, _ = fleet.run("requests", "reimported", "--instance", "shop-c")
    assert code == 2 and "b***@example.com" in out and "bob.shop-c" not in out
    code, _, err = fleet.run("requests", "show", export.name, "--instance", "shop-z")
    assert code == 1 and "use one of: shop-a, shop-b, shop-c" in err
    assert main(["requests", "show", str(fleet.spec), export.name, "--instance", "shop-b"]) == 64


def test_list_shows_each_instances_unverified_erasures_as_one_instance_does(fleet: Fleet) -> None:
    """The STATUS column of ``list --inventory`` is the single-instance one: an erasure nobody confirmed yet
    reads ``unverified`` (with its expiry once fulfil has found the confirmation) on its own instance."""
    fleet.submit("shop-a", "Eve", "eve@example.com", "forget", click=False)
    fleet.cron()
    code, out, err = fleet.run("requests", "list")
    (row,) = [line for line in out.splitlines() if line.startswith("shop-a") and "e***@example.com" in line]
    assert code == 0 and row.rstrip().endswith("unverified"), out + err
    assert fleet.run("requests", "fulfil", "--yes")[0] == 0  # finds the form's confirmation: expiry starts
    _, out, _ = fleet.run("requests", "list")
    (row,) = [line for line in out.splitlines() if line.startswith("shop-a") and "e***@example.com" in line]
    assert "unverified (expires 20" in row
    assert not [line for line in out.splitlines() if line.startswith(("shop-b", "shop-c")) and "***@" in line]
