"""Segments (``/api/segments``): filter values in ``properties.filter``, the marker in the description."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from gdpr_as_code.resources.common import (
    Json,
    Kind,
    RefIndex,
    as_dict,
    described_payload,
    description_key,
    optional_text,
    spec_entry,
    split_description,
)
from gdpr_as_code.spec import Segment


def _filter_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return None if value is None else str(value)


def render_segment(segment: Segment) -> Json:
    """Desired segment; filters carry the value in ``properties.filter`` as Mautic 5 stores it.

    A changed filter list is PATCHed whole. Checked (real-Mautic audit): Mautic merges the sent filters onto
    the stored ones by position (recorded crud/080), and drops stored filters beyond the sent ones, because
    ``filters`` is a ``CollectionType`` with ``allow_delete`` (Mautic 5.1 LeadBundle/Form/Type/ListType.php
    L126-136) and Symfony's ``ResizeFormListener`` removes the entries not submitted, even on PATCH."""
    return {
        "name": segment.name,
        "alias": segment.alias,
        "publicName": segment.public_name or segment.name,
        "description": optional_text(segment.description),
        "isPublished": segment.published,
        "isGlobal": segment.is_global,
        "filters": [
            {
                "glue": "and" if index == 0 else f.glue,
                "object": "lead",
                "field": f.field,
                "type": f.type,
                "operator": f.operator,
                "properties": {"filter": _filter_value(f.value)},
            }
            for index, f in enumerate(segment.filters)
        ],
    }


def _unescaped(text: object) -> object:
    """Mautic stores a segment's name and public name HTML-escaped (``ListType`` cleans them with
    ``InputHelper::clean``, PHP's ``FILTER_SANITIZE_SPECIAL_CHARS``: ``&`` becomes ``&#38;``, ``'`` ``&#39;``;
    Mautic 5.1 LeadBundle/Form/Type/ListType.php L38), so ``Access & erasure`` would otherwise never match."""
    return html.unescape(text) if isinstance(text, str) else text


def normalise_segment(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live segment: marker out of the description; filters read from ``properties.filter`` first (Mautic also
    echoes stale root-level ``filter``/``display`` copies, recorded crud/080), first glue always ``and``."""
    human, _ = split_description(raw.get("description"))
    filters = []
    for index, item in enumerate(raw.get("filters") or []):
        props = as_dict(item.get("properties"))
        value = props["filter"] if "filter" in props else item.get("filter")
        filters.append(
            {
                "glue": "and" if index == 0 else (item.get("glue") or "and"),
                "object": item.get("object") or "lead",
                "field": item.get("field"),
                "type": item.get("type"),
                "operator": item.get("operator"),
                "properties": {"filter": _filter_value(value)},
            }
        )
    return {
        "name": _unescaped(raw.get("name")),
        "alias": raw.get("alias"),
        "publicName": _unescaped(raw.get("publicName")),
        "description": human,
        "isPublished": bool(raw.get("isPublished")),
        "isGlobal": bool(raw.get("isGlobal")),
        "filters": filters,
    }


def segment_entry(data: Json) -> Json | str:
    """The spec entry of a segment (``export``): filters on a field by alias, values as Mautic holds them."""
    filters = []
    for index, row in enumerate(data.get("filters") or []):
        if row.get("object") not in (None, "lead"):
            return f"filter {index + 1} is on a {row.get('object')} field; the spec has contact fields only"
        value = row["properties"]["filter"]
        item = {"field": row.get("field"), "operator": row.get("operator")}
        if value is not None and row.get("operator") not in ("empty", "!empty"):
            item["value"] = value
        if index and row.get("glue") == "or":
            item["glue"] = "or"
        filters.append(item)
    entry = spec_entry({"name": data.get("name"), "alias": data.get("alias"),
                        "public_name": data.get("publicName"), "description": data.get("description"),
                        "published": data.get("isPublished"), "global": data.get("isGlobal")},
                       {"public_name": data.get("name"), "published": True, "global": True})
    return {**entry, "filters": filters} if filters else entry


SEGMENTS = Kind(
    name="segments",
    label="segment",
    path="/segments",
    list_key="lists",
    one_key="list",
    identity="alias",
    spec_objects=lambda spec: spec.segments,
    render=render_segment,
    normalise=normalise_segment,
    key_of=description_key,
    payload=described_payload,
    lookalike=("name",),
    to_spec=segment_entry,
    verify_hints={
        "isPublished": (
            " (publishing needs the API user's :publish permission; a segment in use cannot be unpublished)"
        )
    },
    waits_for=("fields",),  # filters name contact fields by alias
)
