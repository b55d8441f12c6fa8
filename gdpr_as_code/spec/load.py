"""``load_spec``: file -> bounded YAML -> variables -> literal-secret check -> schema -> meaning ->
``Spec``."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from yaml.nodes import MappingNode, Node

from gdpr_as_code.errors import Problem, SpecError
from gdpr_as_code.spec.bodies import read_body_file
from gdpr_as_code.spec.build_gdpr import SpecBuilder
from gdpr_as_code.spec.interpolate import Interpolator, Origin, unknown_overrides
from gdpr_as_code.spec.model import Spec, Target
from gdpr_as_code.spec.schema import schema_problems, spec_schema
from gdpr_as_code.spec.yaml_loader import (
    Locator,
    Path_,
    build_data,
    check_expansion,
    compose,
    read_text,
    sorted_problems,
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_KEYS = {
    "password": "password_env",
    "pass": "password_env",
    "username": "username_env",
    "user": "username_env",
    "client_id": "client_id_env",
    "client_secret": "client_secret_env",
    "secret": "client_secret_env",
    "token": "password_env or client_secret_env",
    "access_token": "password_env or client_secret_env",
    "api_key": "password_env or client_secret_env",
}
"""Keys people write when they put a credential in the file, and the ``*_env`` key to use instead."""


def load_spec(
    path: str | os.PathLike[str],
    *,
    variables: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    origins: Mapping[str, Origin] | None = None,
) -> Spec:
    """Load, interpolate, validate and build a spec; raise ``SpecError`` listing every problem.

    ``variables`` override the spec's ``variables:`` defaults (the rollout passes an instance's inventory
    values); ``env`` replaces ``os.environ`` for ``${env.NAME}`` (tests, and reproducible CI runs).
    An override the spec neither declares nor uses as ``${var.NAME}`` is a problem, located at its
    ``origins`` entry (the inventory line), or reported as a ``--var`` option when it has none; it is
    checked once the spec has no other problem, since only the semantic pass reads the body files.
    """
    source = Path(path)
    display = str(path)
    environment = os.environ if env is None else env
    text, raw = read_text(source, display)
    root = _nodes(text, display)
    declared, problems = _variables(root, display, environment)
    values = {**declared, **{name: str(value) for name, value in (variables or {}).items()}}
    interpolator = Interpolator(values, environment)
    data, locator, found = build_data(root, display, interpolate=interpolator, skip=("variables",))
    problems += found
    if isinstance(data, dict) and "variables" in data:
        data["variables"] = declared
    if isinstance(data, dict) and "instances" in data:  # the arguments swapped: one problem, not one per key
        message = "this is an inventory (it lists instances), not a spec"
        fix = "pass it with --inventory after the spec: plan SPEC --inventory FILE"
        raise SpecError([locator.problem(("instances",), message, fix, key=True)])
    # Lines already reported (an undefined variable left an empty text there) get no second, derived problem.
    reported = {problem.line for problem in problems}
    problems += [p for p in _literal_secrets(data, locator) if p.line not in reported]
    reported = {problem.line for problem in problems}
    problems += [p for p in schema_problems(data, spec_schema(), locator) if p.line not in reported]
    if not problems:
        spec, problems = _build(data, locator, source, raw, interpolator)
        # Only now is every ${var.NAME} known: the semantic pass reads the email body files.
        known = set(declared) | interpolator.used
        problems += unknown_overrides(display, known, list(variables or {}), origins or {})
        if not problems:
            return spec
    raise SpecError(sorted_problems(problems))


@lru_cache(maxsize=16)
def _nodes(text: str, display: str) -> Node | None:
    """The document composed once per text: a rollout loads one spec per instance's variables, and parsing
    was a quarter of that (profiled at 100 instances); nodes are only read afterwards, never changed."""
    root = compose(text, display)
    if root is not None:
        check_expansion(root, display)
    return root


def _variables(
    root: Node | None, display: str, env: Mapping[str, str]
) -> tuple[dict[str, str], list[Problem]]:
    """The ``variables:`` defaults, interpolated with ``${env.NAME}`` only (a variable cannot use another)."""
    if not isinstance(root, MappingNode):
        return {}, []
    node = next((value for key, value in root.value if getattr(key, "value", None) == "variables"), None)
    if node is None:
        return {}, []
    data, _, problems = build_data(node, display, interpolate=Interpolator(None, env))
    if not isinstance(data, dict):
        return {}, problems  # the schema reports the wrong shape
    return {
        name: _variable_text(value)
        for name, value in data.items()
        if isinstance(value, (str, int, float, bool))
    }, problems


def _variable_text(value: str | float | bool) -> str:
    """How a variable reads when substituted: ``true``/``false`` as written in YAML, numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _literal_secrets(data: Any, locator: Locator) -> list[Problem]:
    """Credentials written into the file: reported with the fix, and removed so the schema does not repeat
    them."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return problems
    sections: list[tuple[Path_, Any]] = [(("target",), data.get("target"))]
    gdpr = data.get("gdpr")
    if isinstance(gdpr, dict):
        delivery = (
            (gdpr.get("exports") or {}).get("delivery") if isinstance(gdpr.get("exports"), dict) else None
        )
        if isinstance(delivery, dict):
            sections.append((("gdpr", "exports", "delivery", "smtp"), delivery.get("smtp")))
    for path, section in sections:
        if not isinstance(section, dict):
            continue
        for key in list(section):
            value = section[key]
            if key.lower() in _SECRET_KEYS:
                problems.append(
                    locator.problem(
                        (*path, key),
                        f"'{key}' puts a credential into the spec, where "
                        "everyone who can read the repository sees it",
                        f"store it in an environment "
                        f"variable and name that variable with {_SECRET_KEYS[key.lower()]}",
                        key=True,
                    )
                )
                del section[key]
            elif key.endswith("_env") and isinstance(value, str) and not _ENV_NAME.match(value):
                problems.append(
                    locator.problem(
                        (*path, key),
                        f"{key} must be the NAME of an environment variable, "
                        "and this value does not look like one (is it the secret itself?)",
                        "put the secret in an environment variable and write its name here, e.g. "
                        "MAUTIC_PASSWORD",
                    )
                )
                del section[key]
            elif key == "url" and isinstance(value, str) and "@" in urlsplit(value).netloc:
                problems.append(
                    locator.problem(
                        (*path, key),
                        "the URL contains a user name or password",
                        "remove 'user:password@' from the URL; use username_env and password_env",
                    )
                )
                del section[key]
    return problems


def _build(
    data: dict[str, Any],
    locator: Locator,
    source: Path,
    raw: bytes,
    interpolator: Interpolator,
) -> tuple[Spec, list[Problem]]:
    """The semantic pass: build every part, collecting the problems of all of them."""
    body_problems: list[Problem] = []
    digest = hashlib.sha256(raw)
    reader = read_body_file(source.parent, interpolator.document, body_problems, locator, digest)
    builder = SpecBuilder(data, locator, reader)
    fields = builder.contact_fields()
    segments = builder.segments()
    emails = builder.emails()
    consent = builder.consent_settings()
    forms = builder.forms(segments, emails, consent)
    focus = builder.consent_focus(forms)
    gdpr = builder.gdpr(forms, segments, emails, consent)
    target = data.get("target", {})
    spec = Spec(
        source=source,
        sha256=digest.hexdigest(),
        target=Target(
            url=target["url"].rstrip("/") if "url" in target else None,
            **{key: value for key, value in target.items() if key != "url"},
        ),
        variables=MappingProxyType(dict(interpolator.variables or {})),
        consent=focus,
        fields=fields,
        segments=segments,
        emails=emails,
        forms=forms,
        gdpr=gdpr,
        adopt=MappingProxyType(builder.adopt(fields, segments, emails, forms, focus=focus)),
    )
    return spec, builder.problems + body_problems


def validate(
    paths: list[str], *, variables: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
    origins: Mapping[str, Origin] | None = None,
) -> tuple[list[str], int]:
    """What ``gdpr-as-code validate`` prints for each spec, and the number of problems found in all of
    them; ``origins`` say where an override was set (a ``--var-file`` line)."""
    lines: list[str] = []
    count = 0
    for path in paths:
        try:
            spec = load_spec(path, variables=variables, env=env, origins=origins)
        except SpecError as err:
            lines.extend(str(problem) for problem in err.problems)
            count += len(err.problems)
        else:
            lines.append(f"{path}: valid ({spec.counts()})")
    if count:
        lines.append(f"{count} problem{'s' if count != 1 else ''} found")
    return lines, count
