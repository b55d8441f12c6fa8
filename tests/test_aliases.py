"""The one model of Mautic's ``cleanAlias``, which the spec checks and the sandbox both use."""

from __future__ import annotations

import pytest

from gdpr_as_code.mautic.aliases import clean_alias

# Transliterations as PHP intl gives them: transliterator_transliterate("Any-Latin; Latin-ASCII", ...).
CASES = [
    ("Þór", {}, "thor"),
    ("Ðan Ærø", {}, "dan_aero"),
    ("Straße Łódź", {"separator": "-"}, "strasse-lodz"),
    ("Data requested!", {"separator": "-"}, "data-requested"),
    ("select", {"prefix": "f_"}, "f_select"),
    ("accessible", {"prefix": "f_"}, "f_accessible"),  # a MySQL 8 keyword beyond the common SQL ones
    ("2026", {"prefix": "f_"}, "f_2026"),
    ("a very long label for a field", {"max_length": 25}, "a_very_long_label_for_a_f"),
    ("label_", {}, "label"),
    ("!!!", {}, ""),
    ("!!!", {"empty": "qwert"}, "qwert"),
]


@pytest.mark.parametrize(("text", "options", "expected"), CASES)
def test_clean_alias_gives_what_mautic_gives(text: str, options: dict[str, object], expected: str) -> None:
    assert clean_alias(text, **options) == expected  # type: ignore[arg-type]


def test_the_spec_and_the_sandbox_use_the_same_function() -> None:
    from gdpr_as_code.sandbox import fields, segments
    from gdpr_as_code.spec import mautic_rules

    assert mautic_rules.clean_alias is fields.clean_alias is segments.clean_alias is clean_alias
