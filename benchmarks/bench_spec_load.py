"""What line-precise, bounded loading costs: ``load_spec`` against ``yaml.safe_load`` of the same file, for
specs of 10, 100 and 1,000 objects, and how fast hostile input is refused.
Run: ``python3 benchmarks/bench_spec_load.py [SIZES...]``.

``load_spec`` does everything ``validate`` does (read, compose, alias bound, interpolation, schema, semantic
checks, Markdown); ``yaml.safe_load`` only parses (the C loader when available, as a user would get). The
ratio is ours / plain parse: the price of exact FILE:LINE:COL messages and the checks. Each figure is the best
of 5 runs.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from gdpr_as_code.errors import SpecError
from gdpr_as_code.spec import load_spec

SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def spec_text(size: int) -> str:
    """A valid spec with ``size`` objects spread over fields, segments, emails and forms."""
    quarter = max(1, size // 4)
    lines = ["version: 1", "variables:", "  company: Example Ltd", "fields:"]
    for i in range(quarter):
        lines += [f"  f{i}:", f"    alias: field_{i}", f"    label: Field {i}", "    type: select",
                  "    options:", "      - {label: A, value: a}", "      - {label: B, value: b}"]
    lines.append("segments:")
    for i in range(quarter):
        lines += [f"  s{i}:", f"    name: Segment {i} of ${{var.company}}", "    filters:",
                  f"      - {{field: f{i}, operator: in, value: [a]}}"]
    lines.append("emails:")
    for i in range(quarter):
        lines += [f"  e{i}:", f"    name: Email {i}", "    subject: Hello", "    body: |",
                  "      Hello **{contactfield=firstname}**,", "", "      - one", "      - two"]
    lines.append("forms:")
    for i in range(quarter):
        lines += [f"  form{i}:", f"    name: Form {i}", "    message: Thanks", "    fields:",
                  "      email: {label: Email, type: email, required: true, contact_field: email}",
                  f"      choice: {{label: Choice, type: checkboxgrp, contact_field: f{i}}}",
                  "    actions:", f"      add: {{type: add_to_segments, segments: [s{i}]}}",
                  f"      mail: {{type: send_email, email: e{i}}}"]
    return "\n".join(lines) + "\n"


def best(run: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def refused(path: Path) -> None:
    try:
        load_spec(path, env={})
    except SpecError:
        return
    raise AssertionError(f"{path} was accepted")


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        header = ("objects", "KiB", "load_spec ms", "safe_load ms", "ratio", "ms/object")
        print("{:>8} {:>7} {:>13} {:>13} {:>7} {:>10}".format(*header))
        for size in sizes:
            path = root / f"spec{size}.yaml"
            text = spec_text(size)
            path.write_text(text, encoding="utf-8")
            ours = best(lambda path=path: load_spec(path, env={}))
            plain = best(lambda text=text: yaml.load(text, Loader=SafeLoader))
            print(f"{size:>8} {len(text) / 1024:>7.1f} {ours * 1000:>13.1f} {plain * 1000:>13.1f} "
                  f"{ours / plain:>7.1f} {ours * 1000 / size:>10.2f}")
        bomb = root / "bomb.yaml"
        levels = [f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n"
                  for i in range(8)]
        bomb.write_text("a: &a [" + ", ".join(["x"] * 10) + "]\n" + "".join(levels))
        big = root / "big.yaml"
        big.write_bytes(b"version: 1\n" + b"#" * 10_000_000)
        print(f"billion laughs (10^9 values) refused in {best(lambda: refused(bomb)) * 1000:.1f} ms; "
              f"10 MB file refused in {best(lambda: refused(big)) * 1000:.1f} ms")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10, 100, 1000])
