"""How the journeys drive the tool: as a ``gdpr-as-code`` process, the way a user runs it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

PREFIX = "GDPR_AS_CODE_TEST_MAUTIC"


class Target(Protocol):
    def env(self, auth: str) -> dict[str, str]: ...

    def preferred_auth(self) -> str: ...


@dataclass
class Run:
    code: int
    out: str
    err: str


class Tool:
    """``gdpr-as-code`` as a user runs it: a process, in a working folder holding a copy of ``configs/``."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.env: dict[str, str] = {}
        executable = Path(sys.executable).with_name("gdpr-as-code")
        self.command = [str(executable)] if executable.exists() else [sys.executable, "-m", "gdpr_as_code"]

    def point_at(self, instance: Target, auth: str | None = None) -> None:
        self.env = instance.env(auth or instance.preferred_auth())

    def spec(self, name: str = "gdpr.yaml", *, auth: str = "oauth2") -> Path:
        """``configs/<name>`` in the working folder, its ``target.auth`` set to ``auth`` and its URL, where
        the spec names one in a variable (``gdpr-de.yaml``), to where this tool is pointed."""
        path = self.work / name
        text = re.sub(r"(?m)^(\s+auth:) \w+", rf"\1 {auth}", path.read_text(encoding="utf-8"), count=1)
        text = re.sub(r"(?m)^(\s+mautic_url:) .*$", rf"\1 {self.env.get('MAUTIC_URL', '')}", text)
        path.write_text(text, encoding="utf-8")
        return path

    def __call__(self, *args: str | Path, env: dict[str, str] | None = None) -> Run:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("MAUTIC_", PREFIX))}
        base.update(self.env, **(env or {}))
        base["GDPR_AS_CODE_DEBUG"] = "1"  # a bug (exit 70) shows its traceback in the test's failure
        done = subprocess.run([*self.command, *map(str, args)], cwd=self.work, env=base, capture_output=True,
                              text=True, timeout=600)
        return Run(done.returncode, done.stdout, done.stderr)


def rows(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A Mautic list answer's entities, whether keyed by id or an array."""
    found = body.get(key) or {}
    return list(found.values()) if isinstance(found, dict) else list(found)
