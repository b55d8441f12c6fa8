"""One self-contained HTML page for a privacy officer to open or print: inline CSS and SVG, no script, no
file or font from elsewhere. ``requests list --format html`` fills it with the pending requests (each one's
age against its deadline as a small bar) and the consent text live in Mautic; an audit report plugs in its
findings as another ``Section`` (``findings_section``).

Everything shown goes through the redactor once, at the end (``page``); rows arrive with emails masked.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gdpr_as_code.redact import Redactor

CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2733;margin:2rem auto;
max-width:62rem;padding:0 1rem}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:2px solid #1f3a5f}
.sub{color:#566370;margin:0 0 1rem}table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d8dee4;vertical-align:top}
th{background:#f2f5f8;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.late{color:#a4161a;font-weight:600}.ok{color:#2b7a0b}.box{background:#f7f9fb;border-left:4px solid #1f3a5f;
padding:.6rem .8rem;margin:.4rem 0}.tag{font-size:.8rem;border-radius:3px;padding:0 .3rem;background:#e6ecf2}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}
""".strip()


@dataclass(frozen=True)
class Section:
    """One part of the page: a heading and its HTML body (already escaped)."""

    heading: str
    body: str


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()) -> str:
    """A table of cells that are already HTML; ``numeric`` columns align right."""
    right = set(numeric)
    head = "".join(f'<th{" class=num" if i in right else ""}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f'<td{" class=num" if i in right else ""}>{cell}</td>' for i, cell in enumerate(row))
        + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def deadline_bar(age_days: int, deadline_days: int, width: int = 160) -> str:
    """An inline SVG bar: the age of a request against its deadline (red once past it)."""
    share = min(age_days / max(deadline_days, 1), 1.0)
    colour = "#a4161a" if age_days > deadline_days else "#d98e04" if share >= 0.75 else "#2b7a0b"
    label = f"{age_days} of {deadline_days} days"
    return (f'<svg width="{width}" height="14" viewBox="0 0 {width} 14" role="img" aria-label="{label}">'
            f'<title>{label}</title><rect width="{width}" height="14" rx="3" fill="#e6ecf2"/>'
            f'<rect width="{round(width * share)}" height="14" rx="3" fill="{colour}"/></svg>')


def requests_section(rows: Sequence[Mapping[str, Any]], deadline_days: int) -> Section:
    """The pending requests: type, contact, masked email, received, age as a bar, status."""
    if not rows:
        return Section("Pending requests", "<p class=ok>No pending GDPR requests.</p>")
    cells = [
        [esc(row["type"]), esc(row["contact"]), esc(row["email"]), esc(str(row["received"])[:10]),
         deadline_bar(int(row["age_days"]), deadline_days),
         '<span class=late>overdue</span>' if row["overdue"] else
         f'due in {esc(row["days_left"])} days' + (' <span class=tag>in progress</span>'
                                                  if row.get("in_progress") else "")]
        for row in rows
    ]
    late = sum(1 for row in rows if row["overdue"])
    summary = (f"<p>{len(rows)} pending, <span class={'late' if late else 'ok'}>{late} overdue</span> "
               f"(deadline {deadline_days} days, GDPR Art. 12(3)).</p>")
    return Section("Pending requests", summary + table(
        ["Type", "Contact", "Email", "Received", "Age against the deadline", "Status"], cells, numeric=[1]))


def consent_section(texts: Sequence[Mapping[str, str]]) -> Section:
    """The consent texts people see now, as Mautic holds them, each against the spec's."""
    if not texts:
        return Section("Consent text live in Mautic", "<p>The spec declares no consent banner or box.</p>")
    parts = []
    for text in texts:
        same = text["live"] == text["spec"]
        state = ('<span class=ok>as in the spec</span>' if same else
                 '<span class=late>differs from the spec</span> (apply brings it back)' if text["live"] else
                 '<span class=late>not in Mautic</span> (apply creates it)')
        shown = esc(text["live"] or text["spec"])
        parts.append(f"<h3>{esc(text['where'])} — {state}</h3><div class=box>{shown}</div>")
    return Section("Consent text live in Mautic", "".join(parts))


def findings_section(findings: Sequence[Mapping[str, str]]) -> Section:
    """An audit's findings (``severity``, ``what``, ``fix``): where ``audit --format html`` plugs in."""
    if not findings:
        return Section("Findings", "<p class=ok>No findings.</p>")
    return Section("Findings", table(["Severity", "Finding", "Fix"],
                                     [[esc(f["severity"]), esc(f["what"]), esc(f.get("fix", ""))]
                                      for f in findings]))


def page(title: str, subtitle: str, sections: Sequence[Section], redactor: Redactor) -> str:
    """The whole document, through the redactor."""
    body = "".join(f"<section><h2>{esc(s.heading)}</h2>{s.body}</section>" for s in sections)
    document = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
                f'<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>{esc(title)}</title><style>{CSS}</style></head><body><header><h1>{esc(title)}</h1>"
                f'<p class=sub>{esc(subtitle)}</p></header>{body}</body></html>\n')
    return redactor.text(document)
