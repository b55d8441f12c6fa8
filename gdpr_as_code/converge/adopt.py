"""``gdpr-as-code import``: adopt an unmanaged Mautic object as a spec object by writing its ownership
marker (a contact field: by listing it in the field registry)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gdpr_as_code.converge.apply import Outcome, save_registry
from gdpr_as_code.converge.state import desired_state, read_live
from gdpr_as_code.errors import PlanError
from gdpr_as_code.resources import KINDS, Json, Kind, kind_of_address
from gdpr_as_code.spec import Spec

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient


def adopt(client: MauticClient, address: str, mautic_id: int, spec: Spec | None = None) -> Outcome:
    """``gdpr-as-code import KEY ID``: write the ownership marker of ``address`` (e.g. ``segment.forget``)
    into Mautic object ``mautic_id``; the next plan then updates it to the spec instead of creating a twin."""
    try:
        kind, key = kind_of_address(address)
    except ValueError:
        names = ", ".join(f"{k.label}.KEY" for k in KINDS)
        raise PlanError(
            f"'{address}' is not an object address; use one of {names} (e.g. segment.forget)."
        ) from None
    if spec is not None and key not in desired_state(spec)[kind.name]:
        raise PlanError(
            f"{address} is not in {spec.source}; add it to the spec before importing Mautic "
            f"{kind.label} #{mautic_id} as it."
        )
    live = read_live(client, [kind])
    found = {o.id: o for o in live.objects[kind.name]}
    target = found.get(mautic_id)
    if target is None:
        raise PlanError(
            f"Mautic on {client.name} has no {kind.label} with id {mautic_id}; check the id in "
            f"Mautic's {kind.name} list."
        )
    owner = live.managed(kind.name).get(key)
    if target.key == key:
        return Outcome("import", kind.name, key, mautic_id, "already managed")
    if target.key is not None:
        raise PlanError(
            f"Cannot import {kind.label} #{mautic_id} as {address}: it is already managed as "
            f"{kind.address(target.key)}. Check the id, or remove its marker in Mautic first."
        )
    if owner:
        raise PlanError(
            f"Cannot import {kind.label} #{mautic_id} as {address}: {kind.label} #{owner[0].id} already is "
            f"{address}. Check the id, or remove the marker of #{owner[0].id} in Mautic first."
        )
    if kind.ownership == "registry":
        save_registry(client, {key: str(target.data.get(kind.identity))})
        return Outcome("import", kind.name, key, mautic_id, "listed in the field registry")
    raw = client.get(f"{kind.path}/{mautic_id}")[kind.one_key]
    client.patch(f"{kind.path}/{mautic_id}/edit", _marker_body(kind, key, raw))
    return Outcome("import", kind.name, key, mautic_id, "marker written")


def _marker_body(kind: Kind, key: str, raw: Mapping[str, Any]) -> Json:
    """The smallest PATCH that adds the marker and keeps what the object holds: the kind's own body for the
    one attribute its marker lives in (which adds what Mautic wants on every write: a form's postAction, a
    focus item's style)."""
    return kind.payload(kind.normalise(raw, {}), key, frozenset({kind.marker_in}), _no_refs)


def _no_refs(reference: str) -> int:
    """A marker-only PATCH carries no references; reaching this is a bug, not a user error."""
    raise AssertionError(f"no reference expected while importing, got {reference}")


