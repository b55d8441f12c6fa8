"""``requests fulfil`` when Mautic's answers go missing or it stumbles: nothing sent twice, nothing lost.

The crash tests (test_requests_e2e) kill our process; here Mautic does the work and the answer never arrives
(the sandbox's ``lose_answer`` fault), a gateway refuses the send (502), or reads fail now and then (500, 503,
429). The client retries only what is safe to repeat; a send whose outcome is unknown fails its request, and
the rerun asks Mautic's timeline before sending again. Everything runs through the CLI on the sandbox, real
retries and waits included.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_requests_e2e import Site
from test_requests_e2e import site as site  # the fixture: shared, not copied

SEND = r"^/api/emails/\d+/contact/\d+/send$"
BATCH_DELETE = r"^/api/contacts/batch/delete$"
CONTACT_READS = r"^/api/contacts/\d+/"  # the export's per-contact reads (activity, companies, ...)
# ... and the batched reads of a run (memberships, form results, notes, devices: ``dsr.batch``)
READS = r"^/api/(contacts/\d+/|stats/|notes|devices)"


def audit_steps(site: Site, contact: int) -> list[tuple[str, str]]:
    """(step, status) of one contact's audit lines, in order."""
    lines = map(json.loads, (site.state / "audit.jsonl").read_text().splitlines())
    return [(line["step"], line["outcome"]) for line in lines if line["contact"] == contact]


def sent_since(site: Site, base: int) -> list[tuple[int, int]]:
    """(email id, contact id) of every message the sandbox sent after the first ``base``."""
    return sorted((m["emailId"], m["contactId"]) for m in site.outbox()[base:])


@pytest.mark.parametrize(
    ("fault", "said", "done"),
    [
        pytest.param("lose_answer", "gave no answer", True, id="sent-answer-lost"),  # Mautic sent it
        pytest.param("error", "answered HTTP 502", False, id="gateway-502"),  # refused before Mautic ran
    ],
)
def test_a_notification_of_unknown_outcome_is_sent_once_after_a_rerun(
    site: Site, controls: Any, capsys: pytest.CaptureFixture[str], fault: str, said: str, done: bool
) -> None:
    alice = site.submit("Alice", "alice@example.com", "access")
    bob = site.submit("Bob", "bob@example.com", "forget")
    site.rebuild()
    base = len(site.outbox())
    export_sent, erasure_done = site.email_id("GDPR data export sent"), site.email_id("GDPR erasure done")
    wanted = sorted([(export_sent, alice), (erasure_done, bob)])
    controls.fault(kind=fault, status=502, methods=["POST"], path=SEND)
    capsys.readouterr()

    assert site.cli("requests", "fulfil", "--yes") == 1  # Bob's notice fails; Alice's export waits
    (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
    assert site.cli("requests", "delivered", folder.name) == 1  # she has it: her notice fails too
    out, err = capsys.readouterr()
    assert "0 done, 1 failed, 0 skipped, 1 waiting for hand-over" in out and "0 done, 1 failed" in out
    assert "Traceback" not in out + err and "@" not in out + err
    failed = [line for line in out.splitlines() if line.strip().startswith("failed")]
    assert len(failed) == 2
    for line in failed:
        assert f"/send) {said}" in line and "may or may not have been sent" in line
    assert sent_since(site, base) == (wanted if done else [])
    assert site.api.get(f"/api/contacts/{bob}").status_code == 200  # no delete while the notice is unsure

    controls.clear_faults()
    controls.clear_requests()
    assert site.cli("requests", "fulfil", "--yes") == 0
    assert "2 done, 0 failed, 0 skipped" in capsys.readouterr().out
    assert sent_since(site, base) == wanted  # exactly one each: sent again only where the timeline has none
    sends = [r for r in controls.requests()["requests"] if r["method"] == "POST" and "/send" in r["path"]]
    assert len(sends) == (0 if done else 2)
    assert site.api.get(f"/api/contacts/{bob}").status_code == 404
    assert list((site.spec.parent / "exports").glob(f"*/access-{alice}-*/data.json"))
    assert ("notify", "failed") in audit_steps(site, bob) and audit_steps(site, bob)[-1] == ("finish", "done")


@pytest.mark.parametrize(
    "lost",
    [
        pytest.param(1, id="retry-in-run"),  # the client's own retry repeats the delete
        pytest.param(4, id="every-try"),  # all four tries lost: the run fails, the rerun finishes
    ],
)
def test_a_batch_delete_whose_answer_was_lost_is_confirmed_on_repeat(
    site: Site, controls: Any, capsys: pytest.CaptureFixture[str], lost: int
) -> None:
    bob = site.submit("Bob", "bob@example.com", "forget")
    carol = site.submit("Carol", "carol@example.com", "forget")
    site.rebuild()
    base = len(site.outbox())
    controls.fault(kind="lose_answer", methods=["DELETE"], path=BATCH_DELETE, count=lost)
    capsys.readouterr()

    runs = [site.cli("requests", "fulfil", "--yes")]
    out = capsys.readouterr().out
    if lost > 1:
        assert runs == [1] and "0 done, 2 failed" in out
        assert "batch/delete) gave no answer, so the 2 contact(s) may or may not be deleted" in out
        assert "it repeats the delete (Mautic skips contacts already gone)" in out
        assert "Traceback" not in out and "@" not in out
        runs.append(site.cli("requests", "fulfil", "--yes"))
        out = capsys.readouterr().out
    assert runs[-1] == 0 and "2 done, 0 failed, 0 skipped" in out
    for contact in (bob, carol):
        assert site.api.get(f"/api/contacts/{contact}").status_code == 404
        assert audit_steps(site, contact)[-2:] == [("confirm", "done"), ("finish", "done")]
    deletes = [r for r in controls.requests()["requests"] if r["method"] == "DELETE"]
    assert len(deletes) == lost + 1 and {r["status"] for r in deletes} == {200}  # repeats are harmless
    erasure_done = site.email_id("GDPR erasure done")
    assert sent_since(site, base) == [(erasure_done, bob), (erasure_done, carol)]
    receipts = [json.loads(line) for line in (site.state / "receipts.jsonl").read_text().splitlines()]
    assert sorted(r["contact"] for r in receipts) == [bob, carol]


def test_an_export_survives_intermittent_errors_and_rate_limits_on_reads(
    site: Site, controls: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = site.submit("Alice", "alice@example.com", "access")
    note = {"lead": alice, "text": "called back", "type": "call"}
    site.api.post("/api/notes/new", json=note).raise_for_status()
    site.rebuild()
    before = site.api.get(f"/api/contacts/{alice}").json()["contact"]
    base = len(site.outbox())
    for rule in (
        # A 500 is not retried (it is mostly Mautic's bug, not a passing state): the export fails this run.
        {"kind": "error", "status": 500, "count": 1, "path": CONTACT_READS + "activity"},
        {"kind": "error", "status": 503, "rate": 0.3, "seed": 1, "path": READS},
        {"kind": "rate_limit", "retry_after": 0, "rate": 0.3, "seed": 2, "path": READS},
    ):
        controls.fault(methods=["GET"], **rule)
    capsys.readouterr()

    assert site.cli("requests", "fulfil", "--yes", "--workers", "1") == 1
    out, err = capsys.readouterr()
    assert "0 done, 1 failed" in out and "HTTP 500" in out, (out, err)
    assert "Traceback" not in out + err
    assert sent_since(site, base) == []  # no notification for an export that is not there
    assert site.cli("requests", "fulfil", "--yes", "--workers", "1") == 0  # the faults still fire
    assert "1 waiting for hand-over" in capsys.readouterr().out
    (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
    assert site.cli("requests", "delivered", folder.name, "--workers", "1") == 0
    assert "1 done, 0 failed" in capsys.readouterr().out
    rules = controls.http.get("/faults").json()["faults"]  # the spent 500 rule is gone
    fired = {rule["kind"] + str(rule["status"]): rule["fired"] for rule in rules}
    assert fired["error503"] and fired["rate_limit503"], fired

    (folder,) = (site.spec.parent / "exports").glob(f"*/access-{alice}-*")
    data = json.loads((folder / "data.json").read_text())
    assert data["fields"] == {k: v for k, v in before["fields"]["all"].items() if k != "id"}
    assert [note["text"] for note in data["notes"]] == ["called back"]
    assert {s["alias"] for s in data["segments"]} >= {"data-requested"}
    assert [e["event"] for e in data["activity"]].count("form.submitted") == 1
    assert len(data["formSubmissions"]) == 1
    assert sent_since(site, base) == [(site.email_id("GDPR data export sent"), alice)]
