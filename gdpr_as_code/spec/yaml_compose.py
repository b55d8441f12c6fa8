"""Composing YAML text into nodes, bounded: YAML 1.2 booleans, no dates, a nesting limit, an alias-bomb check.

The limits are explained in ``yaml_loader`` (which builds located data from these nodes).
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from gdpr_as_code.errors import Problem, SpecError

MAX_DEPTH = 64
MAX_NODES = 100_000

_TOKEN_WORDS = {
    "'<block mapping start>'": "a new 'key: value' line",
    "'<block sequence start>'": "a new '- item' line",
    "'<block end>'": "the end of the indented block",
    "<block end>": "the end of the indented block",
    "'<scalar>'": "a value",
    "'<block entry>'": "a '- item' line",
}
"""PyYAML's token names in syntax errors, in words a spec author knows."""




class _Resolver(Resolver):
    """YAML 1.2-style implicit types: only ``true``/``false`` are booleans and dates stay strings.

    A privacy officer writing ``language: no`` (Norwegian) or ``answer: yes`` must get the text they wrote.
    """


_BOOL = "tag:yaml.org,2002:bool"
for _first, _resolvers in Resolver.yaml_implicit_resolvers.items():
    _kept = [(tag, rx) for tag, rx in _resolvers if tag not in (_BOOL, "tag:yaml.org,2002:timestamp")]
    _Resolver.yaml_implicit_resolvers = {**_Resolver.yaml_implicit_resolvers, _first: _kept}
_Resolver.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Depth(Exception):
    """Raised inside the composer when collections nest deeper than ``MAX_DEPTH``."""

    def __init__(self, mark: yaml.Mark) -> None:
        super().__init__("too deep")
        self.mark = mark


class PureComposer(Reader, Scanner, Parser, Composer, SafeConstructor, _Resolver):
    """PyYAML's pure-Python composer with a nesting bound; constructs scalars only (collections are ours)."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        _Resolver.__init__(self)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:  # type: ignore[override]
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Depth(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


try:
    from yaml.cyaml import CParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _CComposer = None
else:

    class _CComposer(CParser, SafeConstructor, _Resolver):  # type: ignore[no-redef]
        """libyaml's composer with our YAML 1.2 booleans and no dates."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            SafeConstructor.__init__(self)
            _Resolver.__init__(self)


def compose(text: str, display: str) -> Node | None:
    """Compose the YAML text into nodes, turning every parser error into a located ``SpecError``.

    libyaml (when PyYAML has it) composes a valid document about 10 times faster; any problem is then worded
    by the pure-Python composer, so messages are the same on every installation.
    """
    tab = _indent_tab(text)
    if tab is not None:
        raise SpecError([Problem(display, tab[0], tab[1],
            "a tab is used for indentation; YAML allows only spaces",
            "replace the tab with spaces (set your editor to insert spaces)")])
    if _CComposer is not None:
        try:
            return _compose_fast(text)
        except (yaml.YAMLError, _Depth):
            pass
    return _compose_pure(text, display)


def _compose_fast(text: str) -> Node | None:
    """Compose with libyaml after checking the nesting depth on its event stream (libyaml's composer is
    recursive C code: too deep a document would overflow the C stack, not raise)."""
    assert _CComposer is not None
    depth = 0
    for event in yaml.parse(text, Loader=_CComposer):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _Depth(event.start_mark)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return _CComposer(text).get_single_node()


def _compose_pure(text: str, display: str) -> Node | None:
    """Compose with PyYAML's Python composer, bounded in depth; every error becomes a located problem."""
    loader = PureComposer(text)
    try:
        node = loader.get_single_node()
    except _Depth as err:
        raise SpecError([Problem(display, err.mark.line + 1, err.mark.column + 1,
            f"the document nests more than {MAX_DEPTH} levels deep",
            "flatten the structure; a spec needs fewer than 10 levels")]) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = err.problem or "invalid YAML"
        for token, words in _TOKEN_WORDS.items():
            what = what.replace(token, words)
        if err.context and err.context.startswith("expected"):
            what = f"{err.context}, {what}"
        elif err.context and err.context_mark and mark and err.context_mark.line != mark.line:
            what += f" ({err.context} started at line {err.context_mark.line + 1})"
        elif err.context:
            what = f"{err.context}: {what}"
        raise SpecError([Problem(display, line, column, f"YAML syntax error: {what}",
            "fix the YAML syntax here (check indentation, quotes and a missing ':' or '-')")]) from None
    except yaml.YAMLError as err:
        raise SpecError([Problem(display, 1, 1, f"YAML error: {err}", "fix the YAML syntax")]) from None
    finally:
        loader.dispose()
    return node


def _indent_tab(text: str) -> tuple[int, int] | None:
    """The first tab inside a line's leading whitespace (PyYAML's own message for it is cryptic)."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip(" \t")
        if "\t" in line[: len(line) - len(stripped)] and stripped and not stripped.startswith("#"):
            return number, line.index("\t") + 1
    return None


def check_expansion(root: Node, display: str) -> None:
    """Refuse documents whose aliases would expand past ``MAX_NODES`` values, or that refer to themselves."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        ident = id(node)
        if ident in sizes:
            return sizes[ident]
        if ident in active:
            raise SpecError([located(display, node,
                                     "an alias refers to a collection that contains it (a cycle)",
                                     "remove the self-reference; anchors may only point to finished values")])
        active.add(ident)
        total = 1
        if isinstance(node, SequenceNode):
            total += sum(size(item) for item in node.value)
        elif isinstance(node, MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        active.discard(ident)
        if total > MAX_NODES:
            raise SpecError([located(display, node,
                f"aliases expand this value to more than {MAX_NODES:,} values (an alias bomb?)",
                "use anchors and aliases only for small shared values, or write the values out")])
        sizes[ident] = total
        return total

    size(root)


def located(display: str, node: Node, message: str, fix: str) -> Problem:
    """A problem at ``node``'s line and column."""
    return Problem(display, node.start_mark.line + 1, node.start_mark.column + 1, message, fix)
