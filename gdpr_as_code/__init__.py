"""gdpr-as-code: make a Mautic instance GDPR-ready from a declarative YAML spec, and keep it that way.

The public API is the curated ``__all__`` below; everything else is internal.
"""

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

__all__ = [
    "ApplyError",
    "GdprAsCodeError",
    "LockError",
    "MauticAuthError",
    "MauticError",
    "MauticHTTPError",
    "MauticRateLimited",
    "MauticUnreachable",
    "PlanError",
    "Problem",
    "SpecError",
]
