"""The Mautic versions the sandbox answers as: 5.1 (5.1.0) and 7.0 (7.0.2), one ``Profile`` each.

Every difference between the two lines the sandbox models is here, once: what a module must do differently
is a named field of ``Profile`` (``maps_new_form_fields``, ``rate_limiter``, ...), and what only changes the
answer's shape (the keys 7.0 adds, its error texts, its creation stamps) is applied to the finished answer by
``shape``, so the resource modules stay written against one Mautic. Measured by replaying the reference
conversation on real 5.1.0 and 7.0.2 (tests/recorded/{5.1.0,7.0.2}/{crud,flows}) and by the probes of
tests/recorded/*/versions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gdpr_as_code.errors import GdprAsCodeError

__all__ = ["LINES", "Profile", "profile_for"]


@dataclass(frozen=True)
class Profile:
    """How one Mautic line answers, where it differs from 5.1."""

    line: str  # "5.1", "7.0": what --mautic-version takes
    header: str  # the Mautic-Version header of every API answer
    rate_limiter: bool = True  # 7.0 removed the API rate limiter (#14876): no X-RateLimit headers, no 429
    stores_form_field_mapping: bool = False  # 5.2+ store leadField's mapping on every field written (#13990)
    keeps_unknown_field_properties: bool = False  # 5.2+ (#14112): properties of a text field are kept as sent
    saves_form_before_actions: bool = False  # 7.0: a POST refused for its actions leaves the bare form behind
    field_delete_without_param_is_noop: bool = False  # 7.0: DELETE .../fields/delete without fields[]: 200
    empty_bad_credentials_body: bool = False  # 7.0: a wrong Basic password is a 401 with an empty body
    email_keys: tuple[str, ...] = ()  # email properties the line accepts beyond 5.1's (preheaderText)
    # The keys the line adds to objects of an answer, with the value a fresh object has, by envelope.
    added: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    texts: Mapping[str, str] = field(default_factory=dict)  # 5.1's validation texts -> this line's
    stamps_modified_on_create: bool = False  # 7.0: dateModified/modifiedBy are set by the create itself
    cleans_segment_names: bool = True  # 5.1 stores a segment's name HTML-escaped (& as &#38;); 7.0.2 does not
    dnc_saves_contact: bool = True  # 5.1: do-not-contact add/remove save the contact (modifiedBy, date)
    batch_follows_merges: bool = False  # 7.0: a batch delete of a merged-away id deletes what it became
    ct_sent_time: bool = False  # 7.0: an email link's click-through carries sent_time (recorded)
    dropped_from_minimal: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # envelope -> keys
    blank: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # envelope -> keys answered null


PROJECTS: Mapping[str, Any] = {"projects": []}
# 7.0.2 answers charLengthLimit 64 for text, select and lookup fields and null for multiselect, boolean and
# number (recorded); the other string-column types are taken to be like text, the rest like number.
CHAR_TYPES = ("text", "select", "lookup", "email", "tel", "url", "country", "region", "timezone", "locale")


def _char_length(obj: Mapping[str, Any]) -> int | None:
    return 64 if obj.get("type") in CHAR_TYPES else None


# Which answers carry an entity's own objects (the segments of /api/contacts/{id}/segments are another
# serialisation, without the added keys: 7.0.2 crud/062).
OWN_ENVELOPES: Mapping[str, tuple[str, ...]] = {
    "/api/segments": ("list", "lists"),
    "/api/forms": ("form", "forms"),
    "/api/focus": ("focus",),
    "/api/emails": ("email", "emails"),
    "/api/fields/": ("field", "fields"),
}

V51 = Profile(line="5.1", header="5.1.0")
V70 = Profile(
    line="7.0",
    header="7.0.2",
    rate_limiter=False,
    stores_form_field_mapping=True,
    keeps_unknown_field_properties=True,
    saves_form_before_actions=True,
    field_delete_without_param_is_noop=True,
    empty_bad_credentials_body=True,
    email_keys=("preheaderText",),
    added={
        # Projects (#15409) on every entity that can have them; recorded crud/004-082.
        "list": PROJECTS,
        "lists": PROJECTS,
        "form": PROJECTS,
        "forms": PROJECTS,
        "focus": PROJECTS,
        "email": {"preheaderText": None, **PROJECTS},
        "emails": {"preheaderText": None, **PROJECTS},
        "translationChildren": {"preheaderText": None, **PROJECTS},
        "variantChildren": {"preheaderText": None, **PROJECTS},
        # Form fields (crud/025-042) and contact/company fields (crud/016-022).
        "form.fields": {"isReadOnly": False, "fieldWidth": "100%"},
        "field": {"charLengthLimit": _char_length, "isIndex": False},
        "fields": {"charLengthLimit": _char_length, "isIndex": False},
    },
    texts={
        "This value is not valid.": "The selected choice is invalid.",
        "Alias is already in use. Please choose another or leave blank to have it autogenerated.":
            "Alias is already in use. Please choose another or leave it blank to have it autogenerated.",
        "Another field is already using this alias. Please choose another or leave blank to have it "
        "autogenerated.": "Another field is already using this alias. Please choose another or leave it "
        "blank to have it autogenerated.",
    },
    stamps_modified_on_create=True,
    cleans_segment_names=False,  # versions/022; field labels are still escaped on both (versions/024)
    dnc_saves_contact=False,  # flows/113-125: modifiedBy and dateModified stay as they were
    batch_follows_merges=True,
    ct_sent_time=True,
    dropped_from_minimal={  # crud/074: 7.0's minimal focus list has the common entity keys only
        "focus": ("description", "type", "website", "style", "publishUp", "publishDown", "properties",
                  "utmTags", "form", "htmlMode", "html", "editor", "cache", "projects"),
    },
    blank={"focus": ("cache",)},  # crud/043-070: 7.0 answers a focus item's generated script as null
)
LINES: Mapping[str, Profile] = {p.line: p for p in (V51, V70)}


def profile_for(version: str) -> Profile:
    """The profile of ``5.1``/``7.0`` (a full ``5.1.0``/``7.0.2`` is accepted too)."""
    line = ".".join(str(version).strip().split(".")[:2])
    if line not in LINES:
        raise GdprAsCodeError(
            f"The sandbox cannot answer as Mautic {version}: it models {' and '.join(LINES)}. "
            "Pass --mautic-version 5.1 or 7.0."
        )
    return LINES[line]


def shape(profile: Profile, path: str, body: Any, minimal: bool) -> Any:
    """A finished 5.1-shaped answer to ``path``, as ``profile`` answers it: error texts, added keys."""
    if profile is V51 or not isinstance(body, dict):
        return body
    if isinstance(body.get("errors"), list):
        return _retext(profile, body)
    own = next((keys for prefix, keys in OWN_ENVELOPES.items() if path.startswith(prefix)), ())
    for envelope in own:
        for obj in _objects(envelope, body.get(envelope), body):
            _reshape(profile, envelope, obj, minimal)
    return body


def _objects(envelope: str, value: Any, body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The objects under an envelope key: one object, or a list/id-keyed map of them (``total`` beside)."""
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    many = "total" in body or envelope in ("lists", "forms", "emails", "fields")
    if isinstance(value, dict) and many and value and all(isinstance(v, dict) for v in value.values()):
        return list(value.values())
    return [value] if isinstance(value, dict) else []


def _reshape(profile: Profile, envelope: str, obj: dict[str, Any], minimal: bool) -> None:
    if minimal:
        for key in profile.dropped_from_minimal.get(envelope, ()):
            obj.pop(key, None)
        return
    for key in profile.blank.get(envelope, ()):
        if key in obj:
            obj[key] = None
    for key, fresh in profile.added.get(envelope, {}).items():
        obj.setdefault(key, fresh(obj) if callable(fresh) else _copy(fresh))
    if envelope in ("form", "forms"):
        for part in obj.get("fields") or []:
            if isinstance(part, dict):
                for key, fresh in profile.added["form.fields"].items():
                    part.setdefault(key, fresh)
    for children in ("translationChildren", "variantChildren"):
        for child in obj.get(children) or []:
            if isinstance(child, dict):
                _reshape(profile, children, child, minimal)


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, list) else dict(value) if isinstance(value, dict) else value


def _retext(profile: Profile, body: dict[str, Any]) -> dict[str, Any]:
    """Error bodies in the line's words: ``message`` and each ``details`` text."""
    swap: Callable[[str], str] = lambda text: _swap(profile, text)  # noqa: E731
    for error in body["errors"]:
        if isinstance(error, dict):
            if isinstance(error.get("message"), str):
                error["message"] = swap(error["message"])
            details = error.get("details")
            if isinstance(details, dict):
                error["details"] = {k: [swap(t) if isinstance(t, str) else t for t in v]
                                    if isinstance(v, list) else v for k, v in details.items()}
    return body


def _swap(profile: Profile, text: str) -> str:
    for old, new in profile.texts.items():
        text = text.replace(old, new)
    return text
