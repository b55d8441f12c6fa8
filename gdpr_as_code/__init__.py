"""gdpr-as-code: make a Mautic instance GDPR-ready from a declarative YAML spec, and keep it that way.

The engine is a library; the CLI is a thin layer over it. A user script does what ``gdpr-as-code apply`` does,
through the same guarded apply (lock, freshness check, apply, verification, receipt):

    import gdpr_as_code as g

    spec = g.load_spec("configs/gdpr.yaml")
    with g.client_from_env(spec.target) as client:
        planned = g.plan(spec, client)
        print(g.render_text(planned))
        applied = g.apply(planned, spec, client)
        print(applied.receipt)

The public API is the curated ``__all__`` below, plus the ``converge`` package (desired and live state, the
diff, the raw writer under the guarded apply) for scripts that need the pieces; a test keeps it honest.
Names are imported on first use, so ``import gdpr_as_code`` stays cheap for the CLI.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# public name -> module that defines it (the errors too: the CLI's --help imports none of these)
_ERRORS = (
    "ApplyError", "GdprAsCodeError", "LockError", "MauticAuthError", "MauticError", "MauticHTTPError",
    "MauticRateLimited", "MauticUnreachable", "PlanError", "Problem", "SpecError", "StalePlanError",
)
_LAZY = {
    **dict.fromkeys(_ERRORS, "gdpr_as_code.errors"),
    "Spec": "gdpr_as_code.spec",
    "load_spec": "gdpr_as_code.spec",
    "MauticClient": "gdpr_as_code.mautic.client",
    "BasicAuth": "gdpr_as_code.mautic.auth",
    "OAuth2ClientCredentials": "gdpr_as_code.mautic.auth",
    "RetryPolicy": "gdpr_as_code.mautic.policy",
    "client_from_env": "gdpr_as_code.mautic.connect",
    "Plan": "gdpr_as_code.converge.changes",
    "Change": "gdpr_as_code.converge.changes",
    "render_text": "gdpr_as_code.render.text",
    "Sandbox": "gdpr_as_code.sandbox",
    "plan": "gdpr_as_code.converge",
    "apply": "gdpr_as_code.guard.apply",
    "apply_saved": "gdpr_as_code.guard.apply",
    "Applied": "gdpr_as_code.guard.apply",
    "ApplyOptions": "gdpr_as_code.guard.apply",
}
_MODULES = {"converge": "gdpr_as_code.converge"}

__all__ = [
    "Applied",
    "ApplyError",
    "ApplyOptions",
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
    "StalePlanError",
    "apply",
    "apply_saved",
    "client_from_env",
    "converge",
    "load_spec",
    "plan",
    "render_text",
]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        value = import_module(_MODULES[name])
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'gdpr_as_code' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
