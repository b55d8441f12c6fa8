"""Template emails (``/api/emails``): no description in the API, so the marker is an HTML comment."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote

from gdpr_as_code.resources.common import (
    MARKER_RE,
    Json,
    Kind,
    RefIndex,
    Resolver,
    SubIds,
    id_ref,
    marker,
    optional_text,
    pick,
    resolve_refs,
    spec_entry,
)
from gdpr_as_code.spec import Email


def _html_marker(key: str) -> str:
    """Checked (real-Mautic audit): the comment survives Mautic's cleaning of ``customHtml``, which swaps
    ``<!--``/``-->`` for ``<mcomment>`` tags around the HTML filter and back (Mautic 5.1 CoreBundle/Helper/
    InputHelper.php ``html``); text after ``</html>`` is kept as is by the filter."""
    return f"<!-- {marker(key)} -->"


def split_html(html: object) -> tuple[str | None, str | None]:
    """``(html without the marker comment, marker key)`` of an email body."""
    raw = "" if html is None else str(html)
    match = MARKER_RE.search(raw)
    body = re.sub(r"\n?<!--\s*\[gdpr-as-code:[^\]]*\]\s*-->", "", raw)
    return (body or None), (match.group(1) if match else None)


class _Canonical(HTMLParser):
    """Re-serialises HTML so that what Mautic's input filter changes does not count as a difference."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(f"<{tag}" + "".join(f' {k}="{escape(v or "")}"' for k, v in attrs) + ">")

    handle_startendtag = handle_starttag  # ``<br />`` and ``<br>`` are the same element

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")


def canonical_html(html: str | None) -> str | None:
    """``html`` as the diff compares it. Mautic cleans ``customHtml`` on save (``InputHelper::html``, Mautic
    5.1 EmailBundle/Form/Type/EmailType.php L56) with Joomla's ``InputFilter::cleanTags``, which rebuilds
    every tag: a tag never closed later becomes ``<tag />`` (``<br>`` → ``<br />``), attribute names are
    lower-cased and values double-quoted (joomla/filter 1.4.4 src/InputFilter.php L555-580, L625-720).
    A body with a character outside Windows-1252 skips the filter but is ``rawurldecode``d instead
    (``InputHelper::html``, CoreBundle/Helper/InputHelper.php), so ``%20`` may come back as a space.
    Tag and attribute names lower-cased, values quoted one way, self-closing slashes ignored, ``%XX``
    decoded: the same on both sides. Comments (our marker) and text are kept as they are."""
    if html is None:
        return None
    parser = _Canonical()
    parser.feed(unquote(html))
    parser.close()
    return "".join(parser.out)


def comparable_email(data: Json) -> Json:
    """An email as the diff compares it: its body in canonical form."""
    return {**data, "customHtml": canonical_html(data.get("customHtml"))} if "customHtml" in data else data


def render_email(email: Email) -> Json:
    """Desired template email (the notification a request type sends)."""
    return {
        "name": email.name,
        "subject": email.subject,
        "customHtml": email.html,
        "emailType": email.email_type,
        "language": email.language,
        "isPublished": email.published,
        "fromName": optional_text(email.from_name),
        "fromAddress": optional_text(email.from_address),
        "replyToAddress": optional_text(email.reply_to_address),
    } | ({"preheaderText": email.preheader} if email.preheader is not None else {})


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
        "fromName": optional_text(raw.get("fromName")),
        "fromAddress": optional_text(raw.get("fromAddress")),
        "replyToAddress": optional_text(raw.get("replyToAddress")),
        "preheaderText": optional_text(raw.get("preheaderText")),  # 5.2+; compared only when declared
        "lists": sorted(filter(None, (id_ref("segments", x, refs) for x in raw.get("lists") or []))),
    }


def email_key(raw: Mapping[str, Any]) -> str | None:
    """The spec key in the marker comment of an email body."""
    return split_html(raw.get("customHtml"))[1]


def email_payload(
    desired: Json, key: str, changed: frozenset[str] | None, resolve: Resolver, sub_ids: SubIds | None = None
) -> Json:
    """Body for ``/emails``; the body always ends with the marker comment."""
    body = pick(desired, changed)
    if "customHtml" in body:
        body["customHtml"] = f"{desired['customHtml'] or ''}\n{_html_marker(key)}"
    return resolve_refs(body, resolve)


def email_entry(data: Json) -> Json | str:
    """The spec entry of a template email (``export``); its body goes to a file beside the spec, named by
    the caller (``body_file``), so the entry carries the HTML under ``body`` until then."""
    if data.get("emailType") != "template":
        return "it is a segment (broadcast) email; the spec declares template emails only"
    return spec_entry({"name": data.get("name"), "subject": data.get("subject") or "",
                       "body": data.get("customHtml") or "", "from_name": data.get("fromName"),
                       "from_address": data.get("fromAddress"), "reply_to": data.get("replyToAddress"),
                       "language": data.get("language"), "published": data.get("isPublished")},
                      {"language": "en", "published": True})


EMAILS = Kind(
    name="emails",
    label="email",
    path="/emails",
    list_key="emails",
    one_key="email",
    identity="name",
    spec_objects=lambda spec: spec.emails,
    render=render_email,
    normalise=normalise_email,
    key_of=email_key,
    payload=email_payload,
    comparable=comparable_email,
    marker_in="customHtml",
    to_spec=email_entry,
    # 5.2 added preheaderText (#13792); real 5.1.0 ignores it, 7.0.2 keeps it (tests/recorded/*/versions)
    since={"preheaderText": ("preheader", 5, 2)},
)
