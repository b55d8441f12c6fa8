"""What Mautic 5 does to names and values, so the spec can refuse what Mautic would silently change.

Sources: ``CoreBundle/Model/FormModel::cleanAlias`` and ``InputHelper::alphanum`` (alias normalisation),
``LeadBundle/Model/ListModel::saveEntity`` (segment aliases, ``-`` separator, no length limit),
``LeadBundle/Helper/FieldAliasHelper`` and ``FormApiController`` (``f_`` prefix, 25 characters),
``FieldAliasKeywordValidator`` (restricted aliases), and the contact recorded in
``tests/recorded/5.1.0/flows/068`` (the built-in contact fields and their types).
"""

from __future__ import annotations

import re

from gdpr_as_code.mautic.aliases import MYSQL_RESERVED, clean_alias

BUILTIN_CONTACT_FIELDS: dict[str, str] = {
    "title": "lookup",
    "firstname": "text",
    "lastname": "text",
    "company": "text",
    "position": "text",
    "email": "email",
    "mobile": "tel",
    "phone": "tel",
    "points": "number",
    "fax": "tel",
    "address1": "text",
    "address2": "text",
    "city": "text",
    "state": "region",
    "zipcode": "text",
    "country": "country",
    "preferred_locale": "locale",
    "timezone": "timezone",
    "last_active": "datetime",
    "attribution_date": "datetime",
    "attribution": "number",
    "website": "url",
    "facebook": "text",
    "foursquare": "text",
    "instagram": "text",
    "linkedin": "text",
    "skype": "text",
    "twitter": "text",
}
"""Contact fields every Mautic 5 has (alias -> type): forms and filters may use them without declaring
them."""

BUILTIN_COMPANY_FIELDS = frozenset({
    "companyaddress1", "companyaddress2", "companyemail", "companyphone", "companycity", "companystate",
    "companyzipcode", "companycountry", "companyname", "companywebsite", "companynumber_of_employees",
    "companyfax", "companyannual_revenue", "companyindustry", "companydescription",
})
"""Company fields every Mautic 5 has (``FieldModel::$coreCompanyFields``): field aliases are unique across
contact and company fields, so a contact field cannot take one of these."""

RESTRICTED_FIELD_ALIASES = frozenset(
    {
        "contact_id",
        "company_id",
        "date_added",
        "date_identified",
        "date_modified",
        "id",
        "owner_id",
        "stage",
        "tags",
        "leadlist",
        "lists",
        "dnc_bounced",
        "dnc_unsubscribed",
        "dnc_manual_email",
        "device_type",
        "device_brand",
        "device_os",
        "campaign",
        "globalcategory",
        "utm_campaign",
        "utm_content",
        "utm_medium",
        "utm_source",
        "utm_term",
        "hit_url",
        "referer",
        "source",
        "url_title",
        "page_id",
        "email_id",
        "lead_email_read_date",
    }
)
"""Aliases a custom field cannot take: Mautic's restricted names and segment filter keywords (a partial
list)."""

_TEXT = frozenset(
    {"=", "!=", "empty", "!empty", "like", "!like", "regexp", "!regexp", "startsWith", "endsWith", "contains"}
)
_SELECT = frozenset({"=", "!=", "empty", "!empty", "regexp", "!regexp", "in", "!in"})
_NUMBER = _TEXT | {"gt", "gte", "lt", "lte"}
_DEFAULT = _NUMBER | {"between", "!between"}
_DATE = _DEFAULT | {"date"}
FILTER_OPERATORS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("text", "lookup", "email", "url", "tel"), _TEXT),
    **dict.fromkeys(("select", "country", "timezone", "region", "locale"), _SELECT),
    "boolean": frozenset({"=", "!="}),
    "multiselect": frozenset({"in", "!in", "empty", "!empty"}),
    "number": _NUMBER,
    "date": _DATE,
    "datetime": _DATE,
}
"""Segment filter operators Mautic accepts per field type (``LeadBundle/Entity/OperatorListTrait`` and
``TypeOperatorSubscriber``; recorded flows 022-029 and 235-238 agree); other types take
``DEFAULT_OPERATORS``."""

DEFAULT_OPERATORS = _DEFAULT

def field_alias_problem(alias: str) -> str:
    """Why Mautic would not keep ``alias`` as a field alias (contact or form field), or ""."""
    kept = clean_alias(alias, max_length=25, prefix="f_")
    if alias in MYSQL_RESERVED:
        return f"'{alias}' is an SQL reserved word, so Mautic would rename it to '{kept}'"
    if kept != alias:
        return f"Mautic would change '{alias}' to '{kept}'"
    return ""


# Mautic cleans the texts of forms, emails and focus items that its form types do not mask as 'html' with
# joomla's default input filter: tags are stripped and entities decoded (CleanFormSubscriber with an array
# of masks -> InputHelper::_ 'filter', app/bundles/CoreBundle/Helper/InputHelper.php L117-145; masks in
# FormType.php L37, EmailType.php L56, FocusType.php L37). Markup there is never stored as written, so it
# would show as a change in every plan.
_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def plain_text_problem(text: str) -> str:
    """Why Mautic would not store ``text`` as written in a plain-text setting, or ""."""
    found = _MARKUP.search(text)
    if found is None:
        return ""
    return (
        f"Mautic strips HTML tags and decodes entities here, so '{found.group(0)}…' would never be kept "
        "as written"
    )
