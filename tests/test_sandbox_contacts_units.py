"""Pure pieces of the sandbox's contact side, checked against values recorded from a real Mautic 5.1.

The replay test compares shapes; these compare the values a shape comparison cannot see: PHP-serialized field
properties, normalized values, and how segment filters decide membership.
"""

from __future__ import annotations

from typing import Any

import pytest
from recordings import locate, recorded_answer

from gdpr_as_code.sandbox.contact_list import search_terms
from gdpr_as_code.sandbox.contact_values import normalized
from gdpr_as_code.sandbox.contact_write import value_problem
from gdpr_as_code.sandbox.membership import matches_filters
from gdpr_as_code.sandbox.php import php_serialize
from gdpr_as_code.sandbox.store import Store

GDPR = {
    "alias": "gdpr_request",
    "type": "multiselect",
    "properties": {
        "list": [{"label": "Access my data", "value": "access"}, {"label": "Forget me", "value": "forget"}]
    },
}


def answer(name: str) -> dict[str, Any]:
    if not locate(name).is_file():
        pytest.fail(f"recorded exchange tests/recorded/5.1.0/{name} not found")
    return recorded_answer(name)


def recorded_field_pairs() -> list[tuple[str, Any, str]]:
    """(alias, decoded properties, serialized properties): the same fields answered fresh (crud/055, decoded)
    and loaded (crud/056, PHP-serialized)."""
    fresh = answer("crud/055_POST_contacts_new.json")["contact"]["fields"]
    loaded = answer("crud/056_POST_contacts_new_same_email_upsert.json")["contact"]["fields"]
    return [
        (alias, entry["properties"], loaded[group][alias]["properties"])
        for group in ("core", "social")
        for alias, entry in fresh[group].items()
    ]


def test_properties_serialize_as_php_does() -> None:
    pairs = recorded_field_pairs()
    assert len(pairs) == 30  # 28 core contact fields and the two custom ones of crud/016-017
    for alias, decoded, serialized in pairs:
        assert php_serialize(decoded) == serialized, alias


def test_normalized_values_use_option_labels() -> None:
    carol = answer("flows/113_POST_contacts_13_dnc_email_add_carol_reason3.json")["contact"]["fields"]["core"]
    assert normalized(GDPR, carol["gdpr_request"]["value"]) == carol["gdpr_request"]["normalizedValue"]
    assert normalized(GDPR, None) == "" and normalized({"type": "number"}, "0") == 0


def test_search_terms_keep_quoted_strings_together() -> None:
    assert search_terms('segment:data-requested email:"a b@x.io" !foo') == [
        "segment:data-requested",
        'email:"a b@x.io"',
        "!foo",
    ]


def contact(**values: Any) -> dict[str, Any]:
    return {
        "id": 1,
        "values": values,
        "dateAdded": None,
        "dateModified": None,
        "dateIdentified": None,
        "lastActive": None,
        "points": 0,
        "createdBy": None,
        "modifiedBy": None,
    }


def rule(
    operator: str,
    value: Any,
    field: str = "gdpr_request",
    kind: str | None = "multiselect",
    glue: str = "and",
) -> dict[str, Any]:
    return {
        "glue": glue,
        "field": field,
        "object": "lead",
        "type": kind,
        "operator": operator,
        "properties": {"filter": value},
    }


@pytest.mark.parametrize(
    ("filters", "values", "member"),
    [
        ([rule("in", ["forget"])], {"gdpr_request": "access|forget"}, True),  # any shared option (REGEXP)
        ([rule("in", ["forget"])], {"gdpr_request": "access"}, False),
        (
            [rule("in", ["access"], kind=None)],
            {"gdpr_request": "access|forget"},
            False,
        ),  # plain IN, flows/026
        ([rule("!in", ["forget"])], {"gdpr_request": None}, True),
        ([rule("!empty", None)], {"gdpr_request": "access"}, True),
        ([rule("empty", None)], {"gdpr_request": ""}, True),
        ([rule("=", "Pro", "plan", "select")], {"plan": "pro"}, True),  # MariaDB compares case-insensitively
        ([rule("!=", "pro", "plan", "select")], {"plan": None}, True),
        ([rule("contains", "@corp.", "email", "email")], {"email": "a@corp.example"}, True),
        ([rule("like", "a%", "email", "email")], {"email": "b@x.io"}, False),
        ([rule("startsWith", "b@", "email", "email")], {"email": "b@x.io"}, True),
        (
            [rule("regexp", "((", "email", "email")],
            {"email": "b@x.io"},
            False,
        ),  # a bad pattern matches nothing
        ([rule("gt", "5", "points_x", "number")], {"points_x": "10"}, True),  # numbers compare as numbers
        # "a and b or c": (a and b) or c
        (
            [
                rule("in", ["access"]),
                rule("empty", None, "email", "email"),
                rule("!empty", None, "city", "text", "or"),
            ],
            {"gdpr_request": "access", "email": "x@y.z", "city": "Prague"},
            True,
        ),
        (
            [
                rule("in", ["access"]),
                rule("empty", None, "email", "email"),
                rule("!empty", None, "city", "text", "or"),
            ],
            {"gdpr_request": "access", "email": "x@y.z", "city": None},
            False,
        ),
    ],
)
def test_segment_filters_decide_membership(
    filters: list[dict[str, Any]], values: dict[str, Any], member: bool
) -> None:
    assert matches_filters(Store(), contact(**values), filters) is member


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        ("email", "not-an-email", "not-an-email is invalid."),  # flows/143
        ("number", "12.5", None),
        ("number", "twelve", "This value is not valid."),
        ("boolean", "yes", None),
        ("boolean", "maybe", "This value is not valid."),
        ("text", "anything", None),
    ],
)
def test_contact_values_are_checked_by_field_type(kind: str, value: str, problem: str | None) -> None:
    assert value_problem({"alias": "x", "type": kind}, value) == problem
    assert value_problem(GDPR, "access|forget") is None and value_problem(GDPR, "access,forget") is not None
