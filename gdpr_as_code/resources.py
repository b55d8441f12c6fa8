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
- contact fields: no description at all; the alias is immutable but a user may have created one with the same
  alias, so the marker is an extra key in ``properties`` (``FieldApiController::preSaveEntity`` stores the
  whole ``properties`` array, only checking the keys a type requires; Mautic 5.1 source, ``FieldModel::
  setFieldProperties``). Editing the field in Mautic's UI may drop it; the field then shows as unmanaged and
  ``plan`` asks for ``gdpr-as-code import``: it never silently takes over a field.
A marker that disappears never leads to a change of an unmanaged object: the tool stops, says how to adopt it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from gdpr_as_code.spec import ConsentFocus, ContactField, Email, Form, FormAction, FormField, Segment

MARKER_RE = re.compile(r"\[gdpr-as-code:([A-Za-z0-9_.\-]+)\]")
FIELD_MARKER_KEY = "gdprAsCode"
REF_RE = re.compile(r"^@([a-z]+)\.(.+)$")

Json = dict[str, Any]
RefIndex = Mapping[tuple[str, int], str]
"""Live ids of managed objects: ``(kind name, id) -> spec key``, to turn ids in live objects into refs."""
Resolver = Callable[[str], int]
"""Turns a ``@kind.key`` reference into its Mautic id (from the live state or created earlier in the run)."""
SubIds = Mapping[str, Mapping[str, int]]
"""Mautic ids of an object's parts, e.g. a form's ``{"fields": {alias: id}, "actions": {key: id}}``."""
Payload = Callable[..., "Json"]


def marker(key: str) -> str:
    """The ownership marker text for a spec key."""
    return f"[gdpr-as-code:{key}]"


def ref(kind: str, key: str) -> str:
    """A reference to another managed object, kept symbolic until apply resolves it to an id."""
    return f"@{kind}.{key}"


def parse_ref(value: object) -> tuple[str, str] | None:
    """``(kind, key)`` of a reference string, or None for any other value."""
    if isinstance(value, str) and (match := REF_RE.match(value)):
        return match.group(1), match.group(2)
    return None


def _id_ref(kind: str, value: object, refs: RefIndex) -> str | None:
    """A live id (int or numeric string) as a reference; an unmanaged id stays visible as ``#N``."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Mapping):  # some answers embed the object ({"id": 3, "name": ...})
        value = value.get("id")
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"#{value}"
    key = refs.get((kind, number))
    return ref(kind, key) if key is not None else f"#{number}"


def _resolve_refs(value: Any, resolve: Resolver) -> Any:
    """Replace every reference in a payload by the id it names."""
    if isinstance(value, dict):
        return {k: _resolve_refs(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_refs(v, resolve) for v in value]
    return resolve(value) if parse_ref(value) else value


def _flag(value: object) -> int:
    """Mautic answers yes/no settings as true, 1, "1", null or false; compare them as 1 or 0."""
    return 1 if value in (True, 1, "1", "yes") else 0


def _text(value: object) -> str | None:
    """Optional text: Mautic answers an unset text as null or ""; both mean "none"."""
    return None if value in (None, "") else str(value)


def _dict(value: object) -> dict[str, Any]:
    """Mautic serialises an empty PHP array as ``[]`` even where an object is meant."""
    return dict(value) if isinstance(value, Mapping) else {}


def _options(items: object) -> list[dict[str, str]]:
    """Choice options as ``[{"label", "value"}]`` with string values (Mautic stores them as strings)."""
    result = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, Mapping):
            result.append({"label": str(item.get("label", "")), "value": str(item.get("value", ""))})
        else:  # core lookup fields list bare strings
            result.append({"label": str(item), "value": str(item)})
    return result


def _spec_options(options: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [{"label": label, "value": value} for label, value in options]


def split_description(text: object) -> tuple[str | None, str | None]:
    """``(human text, marker key)`` of a description: the marker line is not part of what the user wrote."""
    raw = "" if text is None else str(text)
    match = MARKER_RE.search(raw)
    human = MARKER_RE.sub("", raw).strip()
    return (human or None), (match.group(1) if match else None)


def with_marker(text: str | None, key: str) -> str:
    """A description carrying the ownership marker on its own last line."""
    return f"{text}\n\n{marker(key)}" if text else marker(key)


def _html_marker(key: str) -> str:
    return f"<!-- {marker(key)} -->"


def split_html(html: object) -> tuple[str | None, str | None]:
    """``(html without the marker comment, marker key)`` of an email body."""
    raw = "" if html is None else str(html)
    match = MARKER_RE.search(raw)
    body = re.sub(r"\n?<!--\s*\[gdpr-as-code:[^\]]*\]\s*-->", "", raw)
    return (body or None), (match.group(1) if match else None)


def no_sub_ids(raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Kinds without parts PATCHed by id."""
    return {}


@dataclass(frozen=True)
class Kind:
    """One kind of Mautic object: its endpoints, envelope keys, identity and the four functions above.

    ``identity`` is the attribute that makes an unmanaged object "in the way" of a desired one (Mautic refuses
    or renames a duplicate alias; a duplicate name confuses every human reading Mautic). ``label`` is used in
    plan text and in addresses such as ``segment.forget``.
    """

    name: str
    label: str
    path: str
    list_key: str
    one_key: str
    identity: str
    render: Callable[[Any], Json]
    normalise: Callable[[Mapping[str, Any], RefIndex], Json]
    key_of: Callable[[Mapping[str, Any]], str | None]
    payload: Payload
    sub_ids: Callable[[Mapping[str, Any]], dict[str, dict[str, int]]] = no_sub_ids
    lookalike: tuple[str, ...] = ()
    """Further attributes that put an unmanaged object in the way (a segment with our name, another alias)."""

    def address(self, key: str) -> str:
        """How the user names this object on the command line and in messages, e.g. ``segment.forget``."""
        return f"{self.label}.{key}"


# --- contact fields -----------------------------------------------------------------------------------------


def _field_properties(
    type_: str, options: list[dict[str, str]], raw: Mapping[str, Any] | None = None
) -> Json:
    if type_ in ("select", "multiselect", "lookup"):
        return {"list": options}
    if type_ == "boolean":
        by_value = {o["value"]: o["label"] for o in options}
        if raw is not None:
            return {"yes": str(raw.get("yes", "")), "no": str(raw.get("no", ""))}
        return {"yes": by_value.get("1", "Yes"), "no": by_value.get("0", "No")}
    return {}


def render_field(field: ContactField) -> Json:
    """Desired contact field; alias and type are fixed once created, so a change to them is a plan error."""
    return {
        "label": field.label,
        "alias": field.alias,
        "type": field.type,
        "group": field.group,
        "isPublished": field.published,
        "defaultValue": _text(field.default),
        "properties": _field_properties(field.type, _spec_options(field.options)),
    }


def normalise_field(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live contact field: properties without the marker, ``null`` and ``""`` defaults alike."""
    props = _dict(raw.get("properties"))
    props.pop(FIELD_MARKER_KEY, None)
    type_ = str(raw.get("type") or "text")
    return {
        "label": raw.get("label"),
        "alias": raw.get("alias"),
        "type": type_,
        "group": raw.get("group") or "core",
        "isPublished": bool(raw.get("isPublished")),
        "defaultValue": _text(raw.get("defaultValue")),
        "properties": _field_properties(type_, _options(props.get("list")), props),
    }


def field_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in a contact field's ``properties`` marker."""
    value = _dict(raw.get("properties")).get(FIELD_MARKER_KEY)
    match = MARKER_RE.search(str(value or ""))
    return match.group(1) if match else None


def field_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/fields/contact``: ``properties`` is replaced as a whole by Mautic, so it always carries the
    marker; alias and type are only sent on create (Mautic ignores or rejects them later)."""
    keys = set(desired) if changed is None else (set(changed) - {"alias", "type"}) | {"properties"}
    body = {k: desired[k] for k in keys if k in desired}
    body["properties"] = {**desired["properties"], FIELD_MARKER_KEY: marker(key)}
    if body.get("defaultValue") is None:
        body["defaultValue"] = ""
    return _resolve_refs(body, resolve)


# --- segments -----------------------------------------------------------------------------------------------


def _filter_value(value: object) -> object:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return None if value is None else str(value)


def render_segment(segment: Segment) -> Json:
    """Desired segment; filters carry the value in ``properties.filter`` as Mautic 5 stores it."""
    return {
        "name": segment.name,
        "alias": segment.alias,
        "publicName": segment.public_name or segment.name,
        "description": _text(segment.description),
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


def normalise_segment(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live segment: marker out of the description; filters read from ``properties.filter`` first (Mautic also
    echoes stale root-level ``filter``/``display`` copies, recorded crud/080), first glue always ``and``."""
    human, _ = split_description(raw.get("description"))
    filters = []
    for index, item in enumerate(raw.get("filters") or []):
        props = _dict(item.get("properties"))
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
        "name": raw.get("name"),
        "alias": raw.get("alias"),
        "publicName": raw.get("publicName"),
        "description": human,
        "isPublished": bool(raw.get("isPublished")),
        "isGlobal": bool(raw.get("isGlobal")),
        "filters": filters,
    }


def _pick(desired: Json, changed: frozenset[str] | None) -> Json:
    """The desired attributes a write carries: all on create (``changed is None``), else the changed ones."""
    keys = set(desired) if changed is None else set(changed)
    return {k: desired[k] for k in keys if k in desired}


def description_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in a ``description`` marker (segments, forms, focus items, form actions)."""
    return split_description(raw.get("description"))[1]


def _described_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    body = _pick(desired, changed)
    if "description" in body or changed is None:
        body["description"] = with_marker(desired.get("description"), key)
    return _resolve_refs(body, resolve)


# --- emails -------------------------------------------------------------------------------------------------


def render_email(email: Email) -> Json:
    """Desired template email (the notification a request type sends)."""
    return {
        "name": email.name,
        "subject": email.subject,
        "customHtml": email.html,
        "emailType": email.email_type,
        "language": email.language,
        "isPublished": email.published,
        "fromName": _text(email.from_name),
        "fromAddress": _text(email.from_address),
        "replyToAddress": _text(email.reply_to_address),
    }


def normalise_email(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live email: body without the marker comment; ``revision``, counts and dates are not compared."""
    body, _ = split_html(raw.get("customHtml"))
    return {
        "name": raw.get("name"),
        "subject": raw.get("subject"),
        "customHtml": body,
        "emailType": raw.get("emailType") or "template",
        "language": raw.get("language") or "en",
        "isPublished": bool(raw.get("isPublished")),
        "fromName": _text(raw.get("fromName")),
        "fromAddress": _text(raw.get("fromAddress")),
        "replyToAddress": _text(raw.get("replyToAddress")),
        "lists": sorted(filter(None, (_id_ref("segments", x, refs) for x in raw.get("lists") or []))),
    }


def email_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in the marker comment of an email body."""
    return split_html(raw.get("customHtml"))[1]


def email_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/emails``; the body always ends with the marker comment."""
    body = _pick(desired, changed)
    if "customHtml" in body:
        body["customHtml"] = f"{desired['customHtml'] or ''}\n{_html_marker(key)}"
    return _resolve_refs(body, resolve)


# --- forms --------------------------------------------------------------------------------------------------

CHOICE_GROUPS = ("checkboxgrp", "radiogrp")


def _form_field_properties(type_: str, options: list[dict[str, str]]) -> Json:
    """Options live in ``optionlist.list`` for checkbox/radio groups (which also need ``syncList`` or Mautic
    renders no boxes, recorded flows/032) and in ``list.list`` for selects."""
    if type_ in CHOICE_GROUPS:
        return {"syncList": 0, "optionlist": {"list": options}}
    if type_ == "select":
        return {"list": {"list": options}}
    return {}


def render_form_field(field: FormField, order: int) -> Json:
    """Desired form field, mapped explicitly (Mautic drops a mapping sent only as ``leadField``)."""
    return {
        "label": field.label,
        "type": field.type,
        "isRequired": field.required,
        "order": order,
        "defaultValue": _text(field.default),
        "helpMessage": _text(field.help),
        "properties": _form_field_properties(field.type, _spec_options(field.options)),
        "mappedObject": "contact" if field.contact_field else None,
        "mappedField": field.contact_field,
    }


def render_form_action(action: FormAction) -> Json:
    """Desired form action: our action types become Mautic ``lead.changelist`` / ``email.send.lead``."""
    if action.type == "send_email":
        return {
            "name": action.name,
            "type": "email.send.lead",
            "properties": {"email": ref("emails", action.email or "")},
        }
    targets = sorted(ref("segments", key) for key in action.segments)
    add = targets if action.type == "add_to_segments" else []
    remove = targets if action.type == "remove_from_segments" else []
    return {
        "name": action.name,
        "type": "lead.changelist",
        "properties": {"addToLists": add, "removeFromLists": remove},
    }


def render_form(form: Form) -> Json:
    """Desired form; fields keyed by alias and actions by spec key, so the diff never goes by position."""
    return {
        "name": form.name,
        "description": _text(form.description),
        "isPublished": form.published,
        "formType": "standalone",
        "postAction": form.post_action,
        "postActionProperty": form.redirect or form.message,
        "fields": {f.key: render_form_field(f, n) for n, f in enumerate(form.fields, start=1)},
        "actions": {a.key: render_form_action(a) for a in form.actions},
    }


def _normalise_form_field_properties(type_: str, props: Mapping[str, Any]) -> Json:
    if type_ in CHOICE_GROUPS:
        # Mautic adds a read-only `list` copy when syncList=1 (recorded flows/160); it is not ours to compare.
        items = _dict(props.get("optionlist")).get("list", _dict(props.get("list")).get("list"))
        return {"syncList": _flag(props.get("syncList")), "optionlist": {"list": _options(items)}}
    if type_ == "select":
        return {"list": {"list": _options(_dict(props.get("list")).get("list"))}}
    return {k: v for k, v in props.items() if v not in (None, "")}


def action_slot(raw_action: Mapping[str, Any]) -> str:
    """The spec key of a live form action, or ``#ID`` for one the tool did not create (it is then removed)."""
    return description_key(raw_action) or f"#{raw_action.get('id')}"


def normalise_form(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live form: fields keyed by alias with their position as ``order`` (Mautic renumbers on every PATCH),
    actions keyed by their marker, ids of segments/emails in action properties turned into references, and
    ``cachedHtml``, dates and the derived ``alias`` left out."""
    human, _ = split_description(raw.get("description"))
    raw_fields = sorted(
        raw.get("fields") or [], key=lambda f: (int(f.get("order") or 0), int(f.get("id") or 0))
    )
    fields: Json = {}
    for position, item in enumerate(raw_fields, start=1):
        type_ = str(item.get("type"))
        fields[str(item.get("alias"))] = {
            "label": item.get("label"),
            "type": type_,
            "isRequired": bool(item.get("isRequired")),
            "order": position,
            "defaultValue": _text(item.get("defaultValue")),
            "helpMessage": _text(item.get("helpMessage")),
            "properties": _normalise_form_field_properties(type_, _dict(item.get("properties"))),
            "mappedObject": _text(item.get("mappedObject")),
            "mappedField": _text(item.get("mappedField")),
        }
    actions: Json = {}
    for item in raw.get("actions") or []:
        props = _dict(item.get("properties"))
        if item.get("type") == "lead.changelist":
            props = {
                name: sorted(filter(None, (_id_ref("segments", x, refs) for x in props.get(name) or [])))
                for name in ("addToLists", "removeFromLists")
            }
        elif item.get("type") in ("email.send.lead",):
            props = {"email": _id_ref("emails", props.get("email"), refs)}
        actions[action_slot(item)] = {"name": item.get("name"), "type": item.get("type"), "properties": props}
    return {
        "name": raw.get("name"),
        "description": human,
        "isPublished": bool(raw.get("isPublished")),
        "formType": raw.get("formType") or "standalone",
        "postAction": raw.get("postAction"),
        "postActionProperty": _text(raw.get("postActionProperty")),
        "fields": fields,
        "actions": actions,
    }


def form_sub_ids(raw: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Mautic ids of a live form's fields (by alias) and actions (by spec key): PATCH updates by id only."""
    return {
        "fields": {str(f.get("alias")): int(f["id"]) for f in raw.get("fields") or []},
        "actions": {action_slot(a): int(a["id"]) for a in raw.get("actions") or []},
    }


def form_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body of a form create or PATCH. Always sends ``postAction`` (a PATCH without it resets it to "return",
    recorded flows/050); when fields change, sends the whole ordered list with ids (a partial list renumbers
    ``order``, flows/033) and mapping spelled out; existing fields and actions go by id, new ones without."""
    ids = sub_ids or {"fields": {}, "actions": {}}
    keys = set(desired) if changed is None else set(changed) | {"postAction", "postActionProperty"}
    body: Json = {k: desired[k] for k in keys if k in desired and k not in ("fields", "actions")}
    if "description" in keys:
        body["description"] = with_marker(desired.get("description"), key)
    if "fields" in keys:
        body["fields"] = []
        # by the desired position, not dict order: a saved plan's JSON may come back with keys sorted
        for alias, field in sorted(desired["fields"].items(), key=lambda item: item[1]["order"]):
            item = {"alias": alias, **{k: v for k, v in field.items() if k != "order"}}
            if alias in ids["fields"]:
                item["id"] = ids["fields"][alias]
            body["fields"].append(item)
    if "actions" in keys:
        body["actions"] = []
        for action_key, action in desired["actions"].items():
            item = {**action, "description": marker(action_key)}
            if action_key in ids["actions"]:
                item["id"] = ids["actions"][action_key]
            body["actions"].append(item)
    return _resolve_refs(body, resolve)


# --- focus items --------------------------------------------------------------------------------------------

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
            "tagline": _text(focus.text),
            "link_text": _text(focus.button_text),
            "link_url": _text(focus.privacy_url),
            "link_new_window": _flag(focus.link_new_window),
        },
        "when": focus.when,
        "timeout": None if focus.timeout is None else str(focus.timeout),
        "frequency": focus.frequency,
        "stop_after_conversion": _flag(focus.stop_after_conversion),
        "stop_after_close": _flag(focus.stop_after_close),
    }
    if focus.placement:
        properties[focus.style] = {"placement": focus.placement}
    return {
        "name": focus.name,
        "description": _text(focus.description),
        "type": focus.type,
        "style": focus.style,
        "website": _text(focus.website),
        "isPublished": focus.published,
        "form": ref("forms", focus.form) if focus.form else None,
        "properties": properties,
    }


def normalise_focus(raw: Mapping[str, Any], refs: RefIndex) -> Json:
    """Live focus item: every property group comes back with nulls; flags as 1/0; the generated ``cache`` JS
    is dropped."""
    human, _ = split_description(raw.get("description"))
    props = _dict(raw.get("properties"))
    content = _dict(props.get("content"))
    properties: Json = {
        "colors": {k: _text(v) for k, v in _dict(props.get("colors")).items()},
        "content": {
            **{k: _text(v) for k, v in content.items()},
            "link_new_window": _flag(content.get("link_new_window")),
        },
        "when": _text(props.get("when")),
        "timeout": _text(props.get("timeout")),
        "frequency": _text(props.get("frequency")),
        **{flag: _flag(props.get(flag)) for flag in FOCUS_FLAGS},
    }
    for style in ("bar", "modal", "notification"):
        placement = _dict(props.get(style)).get("placement")
        if placement:
            properties[style] = {"placement": placement}
    return {
        "name": raw.get("name"),
        "description": human,
        "type": raw.get("type"),
        "style": raw.get("style"),
        "website": _text(raw.get("website")),
        "isPublished": bool(raw.get("isPublished")),
        "form": _id_ref("forms", raw.get("form"), refs),
        "properties": properties,
    }


def focus_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/focus``: ``style`` is required on every write, properties are sent whole (Mautic merges
    nested groups, recorded crud/048)."""
    body = _described_payload(desired, key, changed, resolve, sub_ids)
    body["style"] = desired["style"]
    return body


# --- the kinds, in dependency order (what a later kind refers to is created first) --------------------------

FIELDS = Kind(
    "fields",
    "field",
    "/fields/contact",
    "fields",
    "field",
    "alias",
    render_field,
    normalise_field,
    field_key,
    field_payload,
)
SEGMENTS = Kind(
    "segments",
    "segment",
    "/segments",
    "lists",
    "list",
    "alias",
    render_segment,
    normalise_segment,
    description_key,
    _described_payload,
    lookalike=("name",),
)
EMAILS = Kind(
    "emails",
    "email",
    "/emails",
    "emails",
    "email",
    "name",
    render_email,
    normalise_email,
    email_key,
    email_payload,
)
FORMS = Kind(
    "forms",
    "form",
    "/forms",
    "forms",
    "form",
    "name",
    render_form,
    normalise_form,
    description_key,
    form_payload,
    form_sub_ids,
)
FOCUS = Kind(
    "focus",
    "focus",
    "/focus",
    "focus",
    "focus",
    "name",
    render_focus,
    normalise_focus,
    description_key,
    focus_payload,
)

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
