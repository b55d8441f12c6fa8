"""``${var.NAME}`` and ``${env.NAME}`` in spec values and body files, each problem at its line and column.

Kept apart from the YAML loader: the same rules apply to a scalar in the spec and to a whole email body file,
and only the way an offset becomes a line and column differs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from yaml.nodes import ScalarNode

from gdpr_as_code.errors import Problem
from gdpr_as_code.redact import secret_env_names

_INTERPOLATION = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_REFERENCE = re.compile(r"(var|env)\.([A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True)
class Interpolator:
    """Replaces ``${var.NAME}`` and ``${env.NAME}`` in text; ``$${`` stands for a literal ``${``.

    An undefined name is a problem at its line, never an empty string (an empty URL or label would be
    applied). ``variables=None`` means ``${var.…}`` is not available in this part of the document. An
    environment variable whose name says it holds a secret (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ...)
    is refused: its value would be copied into Mautic objects, plans and receipts. ``used`` collects every
    ``${var.NAME}`` met, so an override the spec never uses can be told apart from one it does.
    """

    variables: Mapping[str, str] | None
    env: Mapping[str, str]
    used: set[str] = field(default_factory=set, compare=False)

    def scalar(self, text: str, node: ScalarNode, display: str, problems: list[Problem]) -> str:
        """Interpolate a YAML scalar; problems point into the YAML file."""
        return self.text(text, display, lambda offset: _column_of(node, offset), problems)

    def document(self, text: str, display: str, problems: list[Problem]) -> str:
        """Interpolate a whole text file (an email body); problems point into that file."""

        def locate(offset: int) -> tuple[int, int]:
            return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1

        return self.text(text, display, locate, problems)

    def text(self, text: str, display: str, locate: Callable[[int], tuple[int, int]],
             problems: list[Problem]) -> str:
        """Substitute every reference; ``locate`` turns an offset in ``text`` into a line and column."""

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            reference = _REFERENCE.fullmatch(match.group(1).strip())
            line, column = locate(match.start())
            if reference is None:
                problems.append(Problem(display, line, column,
                    f"'${{{match.group(1)}}}' is not a variable reference",
                    "write ${var.NAME} or ${env.NAME}, or $${ for a literal '${'"))
                return ""
            scope, name = reference.groups()
            if scope == "var":
                self.used.add(name)
            if scope == "env" and secret_env_names({name: ""}):
                problems.append(Problem(display, line, column,
                    f"${{env.{name}}} would copy a secret into the spec's content (and so into Mautic, plans "
                    "and receipts)",
                    "secrets only belong in the target's *_env keys, which name the variable without "
                    "reading it"))
                return ""
            table = self.env if scope == "env" else self.variables
            if table is None:
                problems.append(Problem(display, line, column,
                    f"${{var.{name}}} cannot be used here: there are no variables at this place",
                    "use ${env.NAME}, a literal value, or $${ for a literal '${'"))
                return ""
            if name not in table:
                fix = (f"set the environment variable {name}" if scope == "env"
                       else f"declare {name} under 'variables:' or pass it from the inventory")
                problems.append(Problem(display, line, column,
                    f"undefined {'environment variable' if scope == 'env' else 'variable'} '{name}'", fix))
                return ""
            return str(table[name])

        return _INTERPOLATION.sub(substitute, text)


Origin = tuple[str, int, int]
"""Where an override was set: FILE, LINE, COLUMN (an inventory's ``variables:`` key)."""


def unknown_overrides(
    spec: str, known: Collection[str], overrides: Collection[str], origins: Mapping[str, Origin]
) -> list[Problem]:
    """Overrides the spec neither declares nor uses: a typo (``compny``) would otherwise be ignored in
    silence and the default (another company's name) go live. Each is located where it was set; one
    without an origin came from the command line (``--var``)."""
    problems: list[Problem] = []
    for name in sorted(set(overrides) - set(known)):
        file, line, column = origins.get(name, (f"--var {name}", 0, 0))
        close = difflib.get_close_matches(name, sorted(known), n=1)
        listed = f"its variables are {', '.join(sorted(known))}" if known else "it uses no variables"
        fix = (f"did you mean '{close[0]}'? Otherwise remove it ({listed})" if close
               else f"remove it, or declare it under 'variables:' in {spec} ({listed})")
        problems.append(Problem(file, line, column,
            f"variable '{name}' is not known to {spec}: the spec neither declares it under 'variables:' nor "
            f"uses ${{var.{name}}}, so its value would be ignored", fix))
    return problems


def _column_of(node: ScalarNode, offset: int) -> tuple[int, int]:
    """Line/column of character ``offset`` of a scalar's value (exact for one-line plain and quoted
    scalars)."""
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if node.start_mark.line == node.end_mark.line:
        column += offset + (1 if node.style in ("'", '"') else 0)
    return line, column
