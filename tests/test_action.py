"""The GitHub Action (action.yml) run step by step as GitHub's runner would: each step's ``if`` decided, its
``env:`` expressions evaluated, its ``run`` script given to bash, against the sandbox as Mautic and a small
local server speaking GitHub's issue-comment API. The plan is posted once and updated (never duplicated) on
the next run; apply applies the saved plan. Only the expression forms the action uses are understood, so a
new form fails here until it is taught (and so tested)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class GitHub(ThreadingHTTPServer):
    """The issue-comment endpoints of GitHub's REST API, for one repository, in memory."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), CommentHandler)
        self.comments: list[dict[str, Any]] = []
        self.calls: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class CommentHandler(BaseHTTPRequestHandler):
    server: GitHub

    def log_message(self, *args: Any) -> None:
        """Quiet."""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        assert self.headers["Authorization"] == "Bearer t0ken"
        return json.loads(self.rfile.read(int(self.headers["Content-Length"])))

    def do_GET(self) -> None:
        self.server.calls.append(f"GET {self.path}")
        page = int(re.search(r"[?&]page=(\d+)", self.path)[1])  # type: ignore[index]
        self._answer(200, self.server.comments if page == 1 else [])

    def do_POST(self) -> None:
        self.server.calls.append(f"POST {self.path}")
        assert self.path == "/repos/shop/gdpr/issues/7/comments"
        comment = {"id": 100 + len(self.server.comments), "body": self._body()["body"]}
        comment["html_url"] = f"https://github.test/shop/gdpr/pull/7#issuecomment-{comment['id']}"
        self.server.comments.append(comment)
        self._answer(201, comment)

    def do_PATCH(self) -> None:
        self.server.calls.append(f"PATCH {self.path}")
        comment = next(c for c in self.server.comments if self.path.endswith(f"/comments/{c['id']}"))
        comment["body"] = self._body()["body"]
        self._answer(200, comment)


@pytest.fixture
def github() -> Iterator[GitHub]:
    server = GitHub()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def evaluate(expression: str, inputs: Mapping[str, str], env: Mapping[str, str],
             context: Mapping[str, str]) -> str:
    """One ``${{ }}`` expression of the forms action.yml uses."""
    if match := re.fullmatch(r"inputs\.([\w-]+)", expression):
        return inputs[match[1]]
    if match := re.fullmatch(r"env\[inputs\.([\w-]+)\]", expression):
        return env.get(inputs[match[1]], "")
    if match := re.fullmatch(r"github\.([\w.]+)", expression):
        return context[match[1]]
    raise AssertionError(f"action.yml uses an expression this test does not know: {expression}")


def condition(text: str, inputs: Mapping[str, str], context: Mapping[str, str]) -> bool:
    """An ``if:`` of ``A == 'v'`` terms joined by ``&&``."""
    terms = [re.fullmatch(r"([\w.-]+) == '([^']*)'", term.strip()) for term in text.split("&&")]
    assert all(terms), f"action.yml uses a condition this test does not know: {text}"
    values = {f"inputs.{k}": v for k, v in inputs.items()} | {f"github.{k}": v for k, v in context.items()}
    return all(values[term[1]] == term[2] for term in terms if term)


def run_action(given: Mapping[str, str], cwd: Path, env: Mapping[str, str],
               context: Mapping[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Every step of the action whose ``if`` holds, in order, stopping at the first that fails."""
    inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    inputs.update(given)
    inputs = {k: evaluate(EXPRESSION.fullmatch(v)[1], {}, env, context) if EXPRESSION.fullmatch(v) else v
              for k, v in inputs.items()}
    (cwd / "output").write_text("")
    done = []
    for step in ACTION["runs"]["steps"]:
        if "if" in step and not condition(step["if"], inputs, context):
            continue
        step_env = {name: EXPRESSION.sub(lambda m: evaluate(m[1], inputs, env, context), str(value))
                    for name, value in step.get("env", {}).items()}
        result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=cwd, capture_output=True, text=True,
                                env={**env, **step_env, "GITHUB_OUTPUT": str(cwd / "output"),
                                     "GITHUB_STEP_SUMMARY": str(cwd / "summary.md")}, timeout=120)
        done.append(result)
        if result.returncode:
            break
    return done


@pytest.fixture
def workspace(tmp_path: Path, sandbox: Any, github: GitHub) -> tuple[Path, dict[str, str], dict[str, str]]:
    """A checkout with the spec at gdpr/gdpr.yaml; the job's environment (secrets under other names, as the
    *-env inputs allow) and GitHub's context for a pull request."""
    shutil.copytree(ROOT / "configs", tmp_path / "gdpr", ignore=shutil.ignore_patterns("receipts", "exports"))
    env = {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "SHOP_URL": sandbox.url,
           "SHOP_USER": "admin", "SHOP_PASSWORD": "sandbox", "GITHUB_API_URL": github.url,
           "GITHUB_REPOSITORY": "shop/gdpr", "GDPR_AS_CODE_LOCK_DIR": str(tmp_path / "locks")}
    context = {"action_path": str(ROOT), "token": "t0ken", "event_name": "pull_request",
               "event.pull_request.number": "7"}
    return tmp_path, env, context


SECRETS = {"url-env": "SHOP_URL", "username-env": "SHOP_USER", "password-env": "SHOP_PASSWORD"}


def test_plan_comments_once_then_updates_and_apply_applies_the_saved_plan(
        workspace: tuple[Path, dict[str, str], dict[str, str]], github: GitHub, controls: Any) -> None:
    cwd, env, context = workspace
    given = {"spec": "gdpr/gdpr.yaml", "install": "false", **SECRETS}
    steps = run_action(given, cwd, env, context)
    assert [s.returncode for s in steps] == [0, 0, 0], [s.stderr for s in steps]
    assert "has-changes=true" in (cwd / "output").read_text()
    (comment,) = github.comments
    assert comment["body"].startswith("<!-- gdpr-as-code plan: gdpr/gdpr.yaml -->\n**Plan for `http://127.0.0.1:")
    assert "9 to add" in comment["body"] and "9 to add" in (cwd / "summary.md").read_text()
    assert "sandbox" not in comment["body"]  # the password never reaches the comment

    steps = run_action({**given, "command": "apply"}, cwd, env, context)
    assert [s.returncode for s in steps] == [0, 0], [s.stderr for s in steps]
    assert "Apply complete! Resources: 9 added" in steps[-1].stdout

    steps = run_action(given, cwd, env, context)  # the next push: the same comment, now "No changes"
    assert [s.returncode for s in steps] == [0, 0, 0], [s.stderr for s in steps]
    assert "has-changes=false" in (cwd / "output").read_text()
    assert len(github.comments) == 1 and "**No changes.**" in github.comments[0]["body"]
    assert [c.split("?")[0] for c in github.calls] == [
        "GET /repos/shop/gdpr/issues/7/comments", "POST /repos/shop/gdpr/issues/7/comments",
        "GET /repos/shop/gdpr/issues/7/comments", "PATCH /repos/shop/gdpr/issues/comments/100",
    ]


def test_apply_without_the_reviewed_plan_refuses(workspace: tuple[Path, dict[str, str], dict[str, str]],
                                                 controls: Any) -> None:
    cwd, env, context = workspace
    steps = run_action({"spec": "gdpr/gdpr.yaml", "install": "false", "command": "apply", **SECRETS},
                       cwd, env, context)
    assert steps[-1].returncode == 1 and "No reviewed plan at gdpr.plan" in steps[-1].stderr
    assert not [r for r in controls.requests()["requests"] if r["method"] != "GET"]
