"""gdpr-as-code: make a Mautic instance GDPR-ready from a declarative YAML spec, and keep it that way.

The engine is a library; the CLI is a thin layer over it. A user script does what ``gdpr-as-code apply`` does:

    from gdpr_as_code import client_from_env, load_spec, render_text

    from gdpr_as_code import converge

    spec = load_spec("configs/gdpr.yaml")
    with client_from_env(spec.target) as client:
        changes = converge.plan(spec, client)
        print(render_text(changes))
        converge.apply(changes, client)

The public API is the curated ``__all__`` below plus the ``engine`` module (its ``plan`` and ``apply`` live
there: a top-level ``plan`` would be shadowed by the ``plan`` module); a test keeps it honest.
Names are imported on first use, so ``import gdpr_as_code`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from gdpr_as_code.errors import (
    ApplyError,
    GdprAsCodeError,
    LockError,
    MauticAuthError,
    MauticError,
    MauticHTTPError,
    MauticRateLimited,
    MauticUnreachable,
    PlanError,
    Problem,
    SpecError,
)

# public name -> module that defines it
_LAZY = {
    "Spec": "gdpr_as_code.spec",
    "load_spec": "gdpr_as_code.spec",
    "MauticClient": "gdpr_as_code.mautic.client",
    "BasicAuth": "gdpr_as_code.mautic.auth",
    "OAuth2ClientCredentials": "gdpr_as_code.mautic.auth",
    "RetryPolicy": "gdpr_as_code.mautic.client",
    "client_from_env": "gdpr_as_code.mautic.client",
    "Plan": "gdpr_as_code.converge.changes",
    "Change": "gdpr_as_code.converge.changes",
    "render_text": "gdpr_as_code.render.text",
    "Sandbox": "gdpr_as_code.sandbox",
}

__all__ = [
    "ApplyError",
    "BasicAuth",
    "Change",
    "GdprAsCodeError",
    "LockError",
    "MauticAuthError",
    "MauticClient",
    "MauticError",
    "MauticHTTPError",
    "MauticRateLimited",
    "MauticUnreachable",
    "OAuth2ClientCredentials",
    "Plan",
    "PlanError",
    "Problem",
    "RetryPolicy",
    "Sandbox",
    "Spec",
    "SpecError",
    "client_from_env",
    "load_spec",
    "render_text",
]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'gdpr_as_code' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
