"""Email bodies: read from files next to the spec (located, interpolated, hashed) and rendered to HTML.

The builder asks a ``BodyReader`` for a file's text and a ``MarkdownRenderer`` for the HTML Mautic sends; both
keep file access and Markdown out of the pure checks in ``build``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown

from gdpr_as_code.errors import Problem, SpecError
from gdpr_as_code.spec.yaml_loader import Locator, Path_, read_text

BodyReader = Callable[[str, Path_], str | None]
"""Reads an email body file (relative to the spec), interpolates it, and returns its text (None on a
problem)."""

_HTML_PAGE = (
    '<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"></head>\n<body>\n{body}\n</body>\n</html>\n'
)
"""The document a Markdown body is wrapped in (Mautic sends customHtml as the whole message)."""


class MarkdownRenderer:
    """Renders email bodies to HTML documents, reusing one Markdown converter per spec load (building one
    loads its extensions, which costs more than converting a short email; a converter is not thread-safe,
    so it is never shared between loads)."""

    def __init__(self) -> None:
        self._converter: markdown.Markdown | None = None

    def __call__(self, text: str, body_format: str) -> str:
        """The email's HTML: Markdown rendered (tables, lists, links) and wrapped as a document, or HTML as
        given."""
        if body_format == "html":
            return text
        if self._converter is None:
            self._converter = markdown.Markdown(extensions=["extra", "sane_lists"], output_format="html")
        body = self._converter.reset().convert(text)
        return _HTML_PAGE.format(body=body)


def read_body_file(
    spec_dir: Path,
    interpolate: Callable[[str, str, list[Problem]], str],
    problems: list[Problem],
    locator: Locator,
    digest: Any,
) -> BodyReader:
    """A ``BodyReader`` for files next to the spec; a missing file is reported at the body_file line, and
    problems inside the file are located in it (named as the spec is named: relative stays relative).
    ``digest`` (a hashlib object) takes each file's name and bytes, so the spec's hash covers its bodies."""

    def read(relative: str, where: Path_) -> str | None:
        path = spec_dir / relative
        if not path.is_file():
            problems.append(
                locator.problem(
                    where,
                    f"email body file '{relative}' does not exist",
                    "create it, or fix the path (it is relative to the spec's folder)",
                )
            )
            return None
        try:
            text, raw = read_text(path, str(path))
        except SpecError as err:
            problems.extend(err.problems)
            return None
        digest.update(b"\0" + relative.encode() + b"\0" + raw)
        return interpolate(text, str(path), problems)

    return read
