"""How the sandbox's contact side scales: 1,000 versus 10,000 contacts. Run:
``python3 benchmarks/bench_sandbox_contacts.py [SMALL LARGE]``.

For each size, over HTTP against one sandbox: create the contacts with batch requests of 200, list one page of
100 (default order), search ``segment:<alias>`` for a segment holding a tenth of them, rebuild a filter-based
segment (``mautic:segments:update``), and submit the public form 50 times. Figures are printed as times and as
the ratio large / small: a ratio near large/small (10) is linear; near its square (100) would be quadratic.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from gdpr_as_code.sandbox import Sandbox

AUTH = ("admin", "sandbox")
BATCH = 200
SUBMITS = 50
OPTIONS = [{"label": "Access", "value": "access"}, {"label": "Forget", "value": "forget"}]


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def setup(api: httpx.Client) -> tuple[int, int]:
    """A multiselect field, a static segment, a filter segment and a mapped form: (form id, segment id)."""
    field = {"label": "GDPR Request", "alias": "gdpr_request", "type": "multiselect",
             "properties": {"list": OPTIONS}}
    api.post("/api/fields/contact/new", json=field)
    static = api.post("/api/segments/new", json={"name": "Tenth", "alias": "tenth"}).json()["list"]["id"]
    forget = {"glue": "and", "field": "gdpr_request", "object": "lead", "type": "multiselect",
              "operator": "in", "properties": {"filter": ["forget"]}}
    api.post("/api/segments/new", json={"name": "Forget", "alias": "forget", "filters": [forget]})
    fields = [{"label": "Email", "alias": "email", "type": "email", "isRequired": True,
               "mappedObject": "contact", "mappedField": "email"},
              {"label": "Request", "alias": "request", "type": "checkboxgrp", "mappedObject": "contact",
               "mappedField": "gdpr_request", "properties": {"syncList": 0, "optionlist": {"list": OPTIONS}}}]
    actions = [{"name": "Static", "type": "lead.changelist", "properties": {"addToLists": [static],
                                                                             "removeFromLists": []}}]
    form = api.post("/api/forms/new", json={"name": "Request", "fields": fields, "actions": actions,
                                            "postAction": "message", "postActionProperty": "Thanks"})
    return form.json()["form"]["id"], static


def run(size: int) -> dict[str, float]:
    """Seconds per step for ``size`` contacts on a fresh sandbox."""
    with Sandbox() as sandbox, httpx.Client(base_url=sandbox.url, auth=AUTH, timeout=120) as api:
        form_id, static = setup(api)
        people = [{"email": f"p{n}@example.com", "firstname": f"P{n}",
                   "gdpr_request": ["forget"] if n % 3 == 0 else ["access"]} for n in range(size)]

        def create() -> None:
            for start in range(0, size, BATCH):
                answer = api.post("/api/contacts/batch/new", json=people[start : start + BATCH])
                assert answer.status_code == 201, answer.text

        figures = {"create (batches of 200)": timed(create)}
        for contact_id in range(1, size + 1, 10):
            api.post(f"/api/segments/{static}/contact/{contact_id}/add")
        figures["list one page of 100"] = timed(lambda: api.get("/api/contacts", params={"limit": 100}))
        figures["search segment:tenth (all)"] = timed(
            lambda: api.get("/api/contacts", params={"search": "segment:tenth", "limit": 0, "minimal": 1})
        )
        rebuild = sandbox.url + "/_sandbox/segments/rebuild"
        figures["rebuild filter segment"] = timed(lambda: httpx.post(rebuild))

        def submit() -> None:
            for n in range(SUBMITS):
                body = [("mauticform[email]", f"s{n}@example.com"), ("mauticform[request][]", "forget")]
                httpx.post(f"{sandbox.url}/form/submit?formId={form_id}&ajax=true",
                           files=[(k, (None, v)) for k, v in body])

        figures[f"{SUBMITS} form submits"] = timed(submit)
        sandbox.check_errors()
        return figures


def main(argv: list[str]) -> None:
    small, large = (int(a) for a in argv) if len(argv) == 2 else (1000, 10000)
    first, second = run(small), run(large)
    print(f"{'step':32} {small:>8} {large:>8}   ratio (linear = {large / small:g})")
    for step in first:
        print(f"{step:32} {first[step]:7.2f}s {second[step]:7.2f}s   {second[step] / first[step]:6.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])
