"""The audit report as text (a terminal), JSON (machines) and Markdown (a ticket or a PR comment).

Findings are grouped by check in a fixed order, each naming the object, the article and the fix. Contacts
appear only by id and masked address; everything printed goes through the redactor at the CLI."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from gdpr_as_code.audit.checks import Finding

AUDIT_FORMAT_VERSION = 1
TITLES = {
    "form-without-consent": "Forms collecting personal data without consent",
    "consent-banner": "Consent banner",
    "request-form": "GDPR request form",
    "request-segment": "Request segments",
    "notification-email": "Notification emails",
    "request-overdue": "Requests past their deadline",
    "past-retention": "Contacts past retention",
    "reimported-erased": "Erased people imported again",
    "stale-segment-cron": "Segment cron",
}
SHOWN_PER_CHECK = 20


@dataclass(frozen=True)
class Report:
    """What ``audit`` found on ``instance`` (checked against ``spec``, or Mautic alone)."""

    instance: str
    spec: str | None
    findings: tuple[Finding, ...]
    guesses: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # checks that could not run, and why

    @property
    def exit_code(self) -> int:
        """0 clean, 2 with findings (1 is an error, raised before a report exists)."""
        return 2 if self.findings else 0

    def groups(self) -> list[tuple[str, list[Finding]]]:
        return [(check, [f for f in self.findings if f.check == check])
                for check in TITLES if any(f.check == check for f in self.findings)]

    def as_dict(self) -> dict[str, object]:
        return {"audit_format_version": AUDIT_FORMAT_VERSION, "instance": self.instance, "spec": self.spec,
                "clean": not self.findings, "counts": {c: len(fs) for c, fs in self.groups()},
                "findings": [f.to_dict() for f in self.findings], "recognised": list(self.guesses),
                "notes": list(self.notes)}

    def as_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, ensure_ascii=False)

    def _against(self) -> str:
        return f"against {self.spec}" if self.spec else "Mautic alone (no spec)"

    def text(self) -> str:
        notes = [f"Note: {note}" for note in self.notes]
        if not self.findings:
            return "\n".join([f"GDPR audit of {self.instance} ({self._against()}): no findings.", *notes])
        lines = [f"GDPR audit of {self.instance} ({self._against()}): {len(self.findings)} finding(s)."]
        for check, found in self.groups():
            lines += ["", f"{TITLES[check]} ({len(found)})"]
            for f in found[:SHOWN_PER_CHECK]:
                lines += [f"  ! {_object(f)}: {f.problem} [{f.article}]", f"      fix: {f.fix}"]
            lines += _more(found)
        if self.guesses:
            lines += ["", "Recognised (no spec given):", *(f"  {g}" for g in self.guesses)]
        return "\n".join([*lines, *([""] if notes else []), *notes])

    def markdown(self) -> str:
        notes = [f"> {note}" for note in self.notes]
        if not self.findings:
            return "\n\n".join([f"### GDPR audit of `{self.instance}`", f"No findings ({self._against()}).",
                                 *notes])
        lines = [f"### GDPR audit of `{self.instance}`", "",
                 f"**{len(self.findings)} finding(s)**, {self._against()}."]
        for check, found in self.groups():
            lines += ["", f"#### {TITLES[check]} ({len(found)})", "", "| object | finding | article | fix |",
                      "|---|---|---|---|"]
            lines += [f"| {_cell(_object(f))} | {_cell(f.problem)} | {f.article} | {_cell(f.fix)} |"
                      for f in found[:SHOWN_PER_CHECK]]
            lines += _more(found)
        return "\n".join([*lines, *([""] if notes else []), *notes])


def _object(f: Finding) -> str:
    where = f"{f.kind} #{f.id}" if f.id is not None else f.kind
    return f"{where} {f.name!r}" if f.name else where


def _more(found: Iterable[Finding]) -> list[str]:
    rest = list(found)[SHOWN_PER_CHECK:]
    return [f"  ... and {len(rest)} more (--json lists all)"] if rest else []


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
