"""Mautic's generic API machinery for a "standard entity" (CONTRACT §1), shared by segments, fields, forms,
focus and emails.

``register(kind)`` adds the eight standard routes: list, get, ``/new``, ``/{id}/edit`` (PATCH and PUT),
``/{id}/delete``, ``/batch/new``, ``/batch/edit`` (PATCH and PUT), ``/batch/delete``. An ``EntityKind``
supplies what differs: the table and envelope keys, ``write`` (validate a body and build the stored object),
the list order and search columns. The quirks every entity shares live here once:

- create answers 201 with a Location header; PUT on a missing id creates a new object under a new id (201);
- DELETE answers the deleted object with ``"id": null``;
- lists are objects keyed by id (forms: an array), ``[]`` when empty; ``total`` is a number;
- ``limit`` 0 means all, default 30, negative/non-numeric ``limit`` or negative ``start`` and unknown
  ``orderBy`` columns are 500s; ``published`` and ``minimal`` are read with PHP truthiness ("false" is true);
- batches: at most 200 items, per-item ``statusCodes`` and ``errors`` keyed by position.

Stored objects are kept in their API shape; keys starting with ``_`` are private and never rendered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gdpr_as_code.sandbox.clock import iso, now
from gdpr_as_code.sandbox.contact_write import user_stamp
from gdpr_as_code.sandbox.http import ApiError, Request, Response, controller_error, kernel_error, not_found
from gdpr_as_code.sandbox.query import batch_items, like, paging, query_ids, sort_key
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

# (request, current object or None for a create, body, put) -> the object to store; ApiError when invalid.
Writer = Callable[[Request, "dict[str, Any] | None", "dict[str, Any]", bool], "dict[str, Any]"]

PUBLISH_KEYS = (
    "isPublished",
    "dateAdded",
    "dateModified",
    "createdBy",
    "createdByUser",
    "modifiedBy",
    "modifiedByUser",
)
MAX_COLUMN = 191  # VARCHAR(191): longer names/aliases make MariaDB fail, which Mautic answers as a 500


@dataclass(frozen=True)
class EntityKind:
    """What distinguishes one standard entity from another."""

    table: str
    one: str
    multi: str
    base: str
    write: Writer
    order: tuple[str, ...] = ("name",)
    search: tuple[str, ...] = ("name",)
    minimal: tuple[str, ...] | None = None
    as_array: bool = False
    extra_columns: tuple[str, ...] = ()
    render: Callable[[Store, dict[str, Any]], dict[str, Any]] | None = None
    on_delete: Callable[[Store, dict[str, Any]], None] | None = None
    after_save: Callable[[Store, dict[str, Any]], None] | None = None
    scope: Callable[[dict[str, Any]], bool] | None = None  # rows of the table this endpoint lists
    commands: dict[str, Callable[[dict[str, Any], str], bool]] = field(default_factory=dict)


# --- helpers resource modules share ------------------------------------------------------------------------


def php_truthy(value: Any) -> bool:
    """PHP's truthiness of a query value: only "" and "0" are false, so ``published=false`` is true."""
    return value not in (None, "", "0", 0, False, [], {})


def stamp_new(req: Request, obj: dict[str, Any]) -> None:
    """Timestamps and user of a created object (Doctrine prePersist)."""
    by, name = user_stamp(req)
    obj.update(
        {
            "dateAdded": iso(now(req.store)),
            "dateModified": None,
            "createdBy": by,
            "createdByUser": name,
            "modifiedBy": None,
            "modifiedByUser": None,
        }
    )
    if req.app.profile.stamps_modified_on_create:  # 7.0: the create counts as the first modification
        obj.update(dateModified=obj["dateAdded"], modifiedBy=by, modifiedByUser=name)


def stamp_edit(req: Request, obj: dict[str, Any]) -> None:
    """Timestamps and user of an edited object (Doctrine preUpdate)."""
    by, name = user_stamp(req)
    obj.update({"dateModified": iso(now(req.store)), "modifiedBy": by, "modifiedByUser": name})


def too_long(*values: Any) -> None:
    """A string over the column size is a MariaDB error: Mautic's generic 500 (flows/196)."""
    if any(isinstance(v, str) and len(v) > MAX_COLUMN for v in values):
        raise kernel_error(500)


def special_chars(text: str) -> str:
    """Mautic's ``InputHelper::clean`` (CoreBundle/Helper/InputHelper.php), i.e. PHP's
    ``FILTER_SANITIZE_SPECIAL_CHARS``: ``'"<>&`` and characters below 32 are stored as ``&#N;`` entities. Used
    on segment names (LeadBundle/Form/Type/ListType.php L38) and on contact field labels and properties
    (LeadBundle/Form/Type/FieldType.php L470-475; LeadBundle/Model/FieldModel.php L837)."""
    return "".join(f"&#{ord(c)};" if c in "'\"<>&" or ord(c) < 32 else c for c in text)


def text_or_none(value: Any) -> str | None:
    """A text form field: null/"" become null, scalars become strings."""
    if value is None or value == "" or isinstance(value, (list, dict)):
        return None
    if isinstance(value, bool):
        return "1" if value else None
    return str(value)


def body(req: Request) -> dict[str, Any]:
    """The request body as a dict; a JSON array or scalar reads as an empty form (flows/185)."""
    data = req.data
    return data if isinstance(data, dict) else {}


def rendered(kind: EntityKind, store: Store, obj: dict[str, Any], minimal: bool = False) -> dict[str, Any]:
    out = kind.render(store, obj) if kind.render else {k: v for k, v in obj.items() if not k.startswith("_")}
    if minimal and kind.minimal is not None:
        out = {k: v for k, v in out.items() if k in kind.minimal}
    return out


# --- list --------------------------------------------------------------------------------------------------


def _column(kind: EntityKind, name: str) -> str:
    """``orderBy``/``where`` column: an entity property, with or without the table alias prefix."""
    column = name.split(".", 1)[1] if "." in name else name
    known = {
        "id",
        "name",
        "alias",
        "description",
        *PUBLISH_KEYS,
        *kind.order,
        *kind.search,
        *kind.extra_columns,
    }
    if column not in known:
        raise kernel_error(500)  # Doctrine: unknown column in ORDER BY / WHERE
    return column


def _matches(kind: EntityKind, obj: dict[str, Any], search: str) -> bool:
    """Mautic's search string: terms ANDed, ``!`` negates, ``command:value`` for supported commands only."""
    for term in re.findall(r'!?"[^"]*"|\S+', search):
        negate = term.startswith("!")
        term = term.lstrip("!").strip('"')
        command, sep, value = term.partition(":")
        check = kind.commands.get(command.lower()) if sep else None
        if check is None and sep and command.lower() == "ids":
            hit = str(obj["id"]) in {v.strip() for v in value.split(",")}
        elif check is None and sep and command.lower() == "is" and value in ("published", "unpublished"):
            hit = bool(obj.get("isPublished")) == (value == "published")
        elif check is not None:
            hit = check(obj, value)
        else:
            hit = any(like(obj.get(column), f"%{term}%") for column in kind.search)
        if hit == negate:
            return False
    return True


def _where(kind: EntityKind, obj: dict[str, Any], clauses: Any) -> bool:
    for clause in clauses.values() if isinstance(clauses, dict) else clauses or []:
        if not isinstance(clause, dict):
            continue
        current = obj.get(_column(kind, str(clause.get("col", ""))))
        expr, value = clause.get("expr", "eq"), clause.get("val")
        values = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
        if expr in ("isNull", "isNotNull", "isEmpty", "isNotEmpty"):
            empty = current is None or (expr in ("isEmpty", "isNotEmpty") and current == "")
            hit = empty == (expr in ("isNull", "isEmpty"))
        elif current is None:
            hit = False  # SQL: comparing with NULL is never true
        elif expr in ("eq", "neq"):
            hit = (str(current).lower() == str(value).lower()) == (expr == "eq")
        elif expr in ("like", "notLike"):
            hit = like(current, str(value)) == (expr == "like")
        elif expr in ("in", "notIn"):
            hit = (str(current).lower() in {str(v).lower() for v in values}) == (expr == "in")
        elif expr in ("gt", "gte", "lt", "lte"):
            left, right = sort_key(current), sort_key(value)
            hit = {"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[expr]
        else:
            raise kernel_error(500)  # CommonRepository rejects an unknown expression
        if not hit:
            return False
    return True


def _sorted(kind: EntityKind, rows: list[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
    """``orderBy`` (comma-separated) or the kind's default order; ties by id, as MariaDB returns them."""
    requested = str(query.get("orderBy") or "")
    columns = [_column(kind, c.strip()) for c in requested.split(",") if c.strip()] or list(kind.order)
    descending = requested != "" and str(query.get("orderByDir", "ASC")).upper() == "DESC"
    rows = sorted(rows, key=lambda r: r["id"])
    for column in reversed(columns):
        present = [r for r in rows if r.get(column) is not None]
        missing = [r for r in rows if r.get(column) is None]  # NULLs sort first ascending, last descending
        present.sort(key=lambda r, c=column: sort_key(r[c]), reverse=descending)
        rows = present + missing if descending else missing + present
    return rows


def list_answer(kind: EntityKind, req: Request, rows: list[dict[str, Any]] | None = None) -> Response:
    """The list endpoint: filter, order, page, render, envelope."""
    query = req.query
    start, limit = paging(query)
    candidates = list(req.store.table(kind.table).values()) if rows is None else rows
    if kind.scope is not None:
        candidates = [r for r in candidates if kind.scope(r)]
    if php_truthy(query.get("published")):
        candidates = [r for r in candidates if r.get("isPublished")]
    search = str(query.get("search") or "")
    candidates = [r for r in candidates if _matches(kind, r, search) and _where(kind, r, query.get("where"))]
    ordered = _sorted(kind, candidates, query)
    page = ordered[start : start + limit if limit else None]
    minimal = php_truthy(query.get("minimal"))
    items = [rendered(kind, req.store, r, minimal) for r in page]
    collection: Any = (
        items if kind.as_array else {str(r["id"]): item for r, item in zip(page, items, strict=True)}
    )
    return Response(200, {"total": len(ordered), kind.multi: collection or []})


# --- the standard routes -----------------------------------------------------------------------------------


def get_or_404(kind: EntityKind, req: Request, name: str = "id") -> dict[str, Any]:
    obj = req.store.table(kind.table).get(req.int_arg(name))
    if obj is None:
        raise not_found()
    return obj


def create(kind: EntityKind, req: Request, data: dict[str, Any], put: bool = False) -> dict[str, Any]:
    """Validate and store a new object (it gets an id only once valid, as a failed INSERT would)."""
    obj = kind.write(req, None, data, put)
    req.store.insert(kind.table, obj)
    if kind.after_save is not None:
        kind.after_save(req.store, obj)
    return obj


def update(
    kind: EntityKind, req: Request, current: dict[str, Any], data: dict[str, Any], put: bool
) -> dict[str, Any]:
    obj = kind.write(req, current, data, put)
    obj["id"] = current["id"]
    req.store.table(kind.table)[current["id"]] = obj
    if kind.after_save is not None:
        kind.after_save(req.store, obj)
    return obj


def delete(kind: EntityKind, store: Store, obj: dict[str, Any]) -> dict[str, Any]:
    """Remove the object; the answer echoes it with ``id: null``."""
    del store.table(kind.table)[obj["id"]]
    if kind.on_delete is not None:
        kind.on_delete(store, obj)
    return {**rendered(kind, store, obj), "id": None}


def created(kind: EntityKind, req: Request, obj: dict[str, Any]) -> Response:
    return Response(201, {kind.one: rendered(kind, req.store, obj)}, {"Location": f"{kind.base}/{obj['id']}"})


def _sequential(items: dict[Any, Any]) -> Any:
    """PHP's json_encode: an array with keys 0..n-1 is a JSON array, anything else an object."""
    if list(items) == list(range(len(items))):
        return list(items.values())
    return {str(k): v for k, v in items.items()}


def batch_answer(
    kind: EntityKind, req: Request, status: int, step: Callable[[dict[str, Any]], tuple[dict[str, Any], int]]
) -> Response:
    """Run ``step`` on each batch item; per-item status codes, and errors by item key (type null)."""
    results: dict[Any, Any] = {}
    codes: dict[Any, int] = {}
    errors: dict[str, Any] = {}
    for key, item in batch_items(req).items():
        try:
            obj, codes[key] = step(item)
            results[key] = rendered(kind, req.store, obj)
        except ApiError as err:
            errors[str(key)] = {**err.response.body["errors"][0], "type": None}
            codes[key] = err.response.status
    answer: dict[str, Any] = {kind.multi: _sequential(results), "statusCodes": _sequential(codes)}
    if errors:
        answer["errors"] = errors
    return Response(status, answer)


def register(kind: EntityKind) -> None:
    """Add the standard routes of ``kind``."""
    base = kind.base

    @route("GET", base)
    def list_all(req: Request) -> Response:
        return list_answer(kind, req)

    @route("GET", base + "/{id}")
    def get_one(req: Request) -> Response:
        return Response(200, {kind.one: rendered(kind, req.store, get_or_404(kind, req))})

    @route("POST", base + "/new")
    def new(req: Request) -> Response:
        return created(kind, req, create(kind, req, body(req)))

    @route("PATCH", base + "/{id}/edit")
    def patch(req: Request) -> Response:
        obj = update(kind, req, get_or_404(kind, req), body(req), put=False)
        return Response(200, {kind.one: rendered(kind, req.store, obj)})

    @route("PUT", base + "/{id}/edit")
    def put(req: Request) -> Response:
        current = req.store.table(kind.table).get(req.int_arg())
        if current is None:  # Mautic creates a new object, under the next id rather than the one asked for
            return created(kind, req, create(kind, req, body(req), put=True))
        obj = update(kind, req, current, body(req), put=True)
        return Response(200, {kind.one: rendered(kind, req.store, obj)})

    @route("DELETE", base + "/{id}/delete")
    def delete_one(req: Request) -> Response:
        return Response(200, {kind.one: delete(kind, req.store, get_or_404(kind, req))})

    @route("POST", base + "/batch/new")
    def batch_new(req: Request) -> Response:
        return batch_answer(kind, req, 201, lambda item: (create(kind, req, item), 201))

    def batch_edit(req: Request, put: bool) -> Response:
        table = req.store.table(kind.table)

        def edit(item: dict[str, Any]) -> tuple[dict[str, Any], int]:
            current = table.get(int(item["id"])) if str(item.get("id", "")).isdigit() else None
            if current is None and not put:
                raise not_found()
            if current is None:
                return create(kind, req, item, put=True), 201
            return update(kind, req, current, item, put), 200

        return batch_answer(kind, req, 200, edit)

    route("PATCH", base + "/batch/edit")(lambda req: batch_edit(req, put=False))
    route("PUT", base + "/batch/edit")(lambda req: batch_edit(req, put=True))

    @route("DELETE", base + "/batch/delete")
    def batch_delete(req: Request) -> Response:
        table = req.store.table(kind.table)
        ids = query_ids(req.query)
        if len(ids) > 200:
            raise batch_too_large()
        return Response(200, {kind.multi: [delete(kind, req.store, table[i]) for i in ids if i in table]})


def batch_too_large() -> ApiError:
    return controller_error(500, "A max of 200 entities are supported at a time.")
