"""Focus items (``/api/focus``): the consent banner; written as ``html_mode``, read as ``htmlMode``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gdpr_as_code.resources.common import (
    Json,
    Kind,
    RefIndex,
    Resolver,
    SubIds,
    as_dict,
    described_payload,
    description_key,
    flag,
    id_ref,
    key_in,
    optional_text,
    ref,
    spec_entry,
    split_description,
)
from gdpr_as_code.spec import ConsentFocus

FOCUS_FLAGS = ("stop_after_conversion", "stop_after_close")


def render_focus(focus: ConsentFocus) -> Json:
    """Desired consent banner. ``htmlMode`` is not managed (written as ``html_mode``, read as ``htmlMode``);
    the banner uses Mautic's basic mode."""
    properties: Json = {
        "colors": {
            "primary": focus.colors.primary,
            "text": focus.colors.text,
            "button": focus.colors.button,
            "button_text": focus.colors.button_text,
        },
        "content": {
            "headline": focus.headline,
            "tagline": optional_text(focus.text),
            "link_text": optional_text(focus.button_text),
            "link_url": optional_text(focus.privacy_url),
            "link_new_window": flag(focus.link_new_window),
        },
        "when": focus.when,
        "timeout": None if focus.timeout is None else str(focus.timeout),
        "frequency": focus.frequency,
        "stop_after_conversion": flag(focus.stop_after_conversion),
        "stop_after_close": flag(focus.stop_after_close),
    }
    if focus.placement:
        properties[focus.style] = {"placement": focus.placement}
    return {
        "name": focus.name,
        "description": optional_text(focus.description),
        "type": focus.type,
        "style": focus.style,
        "website": optional_text(focus.website),
        "isPublished": focus.published,
        "form": ref("forms", focus.form) if focus.form else None,
        "properties": properties,
    }


def normalise_focus(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live focus item: every property group comes back with nulls; flags as 1/0; the generated ``cache`` JS
    is dropped."""
    human, _ = split_description(raw.get("description"))
    props = as_dict(raw.get("properties"))
    content = as_dict(props.get("content"))
    properties: Json = {
        "colors": {k: optional_text(v) for k, v in as_dict(props.get("colors")).items()},
        "content": {
            **{k: optional_text(v) for k, v in content.items()},
            "link_new_window": flag(content.get("link_new_window")),
        },
        "when": optional_text(props.get("when")),
        "timeout": optional_text(props.get("timeout")),
        "frequency": optional_text(props.get("frequency")),
        **{name: flag(props.get(name)) for name in FOCUS_FLAGS},
    }
    for style in ("bar", "modal", "notification"):
        placement = as_dict(props.get(style)).get("placement")
        if placement:
            properties[style] = {"placement": placement}
    return {
        "name": raw.get("name"),
        "description": human,
        "type": raw.get("type"),
        "style": raw.get("style"),
        "website": optional_text(raw.get("website")),
        "isPublished": bool(raw.get("isPublished")),
        "form": id_ref("forms", raw.get("form"), refs),
        "properties": properties,
    }


def focus_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/focus``: ``style`` is required on every write, properties are sent whole (Mautic merges
    nested groups, recorded crud/048)."""
    body = described_payload(desired, key, changed, resolve, sub_ids)
    body["style"] = desired["style"]
    return body


def focus_entry(data: Json) -> Json | str:
    """The ``consent:`` entry of the consent banner (``export``)."""
    if data.get("style") not in ("bar", "modal", "notification", "page"):
        return f"its style '{data.get('style')}' is not one the spec knows"
    props = as_dict(data.get("properties"))
    content = as_dict(props.get("content"))
    style = str(data["style"])
    colors = {k: v for k, v in as_dict(props.get("colors")).items() if v}
    timeout = props.get("timeout")
    entry = spec_entry({
        "name": data.get("name"), "description": data.get("description"), "style": style,
        "headline": content.get("headline") or data.get("name"), "text": content.get("tagline"),
        "button_text": content.get("link_text"), "privacy_url": content.get("link_url"),
        "form": key_in(data.get("form")), "website": data.get("website"),
        "published": data.get("isPublished"), "placement": as_dict(props.get(style)).get("placement"),
        "colors": colors or None, "when": props.get("when"),
        "timeout": int(timeout) if str(timeout or "").isdigit() else None,
        "frequency": props.get("frequency"),
        **{name: bool(props.get(name)) for name in FOCUS_FLAGS},
        "link_new_window": bool(content.get("link_new_window")),
    }, {"published": True, "when": "immediately", "frequency": "everypage", "stop_after_conversion": True,
        "stop_after_close": True, "link_new_window": True})
    return entry


FOCUS = Kind(
    name="focus",
    label="focus",
    path="/focus",
    list_key="focus",
    one_key="focus",
    identity="name",
    spec_objects=lambda spec: (spec.consent,) if spec.consent is not None else (),
    render=render_focus,
    normalise=normalise_focus,
    key_of=description_key,
    payload=focus_payload,
    to_spec=focus_entry,
)
