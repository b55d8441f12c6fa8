"""The contact list (``GET /api/contacts``): search, ``where``, paging and ordering as Mautic's query does.

Search (LeadRepository): terms are AND-ed, ``!`` negates; ``segment:<alias>`` (members not manually removed),
``ids:``, ``is:anonymous``, ``name:``, and every field alias as a prefix LIKE (``email:bulk1`` matches
``bulk100@...``; ``*`` is no wildcard, ``%`` is); free text is LIKE ``%text%`` on the catch-all columns. What
MariaDB or DBAL reject is a 500 here too: ``limit=-1``, ``limit=abc``, ``start=-5``, an unknown ``orderBy``
(flows/152-159). ``total`` is a string and an empty page is ``{}`` (flows/051, 154).
"""

from __future__ import annotations

import re
from typing import Any

from gdpr_as_code.sandbox.contact_values import FieldSchema, lead_fields
from gdpr_as_code.sandbox.contact_write import as_list
from gdpr_as_code.sandbox.contacts import render
from gdpr_as_code.sandbox.http import Request, Response, controller_error, kernel_error, truthy
from gdpr_as_code.sandbox.query import like, paging, sort_key
from gdpr_as_code.sandbox.routing import route
from gdpr_as_code.sandbox.store import Store

# Columns ``orderBy``/``where`` may name besides field aliases (DB column names, snake_case as Mautic wants).
SYSTEM_COLUMNS = {
    "id",
    "date_added",
    "date_modified",
    "date_identified",
    "last_active",
    "points",
    "owner_id",
    "stage_id",
    "created_by",
    "modified_by",
    "is_published",
}
# Free-text search columns of LeadRepository's catch-all clause.
CATCH_ALL = ("firstname", "lastname", "email", "company", "city", "state", "zipcode", "country")


def column_value(row: dict[str, Any], column: str) -> Any:
    """The value of a DB column of ``leads`` for ``row`` (field alias or system column)."""
    column = column.removeprefix("l.")
    system = {
        "id": row["id"],
        "date_added": row["dateAdded"],
        "date_modified": row["dateModified"],
        "date_identified": row["dateIdentified"],
        "last_active": row["lastActive"],
        "points": row["points"],
        "owner_id": None,
        "stage_id": None,
        "created_by": row["createdBy"],
        "modified_by": row["modifiedBy"],
        "is_published": 1,
    }
    return system[column] if column in system else row["values"].get(column)


def known_column(store: Store, column: str) -> bool:
    column = column.removeprefix("l.")
    return column in SYSTEM_COLUMNS or any(f["alias"] == column for f in lead_fields(store))


def search_terms(text: str) -> list[str]:
    """Split a search string into terms, keeping ``"quoted strings"`` together (SearchStringHelper)."""
    return [a or b for a, b in re.findall(r'(!?\+?[\w.-]*:?"[^"]*")|(\S+)', text)]


def matches_term(store: Store, row: dict[str, Any], term: str, cache: dict[str, Any]) -> bool:
    """One search term: a command (``segment:``, ``email:``, ``<field>:``, ``ids:``, ``is:``) or free text."""
    from gdpr_as_code.sandbox.membership import members_of_alias  # membership builds on contacts

    command, sep, value = term.partition(":")
    value = value.strip('"')
    command = command.lower()
    if sep and command == "segment":
        if term not in cache:  # one membership scan per request, not per contact
            cache[term] = members_of_alias(store, value)
        return row["id"] in cache[term]
    if sep and command == "ids":
        return str(row["id"]) in {v.strip() for v in value.split(",")}
    if sep and command == "is":
        if value == "anonymous":
            return row["dateIdentified"] is None
        return value in ("mine", "unowned") and value == "unowned"
    if sep and command == "name":
        return any(like(row["values"].get(a), value + "%") for a in ("firstname", "lastname"))
    if sep and known_column(store, command):
        return like(column_value(row, command), value + "%")
    text = term.strip('"')
    return any(like(row["values"].get(c), f"%{text}%") for c in CATCH_ALL)


def parse_search(search: str) -> list[tuple[str, bool]]:
    """The terms of a search string with their negation (``!``); Mautic ANDs the terms."""
    terms = [(term.lstrip("!+"), term.startswith("!")) for term in search_terms(search)]
    return [(term, negate) for term, negate in terms if term]


def matches_search(
    store: Store, row: dict[str, Any], terms: list[tuple[str, bool]], cache: dict[str, Any]
) -> bool:
    """All terms must hold; a negated term must not."""
    return all(matches_term(store, row, term, cache) != negate for term, negate in terms)


def matches_where(row: dict[str, Any], clauses: list[Any]) -> bool:
    """The ``where[i][col|expr|val]`` filter (CommonRepository's expressions); all clauses must hold."""
    return all(where_holds(row, clause) for clause in clauses if isinstance(clause, dict))


def where_holds(row: dict[str, Any], clause: dict[str, Any]) -> bool:
    """One ``where`` clause; an unknown expression is Mautic's 400."""
    expr, value = clause.get("expr", "eq"), clause.get("val")
    current = column_value(row, str(clause.get("col"))) if clause.get("col") else None
    text = None if current is None else str(current).lower()
    wanted = str(value).lower()
    listed = (
        {str(v).lower() for v in (value.values() if isinstance(value, dict) else value or [])}
        if isinstance(value, (list, dict))
        else {wanted}
    )
    if expr in ("isNull", "isNotNull", "isEmpty", "isNotEmpty"):
        empty = current is None or (expr in ("isEmpty", "isNotEmpty") and current == "")
        return empty == (expr in ("isNull", "isEmpty"))
    if text is None:
        return False  # SQL: a comparison with NULL is never true
    if expr in ("eq", "neq"):
        return (text == wanted) == (expr == "eq")
    if expr in ("like", "notLike"):
        return like(current, str(value)) == (expr == "like")
    if expr in ("in", "notIn"):
        return (text in listed) == (expr == "in")
    order = {"gt": (1,), "gte": (0, 1), "lt": (-1,), "lte": (-1, 0)}
    if expr in order:
        left, right = sort_key(current), sort_key(value)
        return ((left > right) - (left < right)) in order[expr]
    raise controller_error(400, f"{expr} is not a valid expression")


def order_rows(store: Store, rows: list[dict[str, Any]], query: dict[str, Any]) -> list[dict[str, Any]]:
    """``orderBy``/``orderByDir``; default: last active first (nulls last), then id (LeadRepository)."""
    column = query.get("orderBy")
    descending = str(query.get("orderByDir", "ASC")).upper() == "DESC"
    if not column:
        rows = sorted(rows, key=lambda r: r["id"])
        return sorted(rows, key=lambda r: r["lastActive"] or "", reverse=True)
    column = str(column)
    if not known_column(store, column):
        raise kernel_error(500)  # flows/159: unknown column in ORDER BY
    by_id = sorted(rows, key=lambda r: r["id"])
    present = [r for r in by_id if column_value(r, column) is not None]
    missing = [r for r in by_id if column_value(r, column) is None]
    present.sort(key=lambda r: sort_key(column_value(r, column)), reverse=descending)
    return present + missing if descending else missing + present


@route("GET", "/api/contacts")
def list_contacts(req: Request) -> Response:
    store = req.store
    start, limit = paging(req.query)
    terms = parse_search(str(req.query.get("search") or ""))
    cache: dict[str, Any] = {}
    where = as_list(req.query.get("where"))
    for clause in where:
        if isinstance(clause, dict) and clause.get("col") and not known_column(store, str(clause["col"])):
            raise kernel_error(500)  # an unknown column is an SQL error in Mautic too
    rows = [
        r
        for r in store.table("contacts").values()
        if matches_search(store, r, terms, cache) and matches_where(r, where)
    ]
    rows = order_rows(store, rows, req.query)
    page = rows[start : start + limit if limit else None]
    minimal = truthy(req.query.get("minimal", False))
    schema = FieldSchema(store)
    contacts = {str(r["id"]): render(store, r, "listed", minimal=minimal, schema=schema) for r in page}
    return Response(200, {"total": str(len(rows)), "contacts": contacts})
