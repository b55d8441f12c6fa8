"""The pure parts of the request lifecycle, tested from real Mautic 5.1 answers where they parse Mautic."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from recordings import recorded_answer

from gdpr_as_code.dsr import batch, erasure, export
from gdpr_as_code.dsr.audit import AuditLog
from gdpr_as_code.dsr.journal import CRASH_ENV, CRASH_EXIT, Journal
from gdpr_as_code.dsr.pending import (
    PendingRequest,
    collection,
    contact_email,
    mask_email,
    membership,
    parse_time,
)
from gdpr_as_code.dsr.steps import Runner
from gdpr_as_code.errors import GdprAsCodeError, LockError
from gdpr_as_code.spec import DataItem


def recorded(name: str) -> dict:
    return recorded_answer(f"flows/{name}")


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jane@example.com", "j***@example.com"),
        ("  J.Doe+x@Example.org ", "J***@Example.org"),
        ("x@y.z", "x***@y.z"),
        ("not-an-address", "***"),
        ("", "(no email)"),
    ],
)
def test_mask_email_keeps_only_the_first_letter_and_the_domain(address: str, masked: str) -> None:
    assert mask_email(address) == masked


def test_membership_date_and_segment_id_from_the_real_contact_segments_answer() -> None:
    segments = collection(recorded("111_GET_contacts_13_segments_carol.json"), "lists")
    assert membership(segments, "request-to-be-forgotten") == (
        2,
        datetime(2026, 11, 29, 5, 59, 0, tzinfo=UTC),
    )
    assert membership(segments, "data-requested") == (1, datetime(2026, 11, 29, 5, 58, 38, tzinfo=UTC))
    assert membership(segments, "no-such-segment") is None


def test_address_of_record_and_dnc_from_the_real_contact_answer() -> None:
    contact = recorded("114_GET_contacts_13_carol_after_dnc.json")["contact"]
    when = parse_time("2026-11-29 05:59:00")
    request = PendingRequest("erasure", 13, when, 2, contact_email(contact), contact)
    assert request.email == "carol@example.com"
    assert request.email_dnc_reason == 3
    assert "carol" not in repr(request)
    assert request.request_id == "erasure-13-20261129T055900Z"


def test_empty_collections_come_as_arrays_or_objects() -> None:
    assert collection(recorded("102_GET_contacts_13_notes_empty.json"), "notes") == []
    assert collection({"total": "0", "contacts": {}}, "contacts") == []


def test_journal_folds_records_and_ignores_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path) as journal:
        journal.record("access-1-x", "access", 1, "begin", "done", received="2026-01-01T00:00:00+00:00")
        journal.record("access-1-x", "access", 1, "export", "start")
    with path.open("a") as handle:
        handle.write('{"time": "2026-01-0')  # the process died in the middle of a write
    with Journal(path) as journal:
        state = journal.state("access-1-x")
        assert state is not None
        assert state.is_done("begin") and state.status("export") == "start"
        assert [s.request_id for s in journal.unfinished()] == ["access-1-x"]
        journal.record("access-1-x", "access", 1, "export", "done")  # appended on a line of its own
    with Journal(path) as journal:
        assert journal.state("access-1-x").is_done("export")  # type: ignore[union-attr]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_torn_receipt_does_not_count_and_does_not_swallow_the_next(tmp_path: Path) -> None:
    path = tmp_path / "receipts.jsonl"
    erasure.append_receipts(path, [{"request": "erasure-1-x"}])
    with path.open("a") as handle:
        handle.write('{"request":"erasure-2-x","ty')
    assert erasure.receipt_ids(path) == {"erasure-1-x"}
    erasure.append_receipts(path, [{"request": "erasure-2-x"}])
    assert erasure.receipt_ids(path) == {"erasure-1-x", "erasure-2-x"}


def test_a_damaged_journal_line_in_the_middle_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    path.write_text("garbage\n" + json.dumps({"x": 1}) + "\n")
    with pytest.raises(GdprAsCodeError, match=r"journal\.jsonl is damaged at line 1"), Journal(path):
        pass


def test_a_second_run_on_the_same_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.jsonl"
    with Journal(path), pytest.raises(LockError, match="Wait for it to finish"), Journal(path):
        pass


def test_the_crash_hook_kills_the_process_at_the_requested_boundary(tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from gdpr_as_code.dsr.journal import Journal\n"
        "with Journal(Path(sys.argv[1])) as j:\n"
        "    for n in range(3): j.record('r', 'access', 1, f's{n}', 'done')\n"
    )
    path = tmp_path / "journal.jsonl"
    env = {**os.environ, CRASH_ENV: "4"}  # boundaries 1 and 2 surround record s0, 3 and 4 record s1
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)], env=env, cwd=Path(__file__).parent.parent
    )
    assert done.returncode == CRASH_EXIT
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == ["s0", "s1"]


def test_email_hash_is_keyed_and_case_insensitive() -> None:
    key = b"k" * 32
    assert erasure.email_hash(key, " Jane@Example.com") == erasure.email_hash(key, "jane@example.com")
    assert erasure.email_hash(key, "jane@example.com") != erasure.email_hash(b"x" * 32, "jane@example.com")
    assert "jane" not in erasure.email_hash(key, "jane@example.com")


@pytest.mark.parametrize(("value", "problem"), [(None, "is not set"), ("short", "shorter than 16")])
def test_erasures_refuse_to_run_without_a_receipt_key(value: str | None, problem: str) -> None:
    env = {} if value is None else {erasure.RECEIPT_KEY_ENV: value}
    with pytest.raises(GdprAsCodeError, match=problem) as caught:
        erasure.receipt_key(env)
    assert erasure.RECEIPT_KEY_ENV in str(caught.value) and "--type access" in str(caught.value)


def test_batches_never_exceed_mautics_limit() -> None:
    assert [len(b) for b in erasure.batches(list(range(450)))] == [200, 200, 50]


def test_export_files_render_every_section_and_are_private(tmp_path: Path) -> None:
    carol = recorded("098_GET_contacts_13_carol_full.json")["contact"]
    events = recorded("099_GET_contacts_13_activity_carol.json")["events"]
    document = {
        "contact": {key: carol.get(key) for key in export.CONTACT_KEYS if key in carol},
        "fields": {k: v for k, v in carol["fields"]["all"].items() if k != "id"},
        "segments": collection(recorded("111_GET_contacts_13_segments_carol.json"), "lists"),
        "companies": [],
        "campaigns": [],
        "devices": recorded("110_GET_contacts_13_devices_carol.json")["devices"],
        "notes": recorded("106_GET_contacts_13_notes_after_note.json")["notes"],
        "formSubmissions": [e["details"]["submission"] for e in events if e["event"] == "form.submitted"],
        "activity": events,
        "processing": [
            export.processing(DataItem("activity", "Pages visited", "Improve the site", "consent", (), 395))
        ],
    }
    files = export.render(document, ("json", "csv"))
    folder = export.write(tmp_path / "exports", "access-13-x", files)
    assert sorted(p.name for p in folder.iterdir()) == ["contact.csv", "data.csv", "data.json"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in folder.iterdir())
    header, row = (folder / "contact.csv").read_text().splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["email"] == "carol@example.com"
    flat = (folder / "data.csv").read_text()
    assert 'formSubmissions,0,results.request,"access, forget"' in flat
    assert "devices,0,deviceOsName,GNU/Linux" in flat
    assert "notes,0,text,GDPR request handled by oracle" in flat
    assert "processing,0,retention,395 days from last active" in flat
    assert json.loads((folder / "data.json").read_text())["fields"]["gdpr_request"] == "access|forget"
    # A rerun replaces the folder whole, never leaves a half-written one beside it.
    export.write(tmp_path / "exports", "access-13-x", {"data.json": b"{}"})
    assert sorted(p.name for p in (tmp_path / "exports").iterdir()) == ["access-13-x"]


def test_a_failure_message_echoing_the_persons_name_is_masked_in_outcome_and_audit(tmp_path: Path) -> None:
    """Names cannot be masked by pattern, only by value: a request masks its own person's names."""
    names = {"firstname": "Zacharias", "lastname": "Quintero"}
    contact = {"fields": {"all": {**names, "email": "zq@example.com"}}}
    when = datetime(2026, 1, 5, tzinfo=UTC)
    request = PendingRequest("access", 7, when, email="zq@example.com", contact=contact)

    def failing() -> None:
        raise GdprAsCodeError("Mautic refused contact 7 (Zacharias Quintero, zq@example.com): not valid")

    with Journal(tmp_path / "journal.jsonl") as journal, AuditLog(tmp_path / "audit.jsonl") as audit:
        runner = Runner(None, journal, audit, None)  # type: ignore[arg-type]  # no step here needs a setup
        outcome = runner.guarded(request, failing)
        runner.log(request, "export", "failed", str(outcome))
    written = (tmp_path / "audit.jsonl").read_text()
    for text in (outcome.detail, written):
        assert "contact 7" in text
        assert "Zacharias" not in text and "Quintero" not in text and "zq@example.com" not in text


def test_the_steps_table_is_the_sequence_the_runner_walks() -> None:
    """``STEPS`` is declared once: every per-request step has an action, and the batched steps come last, in
    the order the erasure runs them (delete, then confirm)."""
    from gdpr_as_code.dsr.steps import BATCHED, STEPS, Runner

    actions = Runner.actions(Runner.__new__(Runner))
    for kind, steps in STEPS.items():
        own = [s for s in steps if s not in BATCHED]
        assert list(steps) == own + [s for s in BATCHED if s in steps], kind
        assert set(own) <= set(actions), kind
    assert set(actions) == {s for steps in STEPS.values() for s in steps} - set(BATCHED)


def test_batched_memberships_read_as_the_contacts_own_segments_answer() -> None:
    """The stats rows of ``lead_lists_leads`` plus the segment list give what ``/contacts/{id}/segments``
    answers, value for value (both recorded on real 5.1.0, batch/)."""
    rows = recorded_answer("batch/006_GET_stats_lead_lists_leads_lead_in.json")["stats"]
    segment = recorded_answer("batch/001_POST_segments_new_static.json")["list"]
    own = recorded_answer("batch/015_GET_contacts_1_segments_first.json")
    first = [row for row in rows if row["lead_id"] == "1"]
    assert list(batch.as_segments(first, {int(segment["id"]): segment})) == collection(own, "lists")
    assert membership(batch.as_segments(first, {int(segment["id"]): segment}), "batch-requests") == (
        1,
        parse_time(collection(own, "lists")[0]["dateAdded"]),
    )


def test_batched_notes_read_as_the_contacts_own_notes_answer() -> None:
    """``/notes?where lead in`` items, ``lead: {}``, are the contact's own list items, plus ``dateTime``."""
    listed = recorded_answer("batch/013_GET_notes_where_lead_in.json")["notes"]
    own = recorded_answer("batch/016_GET_contacts_1_notes_first.json")["notes"]
    mine = [{**note, "lead": {}} for note in listed if note["lead"]["id"] == 1]
    assert [{k: v for k, v in note.items() if k != "dateTime"} for note in mine] == own
