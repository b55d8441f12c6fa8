"""Forms (``/api/forms``) with their fields and actions, as Mautic 5.1's ``FormApiController`` writes them.

Recorded in crud/023-042, 071, 075, 078-079 and flows/031-056, 160-179; read in ``FormApiController::
preSaveEntity`` and ``FieldModel::generateAlias``. What a client must survive:

- fields and actions match by ``id`` only: an item without ``id`` is a new one (a duplicate, if it looks
  like an existing one); an unknown ``id`` is a 404 ``Form Field ID N not found``;
- a new field keeps its given alias (cleaned, 25 characters) unless a current field of the form has it;
  then, or when none is given, it gets 5 random letters (``generateAlias`` cleans the *empty* label of a new
  entity);
- sent fields and actions are numbered 1..n in request order; others keep their order, so orders collide;
- PATCH never deletes; PUT deletes every field and action it does not list, and clears what it does not send;
- any write without ``postAction`` resets it to ``return``; the alias comes from the name (10 characters);
- a field sent with only ``leadField`` is answered with ``mappedObject``/``mappedField`` filled in, but a form
  created by POST stores them empty (its submissions then map nothing, flows/053); fields added by a later
  PATCH or PUT keep them;
- a checkbox group synced (``syncList``) to a mapped contact field reads back with an extra
  ``properties.list``, which a PUT of that GET refuses (400, flows/171);
- ``lead.changelist`` accepts only published segments, ``email.send.lead`` only template emails;
- a failure in the fields or actions of a new form still spends its id (the INSERT was rolled back, crud/031).
"""

from __future__ import annotations

import copy
from typing import Any

from gdpr_as_code.mautic.aliases import clean_alias, random_letters
from gdpr_as_code.sandbox.entities import (
    PUBLISH_KEYS,
    EntityKind,
    get_or_404,
    register,
    rendered,
    stamp_edit,
    stamp_new,
    text_or_none,
    too_long,
)
from gdpr_as_code.sandbox.formhtml import cached_html
from gdpr_as_code.sandbox.formparts import GROUP_TYPES, backfilled, write_actions, write_fields
from gdpr_as_code.sandbox.http import (
    Request,
    Response,
    controller_error,
    kernel_error,
    truthy,
    validation_error,
)
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

LIST_KEYS = (*PUBLISH_KEYS, "id", "name", "alias", "category")
FORM_KEYS = (
    *LIST_KEYS,
    "description",
    "cachedHtml",
    "publishUp",
    "publishDown",
    "fields",
    "actions",
    "template",
    "inKioskMode",
    "renderStyle",
    "formType",
    "postAction",
    "postActionProperty",
    "noIndex",
    "formAttributes",
    "language",
)
CLEARED: dict[str, Any] = {
    "isPublished": False,
    "name": None,
    "description": None,
    "category": None,
    "publishUp": None,
    "publishDown": None,
    "template": None,
    "inKioskMode": None,
    "renderStyle": None,
    "formType": None,
    "postActionProperty": None,
    "noIndex": None,
    "formAttributes": None,
    "language": None,
}


# --- reading -----------------------------------------------------------------------------------------------


def loaded(store: Store, form: dict[str, Any]) -> dict[str, Any]:
    """The form as Mautic loads it: fields and actions by ``order`` then id, synced option lists filled in."""
    out = copy.deepcopy(form)
    out["fields"].sort(key=lambda f: (f["order"] or 0, f["id"] or 0))
    out["actions"].sort(key=lambda a: (a["order"] or 0, a["id"] or 0))
    for field in out["fields"]:
        props = field["properties"]
        if (
            field["type"] in (*GROUP_TYPES, "select")
            and isinstance(props, dict)
            and truthy(props.get("syncList"))
        ):
            source = (
                contact_field(store, field.get("mappedField"))
                if field.get("mappedObject") == "contact"
                else None
            )
            if (
                source is not None
                and isinstance(source.get("properties"), dict)
                and source["properties"].get("list")
            ):
                props["list"] = {"list": source["properties"]["list"]}
    return out


def contact_field(store: Store, alias: Any) -> dict[str, Any] | None:
    return next(
        (f for f in store.table("fields").values() if f["object"] == "lead" and f["alias"] == alias), None
    )


def render(store: Store, form: dict[str, Any]) -> dict[str, Any]:
    out = loaded(store, form)
    return {k: out.get(k) for k in FORM_KEYS}


# --- the form ----------------------------------------------------------------------------------------------


def write(req: Request, current: dict[str, Any] | None, data: dict[str, Any], put: bool) -> dict[str, Any]:
    """The form a POST/PATCH/PUT leaves behind, with ``_echo``: the answer of this write."""
    store = req.store
    if current is None:
        form: dict[str, Any] = {
            **CLEARED,
            "isPublished": True,
            "inKioskMode": False,
            "renderStyle": False,
            "formType": "standalone",
            "fields": [],
            "actions": [],
            "alias": None,
            "cachedHtml": "",
        }
    else:
        form = loaded(store, current)
        if put:
            form.update(CLEARED)
    for key in (
        "name",
        "description",
        "template",
        "postActionProperty",
        "formAttributes",
        "language",
        "publishUp",
        "publishDown",
    ):
        if key in data:
            form[key] = text_or_none(data[key])
    for key in ("isPublished", "inKioskMode", "renderStyle", "noIndex"):
        if key in data:
            form[key] = truthy(data[key])
    if "formType" in data:
        form["formType"] = data["formType"]
    form["postAction"] = data.get("postAction") or "return"  # FormApiController forces it when omitted
    errors: dict[str, list[str]] = {}
    if not form["name"]:
        errors["name"] = ["A name is required."]
    if form["formType"] not in (None, "standalone", "campaign"):
        errors["formType"] = ["The value you selected is not a valid choice."]
    if form["postAction"] not in ("message", "redirect", "return"):
        errors["postAction"] = ["The value you selected is not a valid choice."]
    if errors:
        raise validation_error(errors)
    if data.get("category") not in (None, ""):
        raise kernel_error(500)  # no categories here; Mautic throws on an unknown category id
    too_long(form["name"])
    try:
        fields = write_fields(
            req, form, data.get("fields") if put or "fields" in data else [], put, current is None
        )
        actions = write_actions(req, form, data.get("actions") if put or "actions" in data else [], put)
    except Exception:
        if current is None and req.app.profile.saves_form_before_actions:
            keep_bare(req, form)  # 7.0.2: the form row stays, without fields or actions (crud/031)
        elif current is None:
            store.next_id("forms")  # the form row was inserted before the fields failed, then rolled back
        raise
    for field in fields:
        field["id"] = store.next_id("form_fields")
        form["fields"].append(field)
    for action in actions:
        action["id"] = store.next_id("form_actions")
        form["actions"].append(action)
    if current is None:
        form["alias"] = new_alias(store, form["name"])
        stamp_new(req, form)
        form["dateModified"], form["modifiedBy"], form["modifiedByUser"] = (
            form["dateAdded"],
            form["createdBy"],
            form["createdByUser"],
        )  # saved twice: after its fields too
    else:
        stamp_edit(req, form)
    form["id"] = current["id"] if current else 0
    echo = {k: form.get(k) for k in FORM_KEYS} | {"fields": [backfilled(f) for f in form["fields"]]}
    stored = copy.deepcopy({k: form.get(k) for k in FORM_KEYS})
    for field in stored["fields"]:  # a synced list is read from the contact field, not stored
        props = field["properties"]
        if isinstance(props, dict) and field["type"] in GROUP_TYPES and "optionlist" in props:
            props.pop("list", None)
    stored["_echo"] = echo
    return stored


def new_alias(store: Store, name: str) -> str:
    """A new form's alias: its name cleaned to 10 characters, numbered when taken."""
    taken = {f["alias"] for f in store.table("forms").values()}
    alias = base = clean_alias(name, max_length=10, empty=random_letters())
    suffix = 1
    while alias in taken:
        alias, suffix = f"{base}{suffix}", suffix + 1
    return alias


def keep_bare(req: Request, form: dict[str, Any]) -> None:
    """The form a refused POST leaves behind on 7.0: saved before its parts, never rendered (no HTML)."""
    bare = {k: form.get(k) for k in FORM_KEYS} | {"fields": [], "actions": [], "cachedHtml": None}
    bare["alias"] = new_alias(req.store, form["name"])
    stamp_new(req, bare)
    req.store.insert("forms", bare)


def finish(store: Store, form: dict[str, Any]) -> None:
    """After the id is known: the cached HTML, in the stored form and in this write's answer."""
    form["cachedHtml"] = cached_html(form, store.meta.get("site_url", "http://127.0.0.1"))
    if "_echo" in form:
        form["_echo"].update(id=form["id"], cachedHtml=form["cachedHtml"])


def render_write(store: Store, form: dict[str, Any]) -> dict[str, Any]:
    """A write is answered with its echo (back-filled mapping, fields in load order) once; reads re-load."""
    echo = form.pop("_echo", None)
    return {k: echo.get(k) for k in FORM_KEYS} if echo else render(store, form)


def forget(store: Store, form: dict[str, Any]) -> None:
    """A deleted form takes its results with it; its answer has null ids all the way down (crud/071)."""
    submissions = store.table("submissions")
    for key in [k for k, sub in submissions.items() if sub["form"] == form["id"]]:
        del submissions[key]
    for item in (*form["fields"], *form["actions"]):
        item["id"] = None


FORMS = EntityKind(
    table="forms",
    one="form",
    multi="forms",
    base="/api/forms",
    write=write,
    order=("name",),
    search=("name", "description"),
    minimal=LIST_KEYS,
    as_array=True,
    render=render_write,
    on_delete=forget,
    after_save=finish,
    extra_columns=("formType", "postAction", "category"),
)
register(FORMS)


def delete_parts(req: Request, part: str) -> Response:
    """``DELETE /api/forms/{id}/fields/delete?fields[]=N`` (or actions): answers the whole form."""
    form = get_or_404(FORMS, req)
    # ``$request->get()``: the query first, then the body (JSON or form); both lines, versions/032-036
    body = req.data if isinstance(req.data, dict) else {}
    ids = req.query.get(part, body.get(part))
    if ids is None and req.app.profile.field_delete_without_param_is_noop:
        ids = []  # 7.0.2 answers the form unchanged (versions/037); a scalar is still refused (038)
    if not isinstance(ids, (list, dict)):
        raise controller_error(400, f"The {part} attribute must be array.")
    wanted = {int(i) for i in (ids.values() if isinstance(ids, dict) else ids) if str(i).isdigit()}
    form[part] = [item for item in form[part] if item["id"] not in wanted]
    finish(req.store, form)
    # This endpoint serialises without Mautic's API context, so null values are left out (crud/038).
    return Response(200, {"form": without_nulls(rendered(FORMS, req.store, form))})


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


route("DELETE", "/api/forms/{id}/fields/delete")(lambda req: delete_parts(req, "fields"))
route("DELETE", "/api/forms/{id}/actions/delete")(lambda req: delete_parts(req, "actions"))
