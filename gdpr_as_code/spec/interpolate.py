"""``${var.NAME}`` and ``${env.NAME}`` in spec values and body files, each problem at its line and column.

Kept apart from the YAML loader: the same rules apply to a scalar in the spec and to a whole email body file,
and only the way an offset becomes a line and column differs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
    is refused: its value would be copied into Mautic objects, plans and receipts.
    """

    variables: Mapping[str, str] | None
    env: Mapping[str, str]

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


def _column_of(node: ScalarNode, offset: int) -> tuple[int, int]:
    """Line/column of character ``offset`` of a scalar's value (exact for one-line plain and quoted
    scalars)."""
    line, column = node.start_mark.line + 1, node.start_mark.column + 1
    if node.start_mark.line == node.end_mark.line:
        column += offset + (1 if node.style in ("'", '"') else 0)
    return line, column
