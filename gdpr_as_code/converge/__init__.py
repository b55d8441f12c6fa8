"""Converge a live Mautic to the spec: plan, apply, verify, import (over ``state`` and ``diff``).

    desired_state(spec)            -> State            ``state``: the spec rendered by each kind in resources
    read_live(client)              -> LiveState        ``state``: GETs only: one list call per kind
    diff(desired, live, prune)     -> tuple[Change]    ``diff``: pure; conflicts are one PlanError naming each
    plan(spec, client, prune)      -> Plan             the three above
    apply(plan, client)            -> tuple[Outcome]   the only place that writes configuration; then verifies
    adopt(client, address, id)     -> Outcome          ``gdpr-as-code import``: write the ownership marker

Callers use ``converge`` for all of them (``__all__``).
Ownership is the marker each kind stores in Mautic (see
``resources``): a live object is managed when it carries one; anything else is never changed or deleted. An
unmanaged look-alike of a desired object stops the plan (``diff``): adopt it with ``import`` or rename one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gdpr_as_code.converge.adopt import adopt
from gdpr_as_code.converge.apply import Outcome, apply, verify
from gdpr_as_code.converge.changes import Plan
from gdpr_as_code.converge.consent import consent_changes
from gdpr_as_code.converge.diff import diff
from gdpr_as_code.converge.state import Live, LiveState, desired_state, live_from_raw, read_live
from gdpr_as_code.resources import kind_of_address, ref
from gdpr_as_code.spec import Spec

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

__all__ = [
    "Live",
    "LiveState",
    "Outcome",
    "adopt",
    "apply",
    "desired_state",
    "diff",
    "live_from_raw",
    "plan",
    "read_live",
    "verify",
]


def plan(spec: Spec, client: MauticClient, *, prune: bool = False) -> Plan:
    """Read Mautic and compare it with the spec: what ``apply`` would do."""
    adopting = {ref(kind.name, key): mautic_id for address, mautic_id in spec.adopt.items()
                 for kind, key in [kind_of_address(address)]}
    live = read_live(client, known=adopting)
    return Plan(
        instance=client.name,
        changes=(
            *diff(desired_state(spec), live, prune=prune, adopt=spec.adopt), *consent_changes(spec, live)
        ),
        ids={**adopting, **live.ids()},
        prune=prune,
        spec_sha256=spec.sha256,
        mautic_version=live.mautic_version,
    )
