"""Emails (``/api/emails``), as Mautic 5.1 answers them (crud/049-054, 072, 076, 081; flows/019).

- ``name`` and ``subject`` are required; ``emailType: list`` needs ``lists``, and ``lists`` accepts only
  published segments (one message for both, crud/051); answers list the segments as objects;
- ``revision`` starts at 1 and every edit bumps it; a new email has ``dateModified`` = ``dateAdded`` but no
  ``modifiedBy`` (saved twice, the second time without a user);
- deleting an email answers, under ``translationChildren``, every other email that has no translation parent:
  with its id gone, Doctrine's lazy collection matches ``translation_parent_id IS NULL`` (crud/072).
Sending (``/emails/{id}/send``, ``/emails/{id}/contact/{cid}/send``) is in ``messages.py``.
"""

from __future__ import annotations

import re
from typing import Any

from gdpr_as_code.sandbox.entities import (
    PUBLISH_KEYS,
    EntityKind,
    register,
    stamp_edit,
    stamp_new,
    text_or_none,
    too_long,
)
from gdpr_as_code.sandbox.http import Request, kernel_error, truthy, validation_error
from gdpr_as_code.sandbox.store import Store

LIST_KEYS = (*PUBLISH_KEYS, "id", "name", "subject", "language", "category")
DETAIL_KEYS = (
    *LIST_KEYS,
    "fromAddress",
    "fromName",
    "replyToAddress",
    "bccAddress",
    "useOwnerAsMailer",
    "utmTags",
    "customHtml",
    "plainText",
    "template",
    "emailType",
    "publishUp",
    "publishDown",
    "publicPreview",
    "readCount",
    "sentCount",
    "revision",
    "assetAttachments",
    "variantStartDate",
    "variantSentCount",
    "variantReadCount",
    "variantParent",
    "variantChildren",
    "translationParent",
    "translationChildren",
    "unsubscribeForm",
    "dynamicContent",
    "lists",
    "headers",
)
LINE_KEYS = ("preheaderText",)  # properties of later lines (sandbox/versions.py, email_keys)
PREHEADER_MAX = 130  # EmailType on 5.2+ (#13792); 7.0.2 refuses 131 characters (versions/004)
TEXT_KEYS = (
    "name",
    "subject",
    "language",
    "fromAddress",
    "fromName",
    "replyToAddress",
    "bccAddress",
    "customHtml",
    "plainText",
    "template",
    "publishUp",
    "publishDown",
    "unsubscribeForm",
)
NO_LISTS = "Either no list was selected or you do not have access to one of the lists that was selected."
UTM = {"utmSource": None, "utmMedium": None, "utmCampaign": None, "utmContent": None}
DYNAMIC_CONTENT = [
    {
        "tokenName": "Dynamic Content 1",
        "content": "Default Dynamic Content",
        "filters": [
            {
                "content": None,
                "filters": [
                    {
                        "glue": None,
                        "field": None,
                        "object": None,
                        "type": "Symfony\\Component\\Form\\Extension\\Core\\Type\\TextType",
                        "operator": None,
                        "display": None,
                        "filter": None,
                    }
                ],
            }
        ],
    }
]
CLEARED: dict[str, Any] = {
    **{key: None for key in TEXT_KEYS},
    "isPublished": False,
    "category": None,
    "useOwnerAsMailer": None,
    "utmTags": dict(UTM),
    "emailType": None,
    "publicPreview": False,
    "assetAttachments": [],
    "lists": [],
    "headers": [],
    "dynamicContent": DYNAMIC_CONTENT,
}
READ_ONLY: dict[str, Any] = {
    "readCount": 0,
    "sentCount": 0,
    "revision": 1,
    "variantStartDate": None,
    "variantSentCount": 0,
    "variantReadCount": 0,
    "variantParent": None,
    "variantChildren": [],
    "translationParent": None,
    "translationChildren": [],
}


def segment_ids(value: Any) -> list[Any]:
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else [value]
    return [i.get("id") if isinstance(i, dict) else i for i in items if i not in (None, "")]


_OPEN_TAG = re.compile(r"<([A-Za-z][A-Za-z0-9]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)\s*/?>")


def xhtml_single_tags(html: str) -> str:
    """EmailType cleans ``customHtml`` with ``InputHelper::html`` (Mautic 5.1 EmailBundle/Form/Type/
    EmailType.php L56), whose Joomla ``InputFilter::cleanTags`` rebuilds each tag and writes one that is not
    closed later in the text as ``<tag ... />`` ("Reformat single tags to XHTML", joomla/filter 1.4.4
    src/InputFilter.php L567-575): ``<br>`` is stored as ``<br />``. Comments are kept (``InputHelper::html``
    swaps them for ``<mcomment>`` around the filter)."""

    def rebuild(match: re.Match[str]) -> str:
        name, attrs = match.group(1), match.group(2).rstrip()
        closed = f"</{name}" in html[match.end() :]
        return f"<{name}{attrs}>" if closed else f"<{name}{attrs} />"

    return _OPEN_TAG.sub(rebuild, html)


def write(req: Request, current: dict[str, Any] | None, data: dict[str, Any], put: bool) -> dict[str, Any]:
    """The email a POST/PATCH/PUT leaves behind, or Mautic's validation error."""
    if current is None:
        email: dict[str, Any] = {
            **CLEARED,
            **READ_ONLY,
            "isPublished": True,
            "language": "en",
            "emailType": "template",
        }
    else:
        email = {**current, **CLEARED} if put else dict(current)
    for key in TEXT_KEYS:
        if key in data:
            email[key] = text_or_none(data[key])
    if "customHtml" in data and email["customHtml"] is not None:
        email["customHtml"] = xhtml_single_tags(email["customHtml"])
    for key in ("isPublished", "publicPreview"):
        if key in data:
            email[key] = truthy(data[key])
    if "useOwnerAsMailer" in data:
        email["useOwnerAsMailer"] = truthy(data["useOwnerAsMailer"])
    if isinstance(data.get("utmTags"), dict):
        email["utmTags"] = {k: data["utmTags"].get(k, email["utmTags"].get(k)) for k in UTM}
    if "emailType" in data:
        email["emailType"] = data["emailType"]  # a hidden field: not validated
    if data.get("category") not in (None, ""):
        raise kernel_error(500)  # no categories here; Mautic throws on an unknown category id
    errors: dict[str, list[str]] = {}
    for key in req.app.profile.email_keys:  # preheaderText on 5.2+; 5.1 ignores it (versions/001-006)
        if key in data or put:
            email[key] = text_or_none(data.get(key))
        if len(email.get(key) or "") > PREHEADER_MAX:
            errors[key] = [f"Preheader Text maximum length is {PREHEADER_MAX} characters."]
    if not email["name"]:
        errors["name"] = ["A name is required."]
    if not email["subject"]:
        errors["subject"] = ["A subject is required."]
    if "lists" in data:
        email["lists"] = segment_ids(data["lists"])
    published = {s["id"] for s in req.store.table("segments").values() if s["isPublished"]}
    listed = [int(i) for i in email["lists"] if str(i).isdigit()]
    if (
        (email["emailType"] == "list" and not email["lists"])
        or len(listed) != len(email["lists"])
        or any(i not in published for i in listed)
    ):
        errors["lists"] = [NO_LISTS]
    if errors:
        raise validation_error(errors)
    email["lists"] = listed
    too_long(email["name"])
    if current is None:
        stamp_new(req, email)
        if not req.app.profile.stamps_modified_on_create:  # 5.1 saves it again, without a user
            email.update(dateModified=email["dateAdded"], modifiedBy=None, modifiedByUser=None)
    else:
        stamp_edit(req, email)
        email["revision"] = int(current.get("revision") or 0) + 1
    return {k: email.get(k) for k in (*DETAIL_KEYS, *req.app.profile.email_keys)}


def segment_brief(segment: dict[str, Any]) -> dict[str, Any]:
    """A segment as an email lists it (the leadListList group)."""
    keys = ("createdByUser", "modifiedByUser", "id", "name", "publicName", "alias", "description", "category")
    return {k: segment.get(k) for k in keys}


def render(store: Store, email: dict[str, Any]) -> dict[str, Any]:
    segments = store.table("segments")
    out = {k: email.get(k) for k in DETAIL_KEYS}
    out.update({k: email[k] for k in LINE_KEYS if k in email})  # stored only by a line that has them
    out["lists"] = [segment_brief(segments[i]) for i in email["lists"] if i in segments]
    return out


def on_delete(store: Store, email: dict[str, Any]) -> None:
    """The deleted email's answer lists the emails without a translation parent as its children (crud/072)."""
    email["lists"] = []  # the join rows are removed with the email
    children = [e for e in store.table("emails").values() if e.get("translationParent") is None]
    hidden = {*PUBLISH_KEYS, "translationParent"} - {"createdByUser", "modifiedByUser"}
    email["translationChildren"] = [
        {k: v for k, v in render(store, child).items() if k not in hidden} for child in children
    ]


EMAILS = EntityKind(
    table="emails",
    one="email",
    multi="emails",
    base="/api/emails",
    write=write,
    order=("name",),
    search=("name", "subject"),
    minimal=LIST_KEYS,
    render=render,
    on_delete=on_delete,
    extra_columns=("subject", "language", "emailType", "category", "revision", "sentCount", "readCount"),
)
register(EMAILS)
