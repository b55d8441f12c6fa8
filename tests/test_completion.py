"""Shell completion is click's own (``_GDPR_AS_CODE_COMPLETE``), as README documents; the sandbox's default
port is off 8080, where a local real Mautic listens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from gdpr_as_code.cli import cli

BIN = Path(sys.executable).parent / "gdpr-as-code"


def complete(words: str, shell: str = "bash") -> str:
    env = {**os.environ, "_GDPR_AS_CODE_COMPLETE": f"{shell}_complete", "COMP_WORDS": words,
           "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1))}
    return subprocess.run([str(BIN)], env=env, capture_output=True, text=True, timeout=30).stdout


def test_bash_completes_commands_and_options() -> None:
    assert {"plain,init", "plain,list", "plain,validate"} <= set(complete("gdpr-as-code ").splitlines())
    assert "plain,--allow-large-changes" in complete("gdpr-as-code apply --al").splitlines()


def test_every_shell_gets_its_script() -> None:
    for shell in ("bash", "zsh", "fish"):
        script = subprocess.run([str(BIN)], env={**os.environ, "_GDPR_AS_CODE_COMPLETE": f"{shell}_source"},
                                capture_output=True, text=True, timeout=30).stdout
        assert "_GDPR_AS_CODE_COMPLETE" in script, shell


def test_the_sandbox_default_port_is_not_8080() -> None:
    sandbox = cli.get_command(click.Context(cli), "sandbox")
    assert sandbox is not None
    port = next(p for p in sandbox.params if p.name == "port")
    assert port.default == 8765
