"""What Mautic makes of a name when it derives an alias (``FormModel::cleanAlias``), for segments, contact
fields, forms and form fields: the one model, used by the spec checks (to refuse what Mautic would rewrite)
and by the sandbox (to rewrite as Mautic does).

``cleanAlias`` (Mautic ``app/bundles/CoreBundle/Model/FormModel.php``): ``InputHelper::transliterate`` (ICU
``Any-Latin; Latin-ASCII``), then ``InputHelper::alphanum`` (spaces to the separator, everything but
``[0-9a-z]`` and the separator dropped, case-insensitively) and ``strtolower``; 5 random letters when nothing
is left; cut to ``maxLength``; one trailing ``_`` dropped; ``prefix`` added when the result is a reserved word
of the database platform (Doctrine's MySQL keyword list) or numeric.
"""

from __future__ import annotations

import random
import re
import unicodedata

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

# ICU Latin-ASCII spells these out instead of decomposing them (checked with PHP intl:
# transliterator_transliterate("Any-Latin; Latin-ASCII", "Þór Ðan ß Æ Ø Œ Đ Ł") == "THor Dan ss AE O OE D L")
_SPELLED = str.maketrans(
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
        "Þ": "TH",
        "ð": "d",
        "Ð": "D",
    }
)


def transliterate(text: str) -> str:
    """ICU's ``Any-Latin; Latin-ASCII`` for the Latin scripts: accents dropped, ligatures spelled out."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_SPELLED))
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def random_letters() -> str:
    """What ``cleanAlias`` uses when nothing of a name is left: 5 distinct letters (``str_shuffle``)."""
    return "".join(random.sample("abcdefghijklmnopqrstuvwxyz", 5))


def clean_alias(
    text: str, *, separator: str = "_", max_length: int = 0, prefix: str = "", empty: str = ""
) -> str:
    """Mautic's ``cleanAlias`` of ``text``. ``empty`` stands for what is left of a name without a letter or
    digit: Mautic's random letters (the sandbox passes ``random_letters()``), or "" where a caller only asks
    whether Mautic would keep the name."""
    alias = transliterate(text.strip()).replace(" ", separator)
    alias = re.sub(rf"[^0-9a-z{re.escape(separator)}]+", "", alias, flags=re.IGNORECASE).strip().lower()
    if not alias:
        if not empty:
            return ""
        alias = empty
    if max_length:
        alias = alias[:max_length]
    alias = alias.removesuffix("_")
    return prefix + alias if alias in MYSQL_RESERVED or alias.isnumeric() else alias
