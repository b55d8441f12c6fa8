"""The CI flow over HTTP against the sandbox: the command sequence of examples/ci, then saved-plan safety.

The commands are read from the two example pipelines themselves (so the examples cannot drift from what is
tested) and run through the CLI's ``main`` in a scratch checkout, as a runner would run them.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import httpx
import jsonschema
import pytest
import yaml

from gdpr_as_code.cli import cli, main
from gdpr_as_code.guard.lock import local_lock

ROOT = Path(__file__).resolve().parents[1]
CI = ROOT / "examples" / "ci"
WRITES = ("POST", "PUT", "PATCH", "DELETE")


def github_action_uses() -> list[tuple[str, dict[str, str]]]:
    """The GitHub example's steps that run the gdpr-as-code action (action.yml; tests/test_action.py runs
    its steps), by job, with their inputs."""
    jobs = yaml.safe_load((CI / "github-actions.yml").read_text())["jobs"]
    return [(job, step["with"]) for job in ("plan", "apply") for step in jobs[job]["steps"]
            if step.get("uses", "").split("@")[0].endswith("/gdpr-as-code")]


def gitlab_commands() -> list[str]:
    pipeline = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    scripts = [line for job in ("gdpr-plan", "gdpr-apply") for line in pipeline[job]["script"]]
    return [line.strip() for line in scripts if line.strip().startswith("gdpr-as-code")]


class Runner:
    """Runs pipeline lines (``$VAR``s expanded, ``> file`` redirected) in a scratch checkout."""

    def __init__(self, capsys: pytest.CaptureFixture[str], env: dict[str, str]) -> None:
        self.capsys = capsys
        self.env = env

    def __call__(self, line: str) -> tuple[int, str, str]:
        words = shlex.split(re.sub(r"\$(\w+)", lambda m: self.env[m[1]], line))
        target = None
        if ">" in words:
            words, target = words[: words.index(">")], words[words.index(">") + 1]
        assert words[0] == "gdpr-as-code"
        self.capsys.readouterr()
        code = main(words[1:])
        out, err = self.capsys.readouterr()
        if target:
            Path(target).write_text(out)
        return code, out, err


@pytest.fixture
def run(
    sandbox_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Runner]:
    """A checkout with the spec at gdpr/gdpr.yaml (as in the examples) and the pipeline's environment."""
    shutil.copytree(ROOT / "configs", tmp_path / "gdpr", ignore=shutil.ignore_patterns("receipts"))
    monkeypatch.setenv("SPEC", "gdpr/gdpr.yaml")
    monkeypatch.chdir(tmp_path)
    yield Runner(capsys, dict(os.environ))  # $NAME in a pipeline line expands as the shell would


def writes(controls: Any) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in controls.requests()["requests"] if r["method"] in WRITES]


def segment_id(api: httpx.Client, alias: str) -> int:
    lists = api.get("/api/segments", params={"limit": 0}).json()["lists"]
    return next(int(s["id"]) for s in lists.values() if s["alias"] == alias)


def test_both_example_pipelines_run_the_same_commands() -> None:
    assert github_action_uses() == [("plan", {"spec": "gdpr/gdpr.yaml", "command": "plan"}),
                                    ("apply", {"spec": "gdpr/gdpr.yaml", "command": "apply"})]
    assert gitlab_commands() == [
        'gdpr-as-code validate "$SPEC"',
        'gdpr-as-code plan "$SPEC" --out gdpr.plan --format markdown > plan.md',
        "gdpr-as-code show gdpr.plan",
        "gdpr-as-code apply gdpr.plan --receipts receipts --remote-lock",
    ]


def test_the_pipeline_plans_on_review_and_applies_the_reviewed_plan_on_merge(
    run: Runner, api: httpx.Client, sandbox: Any
) -> None:
    results = [run(line) for line in gitlab_commands()]
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err for _, _, err in results]

    comment = Path("plan.md").read_text()
    summary = (r"\*\*Plan for `http://127\.0\.0\.1:\d+` \(Mautic 5\.1\.0\): \d+ to add, 0 to change, "
               r"0 to destroy\.\*\*\n")
    assert re.match(summary, comment)
    assert comment.count("<details>") == comment.count("</details>") > 0
    shown = results[2][1]
    assert "+ segment.request_to_be_forgotten" in shown and "to add, 0 to change, 0 to destroy." in shown

    (receipt_file,) = Path("receipts").glob("*.json")
    receipt = json.loads(receipt_file.read_text())
    plan = json.loads(Path("gdpr.plan").read_text())
    assert (receipt["status"], receipt["plan_sha256"]) == ("applied", plan["plan_sha256"])
    assert receipt["summary"]["create"] == plan["counts"]["add"] == len(receipt["changes"])
    assert f"Receipt: receipts/{receipt_file.name}" in results[3][1]

    lists = api.get("/api/segments", params={"limit": 0}).json()["lists"]
    assert not [s for s in lists.values() if s["alias"].startswith("gdpr-as-code-lock")]  # lock released
    assert run('gdpr-as-code plan "$SPEC" --detailed-exitcode')[0] == 0  # converged
    code, history, _ = run("gdpr-as-code history receipts")
    assert code == 0 and receipt["plan_sha256"][:8] in history and "applied" in history


def test_a_saved_plan_still_applies_after_a_change_to_an_object_it_does_not_touch(
    run: Runner, api: httpx.Client, controls: Any
) -> None:
    assert run('gdpr-as-code apply "$SPEC" --auto-approve --receipts receipts')[0] == 0
    forget, collected = segment_id(api, "request-to-be-forgotten"), segment_id(api, "data-requested")
    api.patch(f"/api/segments/{forget}/edit", json={"name": "Forget me (edited by hand)"}).raise_for_status()
    assert run('gdpr-as-code plan "$SPEC" --out gdpr.plan')[0] == 0
    assert json.loads(Path("gdpr.plan").read_text())["counts"]["change"] == 1

    api.patch(f"/api/segments/{collected}/edit", json={"name": "Unrelated edit"}).raise_for_status()
    controls.clear_requests()
    code, _, err = run("gdpr-as-code apply gdpr.plan")
    assert code == 0, err
    assert writes(controls) == [f"PATCH /api/segments/{forget}/edit"]  # exactly the reviewed change
    assert api.get(f"/api/segments/{forget}").json()["list"]["name"] == "Request to be Forgotten"
    assert api.get(f"/api/segments/{collected}").json()["list"]["name"] == "Unrelated edit"


def test_a_saved_plan_is_refused_after_a_change_to_an_object_it_touches(
    run: Runner, api: httpx.Client, controls: Any
) -> None:
    assert run('gdpr-as-code apply "$SPEC" --auto-approve --receipts receipts')[0] == 0
    forget = segment_id(api, "request-to-be-forgotten")
    api.patch(f"/api/segments/{forget}/edit", json={"name": "Forget me (edited by hand)"}).raise_for_status()
    assert run('gdpr-as-code plan "$SPEC" --out gdpr.plan')[0] == 0

    api.patch(f"/api/segments/{forget}/edit", json={"isPublished": False}).raise_for_status()
    receipts_before = sorted(Path("receipts").iterdir())
    controls.clear_requests()
    code, _, err = run("gdpr-as-code apply gdpr.plan")
    assert code == 1
    assert err.startswith("Error: gdpr.plan is stale: objects it would change were changed in Mautic")
    assert f"- segment.request_to_be_forgotten (id {forget}): changed in Mautic since the plan" in err
    assert "Nothing was written. Plan again and review the new plan." in err
    assert writes(controls) == []
    assert sorted(Path("receipts").iterdir()) == receipts_before


def test_a_saved_plan_from_another_spec_is_refused(run: Runner, controls: Any) -> None:
    assert run('gdpr-as-code plan "$SPEC" --out gdpr.plan')[0] == 0
    spec = Path("gdpr/gdpr.yaml")
    spec.write_text(spec.read_text().replace("company: Example Ltd", "company: Example Group"))
    controls.clear_requests()
    code, _, err = run("gdpr-as-code apply gdpr.plan")
    assert code == 1 and "was made from another version of the spec" in err
    assert controls.requests()["total"] == 0  # refused before talking to Mautic


def test_plan_json_of_a_real_instance_validates_and_show_prints_the_same_document(run: Runner) -> None:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    code, printed, _ = run('gdpr-as-code plan "$SPEC" --json --out gdpr.plan')
    assert code == 0
    document = json.loads(printed)
    jsonschema.validate(document, schema)
    jsonschema.validate(json.loads(Path("gdpr.plan").read_text()), schema)
    assert document["format_version"] == 1 and document["counts"]["add"] == len(document["changes"]) > 0
    assert json.loads(run("gdpr-as-code show gdpr.plan --json")[1]) == document


def test_a_failed_apply_leaves_a_receipt_of_what_it_did(run: Runner, controls: Any) -> None:
    controls.fault(kind="error", status=500, methods=["POST"], path="^/api/forms/new$")
    code, _, err = run('gdpr-as-code apply "$SPEC" --auto-approve --parallelism 1')  # the serial order
    assert code == 1
    (receipt_file,) = Path("gdpr/receipts").glob("*.json")  # by default, beside the spec
    receipt = json.loads(receipt_file.read_text())
    assert receipt["status"] == "failed" and "form.gdpr_request" in receipt["error"]
    made = [c["kind"] for c in receipt["changes"]]  # everything before the form, in dependency order
    assert made == ["fields", "fields", "segments", "segments", *["emails"] * 5]
    assert f"Receipt of this failed apply (9 change(s) made): {receipt_file.resolve()}" in err


def test_the_readme_exit_code_table_names_every_command() -> None:
    """CI scripts branch on exit codes; a new command without a row in README's table is a gap."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Exit codes") :]
    rows = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    ctx = click.Context(cli)
    group = cli.get_command(ctx, "requests")
    assert isinstance(group, click.Group)
    names = [n for n in cli.list_commands(ctx) if n != "requests"] + [f"requests {n}" for n in group.commands]
    assert [name for name in names if not any(f"`{name}" in row for row in rows)] == []


def test_an_apply_while_another_holds_the_instance_is_refused_before_any_request(
    run: Runner, sandbox: Any, controls: Any
) -> None:
    assert run('gdpr-as-code plan "$SPEC" --out gdpr.plan')[0] == 0
    controls.clear_requests()
    with local_lock(sandbox.url, Path("locks")):
        code, _, err = run("gdpr-as-code apply gdpr.plan")
    assert code == 1 and f"Another apply to {sandbox.url} is running on this machine" in err
    assert controls.requests()["total"] == 0
    assert run("gdpr-as-code apply gdpr.plan")[0] == 0  # released: the next run proceeds
