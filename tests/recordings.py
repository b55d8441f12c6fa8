"""The real Mautic exchanges the tests are built from, kept in the repo: a fresh clone needs nothing else.

``recorded/<version>/<session>/NNN_*.json`` holds one exchange each (request and response, as Mautic
answered); the few large ones are gzipped (``.json.gz``) to keep the checkout small. ``examples/`` holds
request and response bodies quoted from Mautic's documentation. An acceptance run with
``GDPR_AS_CODE_RECORD_DIR`` set writes fresh sessions in the same layout (see ``tests/acceptance``).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RECORDED_ROOT = HERE / "recorded"
RECORDED = RECORDED_ROOT / "5.1.0"  # the reference conversation with Mautic 5.1.0
EXAMPLES = HERE / "examples"


def exchange_name(path: Path) -> str:
    """``session/file.json`` whether or not the file is stored gzipped: the name tests and skip lists use."""
    return f"{path.parent.name}/{path.name.removesuffix('.gz')}"


def exchange_files(folder: Path) -> list[Path]:
    """The exchanges (``.json``/``.json.gz``) and notes (``.txt``) of a session folder, in file order."""
    paths = [p for p in folder.iterdir() if p.name.endswith((".json", ".json.gz", ".txt"))]
    return sorted(paths, key=lambda p: p.name.removesuffix(".gz"))


def locate(name: str, root: Path = RECORDED) -> Path:
    """The stored file of ``session/file.json``, plain or gzipped."""
    path = root / name
    return path if path.is_file() else path.with_name(path.name + ".gz")


def read_exchange(path: Path) -> dict[str, Any]:
    """One exchange file as stored: ``{"request": …, "response": …}``."""
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return json.loads(data)


def recorded_exchange(name: str, root: Path = RECORDED) -> dict[str, Any]:
    return read_exchange(locate(name, root))


def recorded_answer(name: str, root: Path = RECORDED) -> Any:
    """The decoded JSON body Mautic answered in ``name`` (e.g. ``crud/055_POST_contacts_new.json``)."""
    return json.loads(recorded_exchange(name, root)["response"]["raw"])
