"""Focus items (``/api/focus``, the MauticFocusBundle plugin), as recorded in crud/043-074.

- the envelope key is ``focus`` for one item and for the list; there is no minimal form (no serializer
  groups);
- ``name``, ``type`` and ``style`` are required; the content mode is written as ``html_mode`` and read as
  ``htmlMode`` (sending ``htmlMode`` does nothing);
- ``properties`` always answers every group, with nulls; checkboxes read 1 or null (``false`` becomes null);
  a PATCH merges nested properties into the stored ones;
- a new item has ``modifiedBy`` but no ``dateModified``; ``cache`` is the generated embed script.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from gdpr_as_code.sandbox.entities import (
    PUBLISH_KEYS,
    EntityKind,
    get_or_404,
    register,
    stamp_edit,
    stamp_new,
    text_or_none,
    too_long,
)
from gdpr_as_code.sandbox.http import Request, Response, kernel_error, truthy, validation_error
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

KEYS = (
    *PUBLISH_KEYS,
    "id",
    "name",
    "category",
    "description",
    "type",
    "website",
    "style",
    "publishUp",
    "publishDown",
    "properties",
    "utmTags",
    "form",
    "htmlMode",
    "html",
    "editor",
    "cache",
)
TEXT_KEYS = ("name", "description", "type", "website", "style", "publishUp", "publishDown", "html", "editor")
PROPERTIES: dict[str, Any] = {
    "bar": {"allow_hide": None, "push_page": None, "sticky": None, "size": None, "placement": None},
    "modal": {"placement": None},
    "notification": {"placement": None},
    "page": [],
    "animate": None,
    "link_activation": None,
    "colors": {"primary": None, "text": None, "button": None, "button_text": None},
    "content": {
        "headline": None,
        "tagline": None,
        "link_text": None,
        "link_url": None,
        "link_new_window": None,
        "font": None,
        "css": None,
    },
    "when": None,
    "timeout": None,
    "frequency": None,
    "stop_after_conversion": None,
    "stop_after_close": None,
}
CHECKBOXES = {
    "allow_hide",
    "push_page",
    "sticky",
    "animate",
    "link_activation",
    "link_new_window",
    "stop_after_conversion",
    "stop_after_close",
}
UTM = {"utmSource": None, "utmMedium": None, "utmCampaign": None, "utmContent": None}


def merged(template: Any, current: Any, sent: Any) -> Any:
    """``sent`` over ``current`` within the shape of ``template``: unknown keys dropped, checkboxes 1/null."""
    if not isinstance(template, dict):
        return current if sent is None else sent
    current = current if isinstance(current, dict) else {}
    sent = sent if isinstance(sent, dict) else {}
    out: dict[str, Any] = {}
    for key, shape in template.items():
        if isinstance(shape, dict):
            out[key] = merged(shape, current.get(key), sent.get(key))
        elif key in sent:
            value = sent[key]
            out[key] = (1 if truthy(value) else None) if key in CHECKBOXES else value
        else:
            out[key] = current.get(key, copy.deepcopy(shape))
    return out


def write(req: Request, current: dict[str, Any] | None, data: dict[str, Any], put: bool) -> dict[str, Any]:
    """The focus item a POST/PATCH/PUT leaves behind, or Mautic's validation error."""
    if current is None or put:
        focus: dict[str, Any] = {
            **(current or {}),
            **{k: None for k in TEXT_KEYS},
            "category": None,
            "isPublished": current is None,
            "properties": copy.deepcopy(PROPERTIES),
            "utmTags": dict(UTM),
            "form": None,
            "htmlMode": None,
        }
    else:
        focus = copy.deepcopy(current)
    for key in TEXT_KEYS:
        if key in data:
            focus[key] = text_or_none(data[key])
    if "isPublished" in data:
        focus["isPublished"] = truthy(data["isPublished"])
    if "html_mode" in data:  # the form field; ``htmlMode`` (the read name) is ignored on write
        focus["htmlMode"] = text_or_none(data["html_mode"])
    if "form" in data:
        focus["form"] = int(data["form"]) if str(data["form"]).isdigit() else None
    if "properties" in data:
        focus["properties"] = merged(PROPERTIES, focus["properties"], data["properties"])
    if isinstance(data.get("utmTags"), dict):
        focus["utmTags"] = {k: data["utmTags"].get(k, focus["utmTags"].get(k)) for k in UTM}
    if data.get("category") not in (None, ""):
        raise kernel_error(500)  # no categories here; Mautic throws on an unknown category id
    errors: dict[str, list[str]] = {}
    if not focus["type"]:
        errors["type"] = ["Use the builder to select what the focus should be."]
    if not focus["style"]:
        errors["style"] = ["Use the builder to select what style should be used."]
    if not focus["name"]:
        errors["name"] = ["A name is required."]
    if errors:
        raise validation_error(errors)
    too_long(focus["name"])
    if current is None:
        stamp_new(req, focus)
        focus["modifiedBy"], focus["modifiedByUser"] = focus["createdBy"], focus["createdByUser"]
    else:
        stamp_edit(req, focus)
    return {k: focus.get(k) for k in KEYS}


def build_cache(store: Store, focus: dict[str, Any]) -> None:
    """The embed script Mautic regenerates on every save (its content is not a client contract)."""
    settings = json.dumps({"style": focus["style"], "type": focus["type"]})
    focus["cache"] = (
        f"(function(window){{window.MauticFocus{focus['id']}=function(){{return {settings}}}}})(window);"
    )


FOCUS = EntityKind(
    table="focus",
    one="focus",
    multi="focus",
    base="/api/focus",
    write=write,
    order=("name",),
    search=("name", "website"),
    after_save=build_cache,
    extra_columns=("type", "style", "website", "category"),
)
register(FOCUS)


@route("POST", "/api/focus/{id}/js")
def focus_js(req: Request) -> Response:
    """``POST /api/focus/{id}/js``: the item's embed script, as ``{"js": ...}``."""
    return Response(200, {"js": get_or_404(FOCUS, req)["cache"]})
