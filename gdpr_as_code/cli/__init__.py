"""The command line, one module per command group: ``app`` (the group, the error → exit code map, what
commands share), ``spec`` (validate, schema, sandbox), ``config`` (plan, apply, import, show, history),
``rollout`` (``--inventory``), ``dsr`` (requests), ``demo``. The group imports a command's module when the
command runs, and commands import the library inside their body, so ``--help`` stays fast."""

from __future__ import annotations

from gdpr_as_code.cli.app import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, main

__all__ = ["EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "cli", "main"]
