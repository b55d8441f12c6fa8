"""What Mautic 5 does to names and values, so the spec can refuse what Mautic would silently change.

Sources: ``CoreBundle/Model/FormModel::cleanAlias`` and ``InputHelper::alphanum`` (alias normalisation),
``LeadBundle/Model/ListModel::saveEntity`` (segment aliases, ``-`` separator, no length limit),
``LeadBundle/Helper/FieldAliasHelper`` and ``FormApiController`` (``f_`` prefix, 25 characters),
``FieldAliasKeywordValidator`` (restricted aliases), and the contact recorded in
``tests/recorded/5.1.0/flows/068`` (the built-in contact fields and their types).
"""

from __future__ import annotations

import re
import unicodedata

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

_MYSQL_RESERVED_WORDS = """
accessible add all alter analyze and as asc asensitive before between bigint binary blob both by call
cascade case change char character check collate column condition constraint continue convert create cross
cube cume_dist current_date current_time current_timestamp current_user cursor database databases day_hour
day_microsecond day_minute day_second dec decimal declare default delayed delete dense_rank desc describe
deterministic distinct distinctrow div double drop dual each else elseif empty enclosed escaped except
exists exit explain false fetch first_value float float4 float8 for force foreign from fulltext function
generated get grant group grouping groups having high_priority hour_microsecond hour_minute hour_second if
ignore in index infile inner inout insensitive insert int int1 int2 int3 int4 int8 integer intersect
interval into io_after_gtids io_before_gtids is iterate join json_table key keys kill lag last_value lateral
lead leading leave left like limit linear lines load localtime localtimestamp lock long longblob longtext
loop low_priority master_bind master_ssl_verify_server_cert match maxvalue mediumblob mediumint mediumtext
middleint minute_microsecond minute_second mod modifies natural not no_write_to_binlog nth_value ntile null
numeric of on optimize optimizer_costs option optionally or order out outer outfile over partition
percent_rank precision primary procedure purge range rank read reads read_write real recursive references
regexp release rename repeat replace require resignal restrict return revoke right rlike row row_number rows
schema schemas second_microsecond select sensitive separator set show signal smallint spatial specific sql
sqlexception sqlstate sqlwarning sql_big_result sql_calc_found_rows sql_small_result ssl starting stored
straight_join system table terminated then tinyblob tinyint tinytext to trailing trigger true undo union
unique unlock unsigned update usage use using utc_date utc_time utc_timestamp values varbinary varchar
varcharacter varying virtual when where while window with write xor year_month zerofill
"""
MYSQL_RESERVED = frozenset(_MYSQL_RESERVED_WORDS.split())
"""MySQL 8 reserved words: Mautic prefixes a field alias that is one of them with ``f_`` (cleanAlias)."""

_SPECIAL = str.maketrans(
    {
        "ß": "ss",
        "æ": "ae",
        "Æ": "AE",
        "ø": "o",
        "Ø": "O",
        "œ": "oe",
        "Œ": "OE",
        "đ": "d",
        "Đ": "D",
        "ł": "l",
        "Ł": "L",
        "þ": "th",
        "ð": "d",
    }
)


def transliterate(text: str) -> str:
    """Latin-ASCII approximation of Mautic's ICU ``Any-Latin; Latin-ASCII`` for the Latin scripts."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPECIAL))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def clean_alias(text: str, *, separator: str = "_", max_length: int = 0, prefix: str = "") -> str:
    """What Mautic's ``cleanAlias`` makes of a name ("" where Mautic would invent 5 random letters)."""
    alias = transliterate(text.strip()).replace(" ", separator)
    alias = re.sub(rf"[^0-9a-zA-Z{re.escape(separator)}]+", "", alias).strip().lower()
    if not alias:
        return ""
    if max_length:
        alias = alias[:max_length]
    alias = alias.removesuffix("_")
    if alias in MYSQL_RESERVED or alias.isnumeric():
        alias = prefix + alias
    return alias


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
