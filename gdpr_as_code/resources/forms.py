"""Forms (``/api/forms``) with their fields (by alias) and actions (by the marker in their description)."""

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
    description_key,
    flag,
    id_ref,
    key_in,
    marker,
    optional_text,
    options_of,
    ref,
    resolve_refs,
    spec_entry,
    spec_key,
    spec_options,
    split_description,
    with_marker,
)
from gdpr_as_code.spec import Form, FormAction, FormField
from gdpr_as_code.spec.model import FormFieldType

SPEC_FIELD_TYPES = frozenset(FormFieldType.__args__)  # type: ignore[attr-defined]

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
        "defaultValue": optional_text(field.default),
        "helpMessage": optional_text(field.help),
        "properties": _form_field_properties(field.type, spec_options(field.options)),
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
        "description": optional_text(form.description),
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
        items = as_dict(props.get("optionlist")).get("list", as_dict(props.get("list")).get("list"))
        return {"syncList": flag(props.get("syncList")), "optionlist": {"list": options_of(items)}}
    if type_ == "select":
        return {"list": {"list": options_of(as_dict(props.get("list")).get("list"))}}
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
            "defaultValue": optional_text(item.get("defaultValue")),
            "helpMessage": optional_text(item.get("helpMessage")),
            "properties": _normalise_form_field_properties(type_, as_dict(item.get("properties"))),
            "mappedObject": optional_text(item.get("mappedObject")),
            "mappedField": optional_text(item.get("mappedField")),
        }
    actions: Json = {}
    for item in raw.get("actions") or []:
        props = as_dict(item.get("properties"))
        if item.get("type") == "lead.changelist":
            props = {
                name: sorted(filter(None, (id_ref("segments", x, refs) for x in props.get(name) or [])))
                for name in ("addToLists", "removeFromLists")
            }
        elif item.get("type") in ("email.send.lead",):
            props = {"email": id_ref("emails", props.get("email"), refs)}
        actions[action_slot(item)] = {"name": item.get("name"), "type": item.get("type"), "properties": props}
    return {
        "name": raw.get("name"),
        "description": human,
        "isPublished": bool(raw.get("isPublished")),
        "formType": raw.get("formType") or "standalone",
        "postAction": raw.get("postAction"),
        "postActionProperty": optional_text(raw.get("postActionProperty")),
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
    ``order``, flows/033) and mapping spelled out; existing fields and actions go by id, new ones without.

    Checked (real-Mautic audit), Mautic 5.1 FormBundle/Controller/Api/FormApiController.php L169-233: a field
    without ``id`` keeps the alias sent (after ``cleanAlias(alias, 'f_', 25)``, which the spec's key pattern
    already satisfies) unless the form still has a field with it, so a field deleted by hand comes back
    under its alias; an alias sent twice in one request is a 400. ``mappedObject``/``mappedField`` sent
    explicitly are stored (flows/055-056). Fields and actions are only ever deleted through
    ``/forms/{id}/fields/delete?fields[]=`` and ``/actions/delete?actions[]=`` (crud/038-039)."""
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
    return resolve_refs(body, resolve)


def _field_entry(data: Json) -> Json | str:
    if data.get("type") not in SPEC_FIELD_TYPES:
        return f"a {data.get('type')} field, which the spec cannot declare"
    if data.get("mappedField") and data.get("mappedObject") not in (None, "contact"):
        return f"a field filling a {data.get('mappedObject')} field; the spec maps contact fields only"
    entry = spec_entry({"label": data.get("label") or "", "type": data.get("type"),
                        "required": data.get("isRequired"), "contact_field": data.get("mappedField"),
                        "default": data.get("defaultValue"), "help": data.get("helpMessage")},
                       {"type": "text", "required": False})
    props = as_dict(data.get("properties"))
    if data.get("type") in CHOICE_GROUPS:
        entry["options"] = as_dict(props.get("optionlist")).get("list") or []
    elif data.get("type") == "select":
        entry["options"] = as_dict(props.get("list")).get("list") or []
    if "options" in entry and not entry["options"]:
        del entry["options"]  # then they come from the contact field it fills
    return entry


def _action_entry(data: Json) -> Json | str:
    props = as_dict(data.get("properties"))
    if data.get("type") == "email.send.lead":
        email = key_in(props.get("email"))
        return {"type": "send_email", "name": data.get("name"), "email": email} if email else (
            "its email is not exported")
    if data.get("type") == "lead.changelist":
        add, remove = props.get("addToLists") or [], props.get("removeFromLists") or []
        if bool(add) == bool(remove):
            return "it both adds to and removes from segments (the spec has one action for each)"
        keys = [key_in(x) for x in add or remove]
        if None in keys:
            return "one of its segments is not exported"
        return {"type": "add_to_segments" if add else "remove_from_segments", "name": data.get("name"),
                "segments": keys}
    return f"a {data.get('type')} action, which the spec cannot declare"


def form_entry(data: Json) -> Json | str:
    """The spec entry of a form (``export``): fields by alias in their order, actions by key."""
    if data.get("postAction") not in ("message", "redirect"):
        return f"after submit it does '{data.get('postAction')}'; the spec shows a message or redirects"
    fields: Json = {}
    for alias, item in sorted((data.get("fields") or {}).items(), key=lambda pair: pair[1]["order"]):
        entry = _field_entry(item)
        if isinstance(entry, str):
            return f"field '{alias}' is {entry}"
        fields[alias] = entry
    actions: Json = {}
    for slot, item in (data.get("actions") or {}).items():
        entry = _action_entry(item)
        if isinstance(entry, str):
            return f"action '{item.get('name')}' is {entry}"
        actions[spec_key(item.get("name"), actions) if slot.startswith("#") else slot] = entry
    then = "redirect" if data["postAction"] == "redirect" else "message"
    form = spec_entry({"name": data.get("name"), "description": data.get("description"),
                       "published": data.get("isPublished"), then: data.get("postActionProperty") or ""},
                      {"published": True})
    return {**form, "fields": fields, **({"actions": actions} if actions else {})}


def claim_actions(data: Json, sub_ids: SubIds, desired: Json) -> tuple[Json, SubIds]:
    """An adopted form's actions without a marker (``#ID``) take the key of the desired action they are:
    the same name, type and properties, else the same name and type."""
    actions = dict(data.get("actions") or {})
    ids = {part: dict(found) for part, found in sub_ids.items()}
    for key, want in (desired.get("actions") or {}).items():
        if key in actions:
            continue
        loose = [s for s, a in actions.items() if s.startswith("#") and (a["name"], a["type"]) == (
            want["name"], want["type"])]
        exact = [s for s in loose if actions[s] == want]
        slot = (exact or loose or [None])[0]
        if slot is not None:
            actions[key] = actions.pop(slot)
            ids.setdefault("actions", {})[key] = ids.get("actions", {}).pop(slot)
    return {**data, "actions": actions}, ids


FORMS = Kind(
    name="forms",
    label="form",
    path="/forms",
    list_key="forms",
    one_key="form",
    identity="name",
    spec_objects=lambda spec: spec.forms,
    render=render_form,
    normalise=normalise_form,
    key_of=description_key,
    payload=form_payload,
    sub_ids=form_sub_ids,
    parts=("fields", "actions"),
    waits_for=("fields",),  # form fields map to contact fields by alias
    claim=claim_actions,
    to_spec=form_entry,
    change_notes={
        "postAction": "Mautic resets it to \"return\" when a form is saved without it, as another client's "
                      "PATCH (e.g. unpublishing by hand) does; apply sets the spec's again",
    },
)
