"""The one YAML loader: safe, bounded, line-precise, with ``${var.NAME}`` / ``${env.NAME}`` (``interpolate``).

Why not ``yaml.safe_load``: it keeps the last of two duplicate keys silently, loses every line number, turns
``no`` into ``False`` and ``2024-05-25`` into a date, and lets an alias bomb ("billion laughs") explode in
whatever walks the result. Here the document is composed into nodes (bounded in bytes and depth), checked for
alias expansion, then converted into plain JSON-like data while a ``Locator`` remembers where every value and
key came from, so any later check can say ``FILE:LINE:COL``.

Limits (each refusal names the line; the composer's two are in ``yaml_compose``):

- ``MAX_FILE_BYTES`` = 1 MiB: a spec or inventory is a few kilobytes; the pure-Python composer (used to word
  problems) reads about 1-2 MB/s, so the limit bounds a run to about a second and a few MB of memory whatever
  the input.
- ``MAX_DEPTH`` = 64 nested collections: real documents nest fewer than 10; deeper input would only exhaust
  the recursion of the composers.
- ``MAX_NODES`` = 100,000 values after alias expansion: real documents have a few hundred; aliases are allowed
  (useful for shared colours or texts) but cannot multiply the document.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gdpr_as_code.errors import Problem, SpecError
from gdpr_as_code.spec.interpolate import Interpolator
from gdpr_as_code.spec.yaml_compose import PureComposer, check_expansion, compose, located

MAX_FILE_BYTES = 1024 * 1024

Path_ = tuple[str | int, ...]
"""A JSON path into the loaded data: mapping keys and sequence indexes."""

_PLAIN_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)
"""The only node types a document may hold: YAML's JSON-compatible core (no !!python/..., !!binary, ...)."""


@dataclass(frozen=True)
class Locator:
    """Where each value (and each mapping key) of a loaded document is: 1-based line and column.

    ``problem(path, message, fix)`` makes a ``Problem`` at the value at ``path`` (or its nearest located
    ancestor); with ``key=True`` it points at the key instead (for unknown or duplicate keys). ``where`` gives
    the same place as ``FILE:LINE:COL`` for later stages' messages.
    """

    file: str
    values: Mapping[Path_, tuple[int, int]]
    keys: Mapping[Path_, tuple[int, int]]

    def position(self, path: Path_, *, key: bool = False) -> tuple[int, int]:
        """Line and column of the value (or key) at ``path``, falling back to the closest ancestor."""
        table = self.keys if key else self.values
        probe = tuple(path)
        while probe:
            if probe in table:
                return table[probe]
            if probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
        return self.values.get((), (1, 1))

    def where(self, path: Path_, *, key: bool = False) -> str:
        """``FILE:LINE:COL`` of the value (or key) at ``path``, for messages in later stages."""
        line, column = self.position(path, key=key)
        return f"{self.file}:{line}:{column}"

    def problem(self, path: Path_, message: str, fix: str = "", *, key: bool = False) -> Problem:
        """A ``Problem`` located at the value (or key) at ``path``."""
        line, column = self.position(path, key=key)
        return Problem(self.file, line, column, message, fix)


def display_path(path: Path_) -> str:
    """``forms[0].fields[2].label``: how a location inside the document is named in messages."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "the document"


def read_text(path: Path, display: str) -> tuple[str, bytes]:
    """The file's text and bytes, refusing what is too big, not UTF-8, or not a file, with the line."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except IsADirectoryError:
        raise SpecError([Problem(display, 1, 1, "this is a directory, not a YAML file",
                                 "give the path of the .yaml file")]) from None
    except FileNotFoundError:
        raise SpecError([Problem(display, 1, 1, "the file does not exist",
                                 "check the path (it is relative to the current directory)")]) from None
    except OSError as err:
        raise SpecError([Problem(display, 1, 1, f"the file cannot be read ({err.strerror})",
                                 "check the path and its permissions")]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError([Problem(display, 1, 1,
            f"the file is over the {MAX_FILE_BYTES:,}-byte limit for a spec ({path.stat().st_size:,} bytes)",
            "a spec is a few kilobytes: check that this is the right file, and keep long email bodies "
            "in their own files (body_file)")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        column = err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1
        raise SpecError([Problem(display, line, column,
            f"byte 0x{raw[err.start]:02x} is not valid UTF-8",
            "save the file as UTF-8 (editors: \"Save with encoding\"; iconv -f latin1 -t utf-8)")]) from None
    return text.removeprefix("\ufeff"), raw


class _Builder:
    """Turns nodes into plain data (dict/list/str/int/float/bool/None), recording locations and problems."""

    def __init__(self, display: str, resolve: Callable[[str, ScalarNode, Path_], str] | None) -> None:
        self.display = display
        self.resolve = resolve
        self.values: dict[Path_, tuple[int, int]] = {}
        self.keys: dict[Path_, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self._scalars = PureComposer("")

    def build(self, node: Node, path: Path_) -> Any:
        self.values.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
        if node.tag not in _PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(located(self.display, node, f"unsupported YAML tag {tag}",
                                     "remove the tag (values are plain text, numbers, true/false or null)"))
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: MappingNode, path: Path_) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.extend(value_node.value if isinstance(value_node, SequenceNode) else [value_node])
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(located(self.display, key_node, "a mapping key must be a plain name",
                                         "use a simple word as the key"))
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problems.append(located(self.display, key_node,
                    f"duplicate key '{key}' (first defined at line {first_line[key]})",
                    "remove one of them or merge their contents; YAML would silently keep only the last"))
                continue
            first_line[key] = line
            self.keys[(*path, key)] = (line, key_node.start_mark.column + 1)
            result[key] = self.build(value_node, (*path, key))
        for merged in merges:
            if not isinstance(merged, MappingNode):
                self.problems.append(located(self.display, merged,
                                             "'<<' must merge a mapping (an alias to one)",
                                             "point '<<' at an anchored mapping such as '<<: *defaults'"))
                continue
            for key, value in self._mapping(merged, path).items():
                result.setdefault(key, value)
        return result

    def _scalar(self, node: ScalarNode, path: Path_) -> Any:
        if node.tag == "tag:yaml.org,2002:str":
            text = str(node.value)
            return self.resolve(text, node, path) if self.resolve and "$" in text else text
        return self._scalars.construct_object(node, deep=True)


def load_nodes(
    path: Path, *, display: str | None = None
) -> tuple[Node | None, bytes]:
    """Read and compose a YAML file with every bound applied; ``None`` for an empty document."""
    shown = display or str(path)
    text, raw = read_text(path, shown)
    root = compose(text, shown)
    if root is not None:
        check_expansion(root, shown)
    return root, raw


def build_data(
    root: Node | None,
    display: str,
    *,
    interpolate: Interpolator | None,
    skip: Path_ | None = None,
) -> tuple[Any, Locator, list[Problem]]:
    """Convert composed nodes into plain data plus a ``Locator`` and the problems met on the way.

    ``skip`` names one top-level key not to interpolate (its values are built separately, e.g. ``variables``).
    """
    problems: list[Problem] = []

    def resolve(text: str, node: ScalarNode, path: Path_) -> str:
        if interpolate is None or (skip is not None and path[: len(skip)] == skip):
            return text
        if path and isinstance(path[-1], str) and path[-1].endswith("_env") and "${" in text:
            problems.append(located(display, node, f"{path[-1]} must be the NAME of an environment variable, "
                                "written as is", "write the variable's name (e.g. MAUTIC_PASSWORD); ${...} "
                                "would put the secret itself into the spec"))
            return text
        return interpolate.scalar(text, node, display, problems)

    builder = _Builder(display, resolve)
    data = builder.build(root, ()) if root is not None else None
    return data, Locator(display, builder.values, builder.keys), builder.problems + problems


def load_yaml_document(
    path: str | os.PathLike[str],
    schema: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    interpolate: bool = True,
) -> tuple[Any, Locator]:
    """Load any YAML file of ours (spec, inventory) as plain data with line-precise errors.

    Signature: ``load_yaml_document(path, schema=None, *, env=None, interpolate=True) -> (data, Locator)``.
    Applies the size/depth/alias bounds, refuses duplicate keys, replaces ``${env.NAME}`` from ``env``
    (default ``os.environ``; ``${var.…}`` is a spec-only feature and is an error here), then validates against
    ``schema`` (a JSON Schema 2020-12 dict) if given. Raises ``SpecError`` listing every problem; use the
    returned ``Locator`` (``locator.problem(path, message, fix)``) to report your own semantic problems at the
    right line.
    """
    from gdpr_as_code.spec.schema import schema_problems  # import cycle: schema uses Locator

    source = Path(path)
    display = str(path)
    root, _ = load_nodes(source, display=display)
    interpolator = Interpolator(None, os.environ if env is None else env) if interpolate else None
    data, locator, problems = build_data(root, display, interpolate=interpolator)
    if not problems and schema is not None:
        problems = schema_problems(data, schema, locator)
    if problems:
        raise SpecError(sorted_problems(problems))
    return data, locator


def sorted_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order, each reported once."""
    return sorted(set(problems), key=lambda p: (p.file, p.line, p.column, p.message))
