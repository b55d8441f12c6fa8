"""The command line, one module per command group: ``app`` (the group, the error → exit code map, what
commands share), ``spec`` (validate, schema, sandbox), ``config`` (plan, apply, import, show, history),
``rollout`` (``--inventory``), ``dsr`` (requests), ``demo``. Commands import the library inside their body, so
``--help`` stays fast."""

from __future__ import annotations

from gdpr_as_code.cli import audit, config, demo, dsr, spec  # noqa: F401  (each registers its commands on the group)
from gdpr_as_code.cli.app import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, cli, main
from gdpr_as_code.cli.rollout import DEFAULT_PARALLELISM, DEFAULT_WRITES, PLAN_FORMATS

__all__ = [
    "DEFAULT_PARALLELISM", "DEFAULT_WRITES", "EXIT_CHANGES", "EXIT_ERROR", "EXIT_OK", "PLAN_FORMATS", "cli",
    "main",
]
