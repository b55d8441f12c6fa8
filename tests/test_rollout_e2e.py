"""Rollout end to end over HTTP: 20 sandboxes in this process, driven through the CLI as a user would.

Mixed states (fresh, converged, drifted, unreachable, wrong password, missing credential variable) give the
right combined plan and exit code; a failing canary wave stops the rollout before the next wave writes
anything; a rerun resumes, and converged instances make no writes (counted in each sandbox's request log).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.rollout.inventory import shard_of
from gdpr_as_code.sandbox import Sandbox

SPEC = Path(__file__).resolve().parents[1] / "configs" / "gdpr.yaml"
SANDBOXES = 20
WRITES = ("POST", "PUT", "PATCH", "DELETE")
WRONG_PASSWORD = "Wr0ng-Pa55-canary-7731"


HTTP = httpx.Client(timeout=10)  # one client for the controls: a new one per call costs an SSL context


@pytest.fixture(scope="module")
def boxes() -> Iterator[list[Sandbox]]:
    """Twenty sandboxes, started once for the module (each test resets them)."""
    started = [Sandbox().start() for _ in range(SANDBOXES)]
    yield started
    for box in started:
        box.stop()


@pytest.fixture
def fresh(boxes: list[Sandbox]) -> Iterator[list[Sandbox]]:
    """The sandboxes as fresh installs with empty request logs and no faults (apply locks: see conftest)."""
    for box in boxes:
        _control(box, "DELETE", "/faults")
        box.reset()
        _control(box, "DELETE", "/requests")
    yield boxes
    for box in boxes:
        box.check_errors()


def _control(box: Sandbox, method: str, path: str, body: Any = None) -> Any:
    answer = HTTP.request(method, f"{box.url}/_sandbox{path}", json=body)
    answer.raise_for_status()
    return answer.json()


def writes(box: Sandbox) -> list[str]:
    """The write requests in a sandbox's own log."""
    log = _control(box, "GET", "/requests")["requests"]
    return [f"{r['method']} {r['path']}" for r in log if r["method"] in WRITES]


def requests_made(box: Sandbox) -> int:
    return int(_control(box, "GET", "/requests")["total"])


def clear_logs(boxes: list[Sandbox]) -> None:
    for box in boxes:
        _control(box, "DELETE", "/requests")


def closed_port_url() -> str:
    """A loopback URL where nothing listens: an unreachable Mautic."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def write_inventory(path: Path, rows: list[dict[str, Any]], waves: list[str] | None = None) -> Path:
    """An inventory file: each row has name, url and labels; credentials are SHOP_<NAME>_USER/_PASSWORD."""
    lines = ["version: 1"]
    if waves:
        lines.append(f"rollout: {{waves: [{', '.join(waves)}]}}")
    lines.append("instances:")
    for row in rows:
        env = env_prefix(row["name"])
        labels = ", ".join(f"{k}: {v}" for k, v in row.get("labels", {}).items())
        lines.append(
            f"  - {{name: {row['name']}, url: '{row['url']}', username_env: {env}_USER, "
            f"password_env: {env}_PASSWORD, labels: {{{labels}}}, "
            f"variables: {{company: '{row['name']} Ltd'}}}}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def env_prefix(name: str) -> str:
    return "SHOP_" + re.sub(r"\W", "_", name).upper()


def set_credentials(monkeypatch: pytest.MonkeyPatch, names: list[str], password: str = "sandbox") -> None:
    for name in names:
        monkeypatch.setenv(f"{env_prefix(name)}_USER", "admin")
        monkeypatch.setenv(f"{env_prefix(name)}_PASSWORD", password)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


PROGRESS = re.compile(r"\[ *(\d+)/(\d+)\] (\S+): (.+) \(\d+\.\ds\)")


def progress_lines(err: str) -> list[re.Match[str]]:
    """Every stderr line that is a progress line; asserts there is no other garbage among them."""
    lines = [line for line in err.splitlines() if line.startswith("[")]
    matches = [PROGRESS.fullmatch(line) for line in lines]
    bad = [line for line, match in zip(lines, matches, strict=True) if not match]
    assert not bad, f"malformed progress lines: {bad}"
    return [m for m in matches if m]


def test_mixed_states_give_one_combined_plan_and_the_right_exit_code(
    fresh: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    states = ["fresh"] * 5 + ["converged"] * 8 + ["drifted"] * 4 + ["badpass"] * 2 + ["nocreds"]
    rows = [{"name": f"shop-{i:02d}", "url": box.url, "labels": {"state": state}}
            for i, (box, state) in enumerate(zip(fresh, states, strict=True))]
    rows.append({"name": "shop-down", "url": closed_port_url(), "labels": {"state": "down"}})
    inventory = write_inventory(tmp_path / "inventory.yaml", rows)
    names = {state: [r["name"] for r in rows if r["labels"]["state"] == state] for state in {*states, "down"}}
    set_credentials(monkeypatch, names["fresh"] + names["converged"] + names["drifted"] + names["down"])
    set_credentials(monkeypatch, names["badpass"], WRONG_PASSWORD)
    receipts = str(tmp_path / "receipts")

    # Converge some instances through a rollout of their own, then drift four of them by hand.
    code, _, _ = run(capsys, "apply", str(SPEC), "--inventory", str(inventory), "--select", "state=converged",
                     "--auto-approve", "--receipts", receipts)
    assert code == 0
    code, _, _ = run(capsys, "apply", str(SPEC), "--inventory", str(inventory), "--select", "state=drifted",
                     "--auto-approve", "--receipts", receipts)
    assert code == 0
    for box in fresh[13:17]:
        with httpx.Client(base_url=box.url + "/api", auth=("admin", "sandbox")) as api:
            segments = api.get("/segments", params={"limit": 0}).json()["lists"]
            segment_id = next(iter(segments))
            renamed = api.patch(f"/segments/{segment_id}/edit", json={"name": "Renamed by hand"})
            assert renamed.status_code == 200
    clear_logs(fresh)

    code, out, err = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--detailed-exitcode",
                         "--parallelism", "6")
    assert code == 1  # some instances failed
    cells = {line.split()[0]: line.split()[1:] for line in out.split("\n\n")[0].splitlines()[1:]}
    answered = [*names["fresh"], *names["converged"], *names["drifted"]]
    assert {cells[name][0] for name in answered} == {"5.1.0"}  # the MAUTIC column: the sandbox's version
    assert cells["shop-down"][0] == "-"
    table = {name: row[1:] for name, row in cells.items()}
    for name in names["fresh"]:
        assert table[name][0] == "changes" and int(table[name][1]) > 0  # everything to add
    for name in names["converged"]:
        assert table[name][:5] == ["no", "changes", "0", "0", "0"]
    for name in names["drifted"]:
        assert table[name][:4] == ["changes", "0", "1", "0"]  # one segment to rename back
    for name in names["badpass"]:
        assert table[name][0] == "failed" and "refused the credentials" in " ".join(table[name])
    assert table["shop-down"][0] == "failed"
    assert table["shop-19"][0] == "failed"
    assert f"{env_prefix('shop-19')}_USER and {env_prefix('shop-19')}_PASSWORD are not set" in out
    assert "Rollout plan: 21 instance(s): 9 changes, 8 no changes, 4 failed." in out
    assert "Renamed by hand" in out  # the drift is shown in the drifted instances' details
    lines = progress_lines(err)
    assert sorted(m[3] for m in lines) == sorted(r["name"] for r in rows)
    assert [int(m[1]) for m in lines] == list(range(1, 22)) and {m[2] for m in lines} == {"21"}
    assert WRONG_PASSWORD not in out + err
    # Plans read only; the instance without credentials was never even contacted.
    assert all(writes(box) == [] for box in fresh)
    assert requests_made(fresh[19]) == 0

    # Healthy instances only: 2 when any has changes, 0 when all match.
    code, out, _ = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--select", "state=drifted",
                       "--detailed-exitcode")
    assert code == 2
    code, out, _ = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--select",
                       "state=converged", "--detailed-exitcode")
    assert code == 0 and "Rollout plan: 8 instance(s): 8 no changes." in out

    # JSON covers the whole inventory, each plan in the single-instance plan format.
    code, out, _ = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--json")
    document = json.loads(out)
    assert code == 1
    assert document["summary"] == {"changes": 9, "no changes": 8, "failed": 4, "skipped": 0}
    by_name = {item["name"]: item for item in document["instances"]}
    counts = by_name["shop-13"]["plan"]["counts"]
    assert counts == {"adopt": 0, "add": 0, "change": 1, "destroy": 0, "suppressed": 0}
    assert by_name["shop-17"]["plan"] is None and "refused the credentials" in by_name["shop-17"]["error"]
    assert WRONG_PASSWORD not in out


def test_a_missing_credential_stops_apply_before_any_write_anywhere(
    fresh: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"name": f"shop-{i:02d}", "url": box.url} for i, box in enumerate(fresh[:6])]
    inventory = write_inventory(tmp_path / "inventory.yaml", rows)
    set_credentials(monkeypatch, [r["name"] for r in rows[:5]])
    args = ["apply", str(SPEC), "--inventory", str(inventory), "--auto-approve",
            "--receipts", str(tmp_path / "r")]

    code, out, _ = run(capsys, *args)
    assert code == 1
    assert "SHOP_SHOP_05_PASSWORD are not set" in out
    rows = out.split("\n\n")[-2].splitlines()[1:]
    assert [row.split()[3] for row in rows] == ["skipped"] * 5 + ["failed"]
    assert "not attempted: 1 instance(s) failed before any write, so nothing was written anywhere" in rows[0]
    assert all(writes(box) == [] for box in fresh)

    code, out, _ = run(capsys, *args, "--continue-on-error")
    assert code == 1  # shop-05 still failed, but the others were rolled out
    assert all(writes(box) for box in fresh[:5]) and requests_made(fresh[5]) == 0
    assert out.count("Apply complete!") == 5


def test_a_failing_canary_stops_the_rollout_and_a_rerun_resumes(
    fresh: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"name": f"shop-{i:02d}", "url": box.url, "labels": {"wave": "canary" if i == 0 else "main"}}
            for i, box in enumerate(fresh[:8])]
    inventory = write_inventory(tmp_path / "inventory.yaml", rows, waves=["canary", "main"])
    set_credentials(monkeypatch, [r["name"] for r in rows])
    canary, main_wave = fresh[0], fresh[1:8]
    # The canary's Mautic rejects every create (a broken plugin, say): its apply fails part-way.
    _control(canary, "POST", "/faults", {"kind": "error", "status": 500, "methods": ["POST"]})
    args = ["apply", str(SPEC), "--inventory", str(inventory), "--auto-approve",
            "--receipts", str(tmp_path / "r")]

    code, out, err = run(capsys, *args)
    assert code == 1
    assert "Stopping: wave 'canary' failed on at least one instance, so wave 'main'" in err
    table = out.split("\n\n")[-2].splitlines()
    assert table[1].split()[:4] == ["shop-00", "-", "canary", "failed"]
    assert all(line.split()[2:4] == ["main", "skipped"] for line in table[2:])
    assert all(writes(box) == [] for box in main_wave)  # the next wave was never started

    # Fixed: the rerun goes through the canary, then the main wave.
    _control(canary, "DELETE", "/faults")
    code, out, _ = run(capsys, *args)
    assert code == 0 and "Rollout apply: 8 instance(s): 8 applied." in out

    # Converged everywhere: a third run plans, finds nothing to do, and writes nothing anywhere.
    clear_logs(fresh)
    code, out, _ = run(capsys, *args)
    assert code == 0 and "Rollout plan: 8 instance(s): 8 no changes." in out
    assert all(writes(box) == [] for box in fresh)


def managed_segment(api: httpx.Client) -> str:
    """The id of a segment the spec manages (not the contact field registry segment)."""
    lists = api.get("/segments", params={"limit": 0}).json()["lists"]
    return next(key for key, s in lists.items() if "[gdpr-as-code:" in (s["description"] or ""))


def test_saved_inventory_plans_apply_as_reviewed_and_refuse_a_changed_instance(
    fresh: list[Sandbox], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"name": f"shop-{i:02d}", "url": box.url} for i, box in enumerate(fresh[:3])]
    inventory = write_inventory(tmp_path / "inventory.yaml", rows)
    set_credentials(monkeypatch, [r["name"] for r in rows])
    receipts = str(tmp_path / "receipts")
    run(capsys, "apply", str(SPEC), "--inventory", str(inventory), "--auto-approve", "--receipts", receipts)
    for box in fresh[:3]:
        with httpx.Client(base_url=box.url + "/api", auth=("admin", "sandbox")) as api:
            segment_id = managed_segment(api)
            api.patch(f"/segments/{segment_id}/edit", json={"name": "Renamed by hand"})
    plans = tmp_path / "plans"
    code, _, _ = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--out", str(plans),
                     "--detailed-exitcode")
    assert code == 2
    assert sorted(p.name for p in plans.iterdir()) == [f"shop-0{i}.plan.json" for i in range(3)]
    # After review, someone edits shop-02's segment again: only that instance's plan is stale.
    with httpx.Client(base_url=fresh[2].url + "/api", auth=("admin", "sandbox")) as api:
        segment_id = managed_segment(api)
        api.patch(f"/segments/{segment_id}/edit", json={"name": "Renamed again"})
    clear_logs(fresh)

    code, out, _ = run(capsys, "apply", str(plans), "--inventory", str(inventory), "--auto-approve",
                       "--continue-on-error", "--receipts", receipts)
    assert code == 1
    assert "shop-02.plan.json is stale" in out and "Nothing was written" in out
    assert [len(writes(box)) for box in fresh[:3]] == [1, 1, 0]

    # Planning again while shop-01 cannot be reached removes its old plan file: apply finds none.
    monkeypatch.setenv(f"{env_prefix('shop-01')}_PASSWORD", WRONG_PASSWORD)
    code, _, _ = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--out", str(plans))
    assert code == 1 and not (plans / "shop-01.plan.json").exists()
    code, out, _ = run(capsys, "apply", str(plans), "--inventory", str(inventory), "--auto-approve",
                       "--receipts", receipts)
    assert code == 1 and "There is no saved plan for instance shop-01" in out


def test_an_empty_shard_is_nothing_to_do_and_usage_errors_are_clear(
    fresh: list[Sandbox], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"name": f"shop-{i:02d}", "url": box.url} for i, box in enumerate(fresh[:3])]
    inventory = write_inventory(tmp_path / "inventory.yaml", rows)
    empty = next(i for i in range(1, 41) if all(shard_of(r["name"], 40) != i for r in rows))
    code, out, err = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--shard", f"{empty}/40")
    assert (code, out) == (0, "")
    assert f"No instance of {inventory} is in shard {empty}/40: nothing to do." in err
    assert all(requests_made(box) == 0 for box in fresh[:3])
    assert run(capsys, "plan", str(SPEC), "--select", "region=eu")[0] == 64  # --select needs --inventory
    code, _, err = run(capsys, "plan", str(SPEC), "--inventory", str(inventory), "--shard", "5/4")
    assert code == 1 and "--shard '5/4' is not of the form I/N with 1 <= I <= N" in err
