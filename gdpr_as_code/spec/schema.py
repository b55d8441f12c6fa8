"""The spec's JSON Schema (the first validation pass) and the translation of schema errors into located
problems.

The schema ships inside the package (``gdpr_as_code/data/schemas/``) so ``gdpr-as-code schema`` and
validation work after any kind of install; ``schemas/`` in the repository is a symlink to that folder, for
editors (``# yaml-language-server: $schema=../schemas/gdpr-spec.schema.json``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from gdpr_as_code.errors import Problem
from gdpr_as_code.mautic.aliases import clean_alias
from gdpr_as_code.spec.shipped import schema_text
from gdpr_as_code.spec.yaml_loader import Locator, display_path


def spec_schema_text() -> str:
    """The schema exactly as shipped (what ``gdpr-as-code schema`` prints)."""
    return schema_text("gdpr-spec")


@cache
def spec_schema() -> Mapping[str, Any]:
    """The parsed spec schema (read once per process)."""
    return json.loads(spec_schema_text())


def schema_problems(data: Any, schema: Mapping[str, Any], locator: Locator) -> list[Problem]:
    """Every schema violation as a problem at the offending node, worded for a person rather than a
    validator."""
    validator = _validator(schema)
    problems: list[Problem] = []
    for error in validator.iter_errors(data):
        problems.extend(_explain(error, locator))
    return problems


_VALIDATORS: dict[int, tuple[Mapping[str, Any], jsonschema.Draft202012Validator]] = {}


def _validator(schema: Mapping[str, Any]) -> jsonschema.Draft202012Validator:
    """One compiled validator per schema object (the spec's and the inventory's are read once per process);
    validators are immutable, so threads may share them."""
    cached = _VALIDATORS.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_VALIDATORS) >= 16:  # callers passing a new dict each time must not grow this without bound
            _VALIDATORS.clear()
        cached = (schema, jsonschema.Draft202012Validator(schema))
        _VALIDATORS[id(schema)] = cached
    return cached[1]


def _explain(error: ValidationError, locator: Locator) -> list[Problem]:
    """One or more problems for a validation error; never echoes the offending value (it may be a secret)."""
    path = tuple(error.absolute_path)
    where = display_path(path)
    kind = error.validator
    expected = error.validator_value
    if kind in ("oneOf", "anyOf") and error.context:
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(list(e.schema_path))))
        if len(deepest.absolute_path) > len(path):
            return _explain(deepest, locator)
    if kind == "pattern" and "propertyNames" in error.relative_schema_path and isinstance(error.instance,
                                                                                          str):
        name = error.instance  # a key, not a value: never a secret
        hint = "keys are plain ASCII letters, digits and _ (the texts shown to people may use any letter)"
        return [locator.problem((*path, name), f"the key '{name}' in {where} has the wrong form",
                                _spelling_fix(name, expected, hint), key=True)]
    if kind == "pattern" and path and path[-1] == "alias" and isinstance(error.instance, str):
        return [locator.problem(path, f"{where} has the wrong form",
                                _spelling_fix(error.instance, expected, _hint(error)))]
    if kind == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extras = [key for key in error.instance if key not in error.schema.get("properties", {})]
        return [
            locator.problem((*path, key), f"unknown key '{key}' in {where}", _unknown_key_fix(key, allowed),
                            key=True)
            for key in extras
        ]
    if kind == "type" and error.instance is None and not path:
        return [locator.problem(path, "the file is empty", "start with 'version: 1' (see configs/gdpr.yaml)")]
    if kind == "required":
        missing = [key for key in expected if isinstance(error.instance, dict) and key not in error.instance]
        because = " (the other values here need it)" if "then" in error.schema_path else ""
        return [locator.problem(path, f"{where} is missing the required key '{key}'{because}",
                                f"add '{key}:' ({_describe(error.schema, key)})") for key in missing]
    messages = {
        "type": lambda: (f"{where} must be {_type_name(expected)}", _type_fix(error)),
        "enum": lambda: (f"{where} must be one of: {', '.join(map(str, expected))}", "pick one of them"),
        "const": lambda: (f"{where} must be {expected!r}", f"write {expected!r}"),
        "pattern": lambda: (f"{where} has the wrong form", _hint(error) or f"it must match {expected}"),
        "minLength": lambda: (f"{where} must not be empty", _hint(error) or "write a value"),
        "maxLength": lambda: (f"{where} is longer than {expected} characters", "shorten it"),
        "minimum": lambda: (f"{where} must be at least {expected}", "use a larger number"),
        "maximum": lambda: (f"{where} must be at most {expected}", "use a smaller number"),
        "minItems": lambda: (f"{where} needs at least {expected} item(s)", "add the missing items"),
        "maxItems": lambda: (f"{where} has more than {expected} item(s)", "remove the extra items"),
        "uniqueItems": lambda: (f"{where} lists the same item twice", "remove the repeated item"),
        "format": lambda: (f"{where} is not a valid {expected}", _hint(error)),
    }
    if kind in messages:
        message, fix = messages[kind]()
    else:
        message, fix = f"{where} is not valid here ({kind})", _hint(error)
    return [locator.problem(path, message, fix or "see the schema: gdpr-as-code schema")]


def _spelling_fix(text: str, pattern: str, hint: str) -> str:
    """The schema's hint, and the spelling Mautic's own alias cleaning makes of ``text`` (``préférence`` →
    ``preference``) when that spelling fits: the usual mistake outside English is an accent."""
    for separator in ("_", "-"):
        spelled = clean_alias(text, separator=separator)
        if spelled and re.search(pattern, spelled):
            return f"write '{spelled}' (as Mautic would spell it){'; ' + hint if hint else ''}"
    return hint or f"it must match {pattern}"


def _unknown_key_fix(key: str, allowed: list[str]) -> str:
    """Suggest the closest allowed key (a typo is the usual cause), then list them all."""
    if not allowed:
        return "remove it"
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"remove it or use one of: {', '.join(allowed)}{hint}"


def _type_name(expected: Any) -> str:
    names = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
             "object": "a mapping (key: value lines)", "array": "a list ('- ' items)", "null": "empty"}
    kinds = expected if isinstance(expected, list) else [expected]
    return " or ".join(names.get(k, k) for k in kinds)


def _type_fix(error: ValidationError) -> str:
    """How to write a value of the expected type in YAML (numbers and true/false are read, not written)."""
    expected = error.validator_value
    kinds = expected if isinstance(expected, list) else [expected]
    if "string" in kinds and isinstance(error.instance, (int, float, bool)):
        return "put the value in quotes, so YAML reads it as text (e.g. '000000', 'yes')"
    fixes = {
        "boolean": "write true or false, without quotes",
        "integer": "write a whole number, without quotes",
        "number": "write a number, without quotes",
        "object": "write it as 'key: value' lines indented under it",
        "array": "write a list: [a, b] or one '- item' line per item",
        "string": "write text",
    }
    return fixes.get(kinds[0], _hint(error))


def _hint(error: ValidationError) -> str:
    """The first sentence of the schema's description of the property, which says what belongs there."""
    description = error.schema.get("description", "") if isinstance(error.schema, dict) else ""
    return _first_sentence(description)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<!e\.g)(?<!i\.e)\. ", text, maxsplit=1)[0].rstrip(".") if text else ""


def _describe(schema: Mapping[str, Any], key: str) -> str:
    sub = schema.get("properties", {}).get(key, {})
    text = sub.get("description", "") if isinstance(sub, dict) else ""
    return _first_sentence(text) or "see gdpr-as-code schema"
