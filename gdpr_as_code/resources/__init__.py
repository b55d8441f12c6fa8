"""Each kind of Mautic object the tool manages, declared once: where it lives, how it is read and written.

A kind knows four things, pure functions over plain dicts (tested table-driven from recorded Mautic answers):

- ``render(spec_obj)``: the *desired* object as a comparable dict, references to other spec objects written as
  ``@kind.key`` strings (``ref``), never as Mautic ids;
- ``normalise(raw, refs)``: a *live* object as Mautic returned it, turned into the same shape: server noise
  dropped (dates, revision, cached HTML, ``checkedOut``...), ``[]`` versus ``{}``, ``"1"`` versus ``1``,
  ids of managed objects turned back into ``@kind.key`` references through ``refs``;
- ``key_of(raw)``: the ownership marker (see below) or ``None`` for an object the tool does not manage;
- ``payload(desired, key, changed, resolve)``: the body of a create (``changed is None``) or of a PATCH that
  changes only the top-level attributes in ``changed``, references resolved to ids, quirks of Mautic applied.

Ownership without a state file: a marker ``[gdpr-as-code:KEY]`` that Mautic stores with the object.
- segments, forms, focus items: a line in ``description`` (stored and returned by the API for all three);
- form actions: their own ``description`` (so actions are matched by spec key, not by position or name);
- emails: the API has no ``description`` for emails (the entity has one, the API form does not), so the marker
  is an HTML comment at the end of ``customHtml``, which Mautic keeps verbatim (recorded flows/019);
- contact fields: no description at all, and Mautic drops every ``properties`` key their type does not define
  (``FormFieldHelper::validateProperties``), so the managed ones are listed, spec key to alias, in an
  unpublished registry segment (``resources.fields``: ``read_registry``, ``registry_body``).
A marker that disappears never leads to a change of an unmanaged object: the tool stops, says how to adopt it.
"""

from __future__ import annotations

from collections.abc import Mapping

from gdpr_as_code.resources.common import (
    MARKER_RE,
    Json,
    Kind,
    Payload,
    RefIndex,
    Resolver,
    SubIds,
    description_key,
    marker,
    parse_ref,
    ref,
    references,
    split_description,
    with_marker,
)
from gdpr_as_code.resources.emails import (
    EMAILS,
    email_key,
    email_payload,
    normalise_email,
    render_email,
    split_html,
)
from gdpr_as_code.resources.fields import (
    FIELDS,
    REGISTRY_ALIAS,
    FieldRegistry,
    field_key,
    field_payload,
    normalise_field,
    read_registry,
    registry_body,
    render_field,
)
from gdpr_as_code.resources.focus import FOCUS, focus_payload, normalise_focus, render_focus
from gdpr_as_code.resources.forms import FORMS, form_payload, form_sub_ids, normalise_form, render_form
from gdpr_as_code.resources.segments import SEGMENTS, normalise_segment, render_segment

# In dependency order: what a later kind refers to is created first.
KINDS: tuple[Kind, ...] = (FIELDS, SEGMENTS, EMAILS, FORMS, FOCUS)
BY_NAME: Mapping[str, Kind] = {k.name: k for k in KINDS}
BY_LABEL: Mapping[str, Kind] = {k.label: k for k in KINDS}


def kind_of_address(address: str) -> tuple[Kind, str]:
    """Parse ``segment.forget`` (or ``segments.forget``) into its kind and spec key; ValueError if unknown."""
    head, _, key = address.partition(".")
    kind = BY_LABEL.get(head) or BY_NAME.get(head)
    if kind is None or not key:
        raise ValueError(address)
    return kind, key


__all__ = [
    "BY_LABEL",
    "BY_NAME",
    "EMAILS",
    "FIELDS",
    "FOCUS",
    "FORMS",
    "KINDS",
    "MARKER_RE",
    "REGISTRY_ALIAS",
    "SEGMENTS",
    "FieldRegistry",
    "Json",
    "Kind",
    "Payload",
    "RefIndex",
    "Resolver",
    "SubIds",
    "description_key",
    "email_key",
    "email_payload",
    "field_key",
    "field_payload",
    "focus_payload",
    "form_payload",
    "form_sub_ids",
    "kind_of_address",
    "marker",
    "normalise_email",
    "normalise_field",
    "normalise_focus",
    "normalise_form",
    "normalise_segment",
    "parse_ref",
    "read_registry",
    "ref",
    "references",
    "registry_body",
    "render_email",
    "render_field",
    "render_focus",
    "render_form",
    "render_segment",
    "split_description",
    "split_html",
    "with_marker",
]
