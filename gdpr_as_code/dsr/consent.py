"""The consent texts people see now: the banner's (a focus item) and each form's consent box, as Mautic holds
them and as the spec says, for the privacy officer's report (``requests list --format html``). Reads only:
the list calls ``plan`` makes for these two kinds."""

from __future__ import annotations

from typing import Any

from gdpr_as_code.converge import LiveState, desired_state, read_live
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.resources import BY_NAME
from gdpr_as_code.spec import Spec


def _banner(data: Any) -> str:
    content = ((data or {}).get("properties") or {}).get("content") or {}
    return " ".join(str(content.get(part) or "") for part in ("headline", "tagline")).strip()


def _box(data: Any, form_field: str) -> str:
    field = ((data or {}).get("fields") or {}).get(form_field) or {}
    options = ((field.get("properties") or {}).get("optionlist") or {}).get("list") or []
    return " ".join(str(option.get("label", "")) for option in options).strip()


def consent_texts(spec: Spec, live: LiveState) -> list[dict[str, str]]:
    """``{where, spec, live}`` for the banner and every form's consent box ("" live when Mautic lacks it)."""
    desired = desired_state(spec)
    found = {kind: {obj.key: obj.data for obj in objects if obj.key}
             for kind, objects in live.objects.items()}
    texts = [{"where": f"Consent banner ({BY_NAME['focus'].address(key)})", "spec": _banner(wanted.data),
              "live": _banner(found.get("focus", {}).get(key))}
             for key, wanted in desired.get("focus", {}).items()]
    if spec.gdpr is not None and spec.gdpr.consent.required:
        box = spec.gdpr.consent.form_field
        texts += [{"where": f"Consent box of {BY_NAME['forms'].address(key)}", "spec": _box(wanted.data, box),
                   "live": _box(found.get("forms", {}).get(key), box)}
                  for key, wanted in desired.get("forms", {}).items()
                  if box in (wanted.data.get("fields") or {})]  # the request form is exempt by default
    return texts


def read_consent_texts(spec: Spec, client: MauticClient) -> list[dict[str, str]]:
    """``consent_texts`` of what ``client``'s Mautic holds now."""
    return consent_texts(spec, read_live(client, (BY_NAME["focus"], BY_NAME["forms"])))
