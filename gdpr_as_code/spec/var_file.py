"""``--var-file FILE``: spec variables from a YAML mapping (Terraform's ``-var-file``), each remembered at its
line so a name the spec does not know is reported there, as an inventory's would be."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from gdpr_as_code.spec.interpolate import Origin
from gdpr_as_code.spec.yaml_loader import load_nodes, load_yaml_document

VAR_FILE_SCHEMA: Mapping[str, object] = {
    "type": "object",
    "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
    "additionalProperties": {"type": ["string", "number", "boolean"]},
}


def load_var_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[dict[str, str], dict[str, Origin]]:
    """The variables of every file (a later file wins) and where each was set; ``SpecError`` on a file that
    is not a flat mapping of names to text, numbers or booleans."""
    values: dict[str, str] = {}
    origins: dict[str, Origin] = {}
    for path in paths:
        root, _ = load_nodes(Path(path), display=str(path))
        if root is None:  # empty, or comments only: no variables
            continue
        data, locator = load_yaml_document(path, VAR_FILE_SCHEMA, interpolate=False)
        for name, value in (data or {}).items():
            values[name] = ("true" if value else "false") if isinstance(value, bool) else str(value)
            origins[name] = (locator.file, *locator.position((name,), key=True))
    return values, origins
