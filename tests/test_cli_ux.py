"""The CLI as a new user or an operator meets it, mistakes included: what they see and the exit code.

Each test pins one behaviour found by using the commands by hand (README's first commands, then every command
with the usual mistakes) and fixed where the message originates. They assert what the user reads: one
paragraph naming where and the fix, the README's exit code, no traceback.
"""

from __future__ import annotations

import http.server
import importlib.metadata
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.converge import changes as plan_module
from gdpr_as_code.errors import MauticUnreachable
from gdpr_as_code.mautic.client import EnvTarget, MauticClient, RetryPolicy, client_from_env
from gdpr_as_code.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "configs" / "gdpr.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``gdpr-as-code ARGS`` in-process: exit code, stdout, stderr."""
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def user_env(sandbox_env: dict[str, str]) -> dict[str, str]:
    """The environment of a user pointed at the sandbox, for a subprocess (locks: see conftest)."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def test_version_works_from_a_source_tree_never_installed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``python3 -m gdpr_as_code.cli --version`` from a checkout used to be an internal error (exit 70)."""

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    monkeypatch.setattr(plan_module, "version", not_installed)
    code, out, err = run(capsys, "--version")
    assert (code, err) == (0, "")
    assert out == "gdpr-as-code, version 0+unknown\n"


def _interrupt_after_writes(controls: Any, env: dict[str, str], args: list[str]) -> str:
    """Run ``gdpr-as-code ARGS`` with slow writes, press Ctrl-C once it has made a few, and return its stderr
    after checking it exited 130 without a traceback."""
    controls.fault(kind="latency", ms=300, methods=["POST", "PATCH", "PUT"])
    command = [sys.executable, "-m", "gdpr_as_code.cli", *args]
    child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while sum(r["method"] == "POST" for r in controls.requests()["requests"]) < 3:  # some objects made
        assert time.monotonic() < deadline and child.poll() is None, "it never started writing"
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=20)
    controls.clear_faults()
    time.sleep(0.4)  # the write in flight lands after its 300 ms; let it, before the next test's reset
    assert child.returncode == 130, err
    assert "Traceback" not in err
    return err


def test_ctrl_c_during_apply_exits_130_and_says_how_to_finish(
    user_env: dict[str, str], controls: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real SIGINT while apply writes: exit 130 as the README's table says (it was "Aborted.", exit 1), and
    a receipt of the changes made so far (there was none)."""
    receipts = tmp_path / "receipts"
    err = _interrupt_after_writes(
        controls, user_env, ["apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(receipts)]
    )
    made = re.search(r"Interrupted \(Ctrl-C\) on \S+ after (\d+) change\(s\), at \S+, which may or may not "
                     r"have been made\. Run apply again: it continues from what Mautic now holds\.\n"
                     r"Receipt of this failed apply \(\1 change\(s\) made\): (\S+)\n", err)
    assert made, err
    receipt = json.loads(Path(made[2]).read_text())  # the changes made before Ctrl-C are on record
    assert receipt["status"] == "failed"
    assert sum(receipt["summary"].values()) == int(made[1]) > 0
    assert run(capsys, "apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(receipts))[0] == 0
    assert run(capsys, "plan", str(SPEC_PATH), "--detailed-exitcode")[0] == 0  # the rerun finished the job


def test_plan_out_never_overwrites_the_spec(
    user_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``plan gdpr.yaml --out gdpr.yaml`` (a slip of the fingers) used to replace the spec with the plan."""
    spec = tmp_path / "gdpr.yaml"
    spec.write_text(SPEC_PATH.read_text())
    (tmp_path / "emails").mkdir()
    for body in (SPEC_PATH.parent / "emails").iterdir():
        (tmp_path / "emails" / body.name).write_text(body.read_text())
    before = spec.read_text()
    code, _, err = run(capsys, "plan", str(spec), "--out", str(spec))
    assert code == 1
    assert spec.read_text() == before
    assert err == (f"Error: Not saving the plan to {spec}: that file exists and is not a plan file "
                   "(a spec?), so saving would overwrite it. Choose another --out, e.g. --out plan.json.\n")
    saved = tmp_path / "plan.json"
    assert run(capsys, "plan", str(spec), "--out", str(saved))[0] == 0
    assert run(capsys, "plan", str(spec), "--out", str(saved))[0] == 0  # a plan file may be replaced


def test_show_of_a_spec_says_what_a_plan_file_is_without_suggesting_to_overwrite_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It said "Make one with plan SPEC --out configs/gdpr.yaml", which would have overwritten the spec."""
    code, out, err = run(capsys, "show", str(SPEC_PATH))
    assert (code, out) == (1, "")
    assert err == (f"Error: {SPEC_PATH} is not a plan file: it is not JSON (a spec?). A plan file is what "
                   "plan SPEC --out PLANFILE saves (e.g. plan gdpr.yaml --out plan.json); to see what a spec "
                   "would change, run plan SPEC.\n")


class _Redirect(http.server.BaseHTTPRequestHandler):
    """A web server in front of Mautic that sends http:// to https://, as most do."""

    def do_GET(self) -> None:
        self.send_response(301)
        self.send_header("Location", "https://mautic.example.com" + self.path)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        """Quiet: the test reads the CLI's output, not the server's."""


@pytest.fixture
def redirecting_url() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("subdirectory", ["", "/mautic"])
def test_a_redirect_suggests_the_base_url_not_the_api_route(
    redirecting_url: str,
    subdirectory: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """MAUTIC_URL with http:// for an https site: the fix named ".../api/fields/contact", which then fails."""
    for name, value in {"MAUTIC_URL": redirecting_url + subdirectory, "MAUTIC_USERNAME": "admin",
                        "MAUTIC_PASSWORD": "sandbox"}.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "plan", str(SPEC_PATH))
    assert (code, out) == (1, "")
    assert err == (f"Error: Mautic at {redirecting_url}{subdirectory} (GET /fields/contact) redirected (HTTP "
                   f"301); set MAUTIC_URL to the address it redirects to (https://mautic.example.com"
                   f"{subdirectory}).\n")


def test_a_rollout_error_names_the_inventory_line_of_the_url_not_the_spec(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An instance URL with a typo in its path: the fix pointed at "the target url in the spec"."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        "version: 1\ninstances:\n  - name: typo\n"
        f"    url: {sandbox.url}/mautc\n    username_env: TYPO_USER\n    password_env: TYPO_PASSWORD\n"
    )
    monkeypatch.setenv("TYPO_USER", "admin")
    monkeypatch.setenv("TYPO_PASSWORD", "sandbox")
    code, out, _ = run(capsys, "plan", str(SPEC_PATH), "--inventory", str(inventory))
    assert code == 1
    assert (f"(GET /fields/contact) failed (HTTP 404: Requested URL not found: /mautc/api/fields/contact); "
            f"check that the url of instance typo ({inventory}:3:5) is Mautic's base URL and that it runs "
            "Mautic 5.\n") in out  # no word of plugins: only focus items come from one
    assert "spec" not in out.split("=== typo (failed) ===")[1]



@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc: nothing can be created there")
def test_a_sandbox_state_file_that_cannot_be_written_is_refused_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """It started, lost every change silently, and ended in an internal error (exit 70) at Ctrl-C. (Written
    under /proc because a test run as root may write anywhere else.)"""
    state = "/proc/gdpr-as-code/sandbox.json"
    code, out, err = run(capsys, "sandbox", "--port", "0", "--state", state)
    assert (code, out) == (1, "")
    assert err.startswith(f"Error: Cannot write the sandbox state file {state}: ")
    assert err.endswith(". Point --state at a file in a writable directory, or start without --state.\n")
    assert err.count("\n") == 1


def test_import_says_which_object_holds_the_key(
    user_env: dict[str, str], api: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "#N is already managed under that key or this object is managed under another": which one?"""
    assert run(capsys, "apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(tmp_path))[0] == 0
    segments = api.get("/api/segments", params={"limit": 100}).json()["lists"].values()
    ids = {s["alias"]: s["id"] for s in segments}
    forget, access = ids["request-to-be-forgotten"], ids["data-requested"]
    code, out, err = run(capsys, "import", "segment.data_requested", str(forget))
    assert (code, out) == (1, "")
    assert err == (f"Error: Cannot import segment #{forget} as segment.data_requested: it is already "
                   "managed as segment.request_to_be_forgotten. Check the id, or remove its marker in Mautic "
                   "first.\n")
    other = api.post("/api/segments/new", json={"name": "Data requested (old)"}).json()["list"]["id"]
    code, out, err = run(capsys, "import", "segment.data_requested", str(other))
    assert (code, out) == (1, "")
    assert err == (f"Error: Cannot import segment #{other} as segment.data_requested: segment #{access} "
                   f"already is segment.data_requested. Check the id, or remove the marker of #{access} in "
                   "Mautic first.\n")


@pytest.mark.parametrize("group", [(), ("requests",)])
def test_command_lists_show_whole_sentences(
    group: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--help`` cut most descriptions ("Start a sandbox and run plan → apply → plan of...", "KEY (e.g.")."""
    code, out, _ = run(capsys, *group, "--help")
    assert code == 0
    listed = out.split("Commands:\n")[1].splitlines()
    assert len(listed) >= 3
    for line in listed:
        text = line.strip().partition(" ")[2].strip()
        assert text.endswith(".") and not text.endswith("..."), line
        assert text.count("(") == text.count(")"), line


def test_requests_on_a_spec_without_requests_names_the_keys_the_spec_really_has(
    user_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fix named "gdpr.request_types", a key the spec language does not have (it is gdpr.requests)."""
    spec = tmp_path / "gdpr.yaml"
    spec.write_text("version: 1\ntarget:\n  auth: basic\n")
    code, out, err = run(capsys, "requests", "list", str(spec))
    assert (code, out) == (1, "")
    assert err == (f"Error: {spec} has no gdpr.requests, so there are no GDPR requests to handle. Add "
                   "gdpr.requests.access and gdpr.requests.erasure (each with its value, segment and email, "
                   "as in configs/gdpr.yaml) and apply the spec first.\n")


def test_a_mautic_url_with_index_php_works_on_the_sandbox_as_on_mautic(
    user_env: dict[str, str],
    sandbox: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README says /index.php in MAUTIC_URL is fine (Mautic without URL rewriting); the sandbox: 404."""
    monkeypatch.setenv("MAUTIC_URL", sandbox.url + "/index.php")
    code, out, err = run(capsys, "plan", str(SPEC_PATH))
    assert (code, err) == (0, "")
    assert out.startswith(f"Plan for {sandbox.url}/index.php (Mautic 5.1.0):")
    assert "Plan: 11 to add, 0 to change, 0 to destroy." in out


def _client(url: str) -> MauticClient:
    """A client as the CLI makes one, whose retries do not wait (the message is the same)."""
    retry = RetryPolicy(sleep=lambda _: None)
    env = {"MAUTIC_USERNAME": "admin", "MAUTIC_PASSWORD": "x"}
    return client_from_env(EnvTarget(url=url), env, retry=retry)


def test_https_to_a_plain_http_port_says_to_check_the_scheme(sandbox: Any) -> None:
    """It said "[SSL: WRONG_VERSION_NUMBER] wrong version number", then "check that Mautic is running"."""
    url = sandbox.url.replace("http://", "https://")
    with _client(url) as client, pytest.raises(MauticUnreachable) as caught:
        client.get("/segments")
    assert "could not be reached after 1 attempt: [SSL: WRONG_VERSION_NUMBER]" in str(caught.value)
    assert str(caught.value).endswith(
        "Nothing speaks TLS there: check the scheme and port of the target url in the spec (http:// or https://)."
    )


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a self-signed certificate")
def test_an_untrusted_certificate_says_how_to_trust_it(tmp_path: Path) -> None:
    """A self-signed or in-house CA certificate: "check that Mautic is running" was no help."""
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=x", "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        with _client(url) as client, pytest.raises(MauticUnreachable) as caught:
            client.get("/segments")
    finally:
        server.shutdown()
        server.server_close()
    assert "could not be reached after 1 attempt: [SSL: CERTIFICATE_VERIFY_FAILED]" in str(caught.value)
    assert str(caught.value).endswith(
        "Mautic's TLS certificate is not trusted here: renew it, or if your own CA signed it, set "
        "SSL_CERT_FILE to that CA's certificate (PEM) and rerun."
    )


def test_missing_instance_credentials_read_as_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "environment variable BRAND_USER and BRAND_PASSWORD are not set"."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("version: 1\ninstances:\n  - name: brand\n    url: http://127.0.0.1:9\n"
                         "    username_env: BRAND_USER\n    password_env: BRAND_PASSWORD\n")
    monkeypatch.delenv("BRAND_USER", raising=False)
    monkeypatch.delenv("BRAND_PASSWORD", raising=False)
    code, out, _ = run(capsys, "plan", str(SPEC_PATH), "--inventory", str(inventory))
    assert code == 1
    assert (f"Instance brand ({inventory}:3:5): environment variables BRAND_USER and BRAND_PASSWORD are not "
            "set or empty — export BRAND_USER and BRAND_PASSWORD with the credentials of this instance "
            "(auth: basic), or correct its *_env names in the inventory.") in out


def test_apply_of_a_plan_directory_without_inventory_says_to_add_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``apply plans/`` (forgetting --inventory) said "plans:1:1: this is a directory, not a YAML file"."""
    code, out, err = run(capsys, "apply", str(tmp_path))
    assert (code, out) == (64, "")
    assert err.endswith(f"Error: {tmp_path} is a directory: the saved plans of a rollout are applied with "
                        f"--inventory FILE (apply {tmp_path} --inventory inventory.yaml); otherwise give a "
                        "spec or a plan file.\n")


def test_history_without_receipts_here_says_to_pass_the_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``history`` run beside (not in) the spec's folder: the receipts are beside the spec, so name it."""
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "history")
    assert (code, out) == (1, "")
    assert err == ("Error: No receipts directory at receipts. Receipts are written by apply beside the spec "
                   "(or where --receipts DIR says); pass the spec (history configs/gdpr.yaml) or that "
                   "directory to history.\n")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_ctrl_c_at_the_approval_question_says_nothing_was_done(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    """It said "apply continues from what Mautic now holds", as if something had been written."""
    main_end, child_end = os.openpty()
    command = [sys.executable, "-m", "gdpr_as_code.cli", "apply", str(SPEC_PATH), "--receipts", str(tmp_path)]
    child = subprocess.Popen(command, env=user_env, stdin=child_end, stdout=child_end, stderr=child_end)
    os.close(child_end)
    seen = b""
    deadline = time.monotonic() + 20
    while b"[y/N]" not in seen:
        assert time.monotonic() < deadline, seen
        seen += os.read(main_end, 65536)
    time.sleep(0.3)  # a person answers later; a SIGINT before readline waits can be lost (a CPython race)
    child.send_signal(signal.SIGINT)  # what the terminal does on Ctrl-C
    assert child.wait(timeout=20) == 130
    while chunk := _read_more(main_end):
        seen += chunk
    os.close(main_end)
    assert seen.decode().endswith(
        "[y/N]: \r\nInterrupted at the question: nothing was done after it. Rerun when ready.\r\n"
    )


def _read_more(fd: int) -> bytes:
    """What is left to read from a pseudo-terminal whose child has ended (b"" at its end)."""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the other end is closed
        return b""


def test_ctrl_c_stops_a_whole_rollout_even_with_continue_on_error(
    user_env: dict[str, str], sandbox: Any, controls: Any, tmp_path: Path
) -> None:
    """Ctrl-C during the canary's apply counted as that instance failing, and --continue-on-error went on to
    the next wave: the user pressed Ctrl-C to stop, so nothing more may be written anywhere."""
    with Sandbox() as second:
        inventory = tmp_path / "inventory.yaml"
        inventory.write_text(
            "version: 1\nrollout: {waves: [canary]}\ninstances:\n"
            f"  - {{name: one, url: '{sandbox.url}', username_env: ONE_USER, password_env: ONE_PASSWORD, "
            "labels: {wave: canary}}\n"
            f"  - {{name: two, url: '{second.url}', username_env: TWO_USER, password_env: TWO_PASSWORD}}\n"
        )
        env = {**user_env, "ONE_USER": "admin", "ONE_PASSWORD": "sandbox", "TWO_USER": "admin",
               "TWO_PASSWORD": "sandbox"}
        err = _interrupt_after_writes(controls, env, ["apply", str(SPEC_PATH), "--inventory", str(inventory),
                                                      "--auto-approve", "--continue-on-error", "--receipts",
                                                      str(tmp_path / "receipts")])
        assert f"Interrupted (Ctrl-C) on {sandbox.url} after " in err
        with httpx.Client(base_url=second.url) as other:
            logged = other.get("/_sandbox/requests").json()["requests"]
        assert [r for r in logged if r["method"] != "GET"] == []


def test_apply_with_an_unwritable_lock_directory_says_how_to_choose_one(
    user_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A read-only home in a CI container: the lock file could not be made, and apply ended in an internal
    error (exit 70)."""
    (tmp_path / "home").write_text("a file where the lock directory should be")
    monkeypatch.setenv("GDPR_AS_CODE_LOCK_DIR", str(tmp_path / "home" / "locks"))
    code, out, err = run(capsys, "apply", str(SPEC_PATH), "--auto-approve", "--receipts", str(tmp_path))
    assert (code, out) == (1, "")
    assert re.fullmatch(
        f"Error: Cannot create the apply lock file {re.escape(str(tmp_path))}/home/locks/[0-9a-f]+\\.lock: "
        r"Not a directory\. Set GDPR_AS_CODE_LOCK_DIR to a writable directory "
        r"\(e\.g\. /tmp/gdpr-as-code-locks\) and rerun\.\n",
        err,
    )


def test_requests_with_unwritable_state_or_export_folders_say_which_setting_to_change(
    user_env: dict[str, str], sandbox: Any, api: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both were internal errors (exit 70): a --state-dir that cannot be made, and an export folder (the
    spec's gdpr.exports.delivery.folder) that cannot be made, which now fails that request only."""
    blocker = tmp_path / "a-file"
    blocker.write_text("a file where a folder should be")
    spec = tmp_path / "gdpr.yaml"
    spec.write_text(SPEC_PATH.read_text().replace("folder: exports", f"folder: {blocker}/exports"))
    shutil.copytree(SPEC_PATH.parent / "emails", tmp_path / "emails")
    assert run(capsys, "apply", str(spec), "--auto-approve")[0] == 0
    form = next(iter(api.get("/api/forms").json()["forms"]))
    fields = {"name": "Pat", "email": "pat@example.com", "request": "access", "gdpr_consent": "1",
              "formId": str(form["id"])}
    posted = httpx.post(f"{sandbox.url}/form/submit", params={"formId": form["id"]},
                        data={f"mauticform[{k}]": v for k, v in fields.items()})
    assert posted.status_code == 302
    httpx.post(f"{sandbox.url}/_sandbox/segments/rebuild").raise_for_status()

    code, out, err = run(capsys, "requests", "fulfil", str(spec), "--state-dir", str(blocker / "state"))
    assert (code, out) == (1, "")
    assert err == (f"Error: Cannot write the request journal {blocker}/state/journal.jsonl: Not a directory. "
                   "Choose a writable folder with --state-dir DIR (or $GDPR_AS_CODE_STATE_DIR) and rerun.\n")

    code, out, _ = run(capsys, "requests", "fulfil", str(spec), "--state-dir", str(tmp_path / "state"))
    assert code == 1
    assert re.search(r"failed   access-\d+-\S+: Cannot create the export folder "
                     f"{re.escape(str(blocker))}/exports/\\S+: Not a directory. Point "
                     r"gdpr.exports.delivery.folder in the spec at a writable folder and rerun.\n", out), out
    assert "pat@example.com" not in out


def test_a_sandbox_port_out_of_range_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """``sandbox --port 99999`` was an internal error (exit 70)."""
    code, out, err = run(capsys, "sandbox", "--port", "99999")
    assert (code, out) == (64, "")
    assert err.endswith("Error: Invalid value for '--port': 99999 is not in the range 0<=x<=65535.\n")


def test_rollout_plan_out_onto_a_file_says_out_names_a_directory(
    sandbox: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--out plans`` where plans is a file: "Cannot write plans/one.plan.json (File exists): check the
    directory and its permissions" did not say that --out names a directory with --inventory."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f"version: 1\ninstances:\n  - {{name: one, url: '{sandbox.url}', "
                         "username_env: ONE_USER, password_env: ONE_PASSWORD}\n")
    monkeypatch.setenv("ONE_USER", "admin")
    monkeypatch.setenv("ONE_PASSWORD", "sandbox")
    (tmp_path / "plans").write_text("")
    code, out, _ = run(capsys, "plan", str(SPEC_PATH), "--inventory", str(inventory), "--out",
                       str(tmp_path / "plans"))
    assert code == 1
    assert (f"Cannot write {tmp_path}/plans/one.plan.json: File exists. With --inventory, --out names a "
            "directory (one plan file per instance): choose one that is a writable directory or can be "
            "created.") in out


def test_debug_may_follow_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    """The internal-error message says "Rerun with --debug"; typed at the end it was "No such option"."""
    code, out, err = run(capsys, "validate", str(SPEC_PATH), "--debug")
    assert (code, err) == (0, "")
    assert out == f"{SPEC_PATH}: valid (2 fields, 2 segments, 5 emails, 1 form)\n"


def test_the_readme_demo_output_is_what_demo_prints(capsys: pytest.CaptureFixture[str]) -> None:
    """The README's abridged demo said "(9 writes, 5 reads ...)" after apply had become 10 and 6."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("abridged, it prints:\n\n```text\n", 1)[1].split("```", 1)[0]
    results = ("(", "Plan:", "Apply complete", "No changes")
    shown = [line for line in block.splitlines() if line.startswith(results)]
    assert len(shown) == 6
    code, out, _ = run(capsys, "demo")
    assert code == 0
    printed = out.splitlines()
    for line in shown:
        assert line in printed


def _one_instance_inventory(folder: Path) -> Path:
    """An inventory of one instance (on a closed port: nothing here connects to it)."""
    inventory = folder / "inventory.yaml"
    inventory.write_text("version: 1\ninstances:\n  - {name: a, url: 'http://127.0.0.1:9', "
                         "username_env: A_USER, password_env: A_PASSWORD}\n")
    return inventory


def test_validate_counts_one_instance_in_the_singular(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It said "valid inventory (1 instances)"."""
    inventory = _one_instance_inventory(tmp_path)
    assert run(capsys, "validate", str(inventory)) == (0, f"{inventory}: valid inventory (1 instance)\n", "")


def test_a_spec_and_an_inventory_swapped_is_one_problem_saying_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each swap listed every top-level key as unknown, with the fix "remove it"."""
    inventory = _one_instance_inventory(tmp_path)
    code, out, err = run(capsys, "plan", str(inventory))
    assert (code, out) == (1, "")
    assert err == (f"Error: {inventory}:2:1: this is an inventory (it lists instances), not a spec — pass it "
                   "with --inventory after the spec: plan SPEC --inventory FILE\n")
    code, out, err = run(capsys, "plan", str(SPEC_PATH), "--inventory", str(SPEC_PATH))
    assert (code, out) == (1, "")
    assert err == (f"Error: {SPEC_PATH}:1:1: this is a spec, not an inventory (it has no instances:) — give "
                   "the spec first and an inventory to --inventory (see configs/inventory.example.yaml)\n")
