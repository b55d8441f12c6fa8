"""The files that ship inside the package: schemas, the template specs with their email bodies, the CI file.

They live once, at the top of the repository (``configs/``, ``schemas/``, ``examples/ci/``), where a reader
and a ``cp -r configs`` find real files; ``gdpr_as_code/data/`` links to them, and a wheel carries the files
the links name, so a checkout, an editable install and a wheel installed with ``pipx`` read the same bytes.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(*parts: str) -> Path:
    """A shipped file's path (the package is installed as files, never zipped: setuptools' wheels unpack)."""
    return Path(str(resources.files("gdpr_as_code").joinpath("data", *parts)))


def schema_text(name: str) -> str:
    """A shipped JSON Schema exactly as written (``gdpr-spec``, ``inventory``, ``plan``, ``apply``)."""
    return data_path("schemas", f"{name}.schema.json").read_text(encoding="utf-8")


def template_spec(name: str = "gdpr.yaml") -> Path:
    """A shipped spec (``configs/`` in the repository): ``demo`` runs it, ``init`` copies it."""
    return data_path("configs", name)
