"""The broken-spec corpus: every file in tests/spec_corpus/ fails with exactly these problems, at these lines.

Each case asserts the line, the column and the message a user sees (the fix text is checked to exist), and
that loading finishes quickly: no case may crash, hang or expand. The 10 MB file is generated, not committed.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from gdpr_as_code.errors import SpecError
from gdpr_as_code.spec import load_spec

CORPUS = Path(__file__).parent / "spec_corpus"
STRIPPED = "Mautic strips HTML tags and decodes entities here"

CASES: list[tuple[str, list[tuple[int, int, str]]]] = [
    (
        "alias_builtin_field.yaml",
        [
            (3, 17, "Mautic already has a built-in contact field 'email'"),
        ],
    ),
    (
        "alias_company_field.yaml",
        [
            (
                3,
                21,
                "Mautic's built-in company field uses the alias 'companyname' (aliases are unique across "
                "contact and company fields)",
            ),
        ],
    ),
    (
        "alias_mautic_would_change.yaml",
        [
            (7, 7, "Mautic would change 'email_' to 'email'"),
        ],
    ),
    (
        "alias_sql_reserved.yaml",
        [
            (3, 22, "'order' is an SQL reserved word, so Mautic would rename it to 'f_order'"),
        ],
    ),
    (
        "bad_enum_style.yaml",
        [
            (4, 10, "consent.style must be one of: bar, modal, notification, page"),
        ],
    ),
    (
        "bad_reference_syntax.yaml",
        [
            (4, 18, "'${company}' is not a variable reference"),
        ],
    ),
    (
        "billion_laughs.yaml",
        [
            (7, 6, "aliases expand this value to more than 100,000 values (an alias bomb?)"),
        ],
    ),
    (
        "body_and_body_file.yaml",
        [
            (4, 5, "email 'done' needs exactly one of body or body_file"),
        ],
    ),
    (
        "body_file_not_utf8.yaml",
        [
            (3, 4, "byte 0xe9 is not valid UTF-8"),
        ],
    ),
    (
        "body_file_undefined_var.yaml",
        [
            (3, 18, "undefined variable 'what'"),
        ],
    ),
    (
        "checkbox_group_into_single_value_field.yaml",
        [
            (
                14,
                39,
                "a checkbox group can send several values, but contact field 'request_type' (select) "
                "holds one",
            ),
        ],
    ),
    (
        "consent_checkbox_not_required.yaml",
        [
            (21, 14, "form field 'agree' records consent but is not a required checkbox"),
        ],
    ),
    (
        "consent_field_not_boolean.yaml",
        [
            (30, 12, "consent field 'consent' is a text field"),
        ],
    ),
    (
        "consent_form_field_key_clash.yaml",
        [
            (21, 21, "form field key 'gdpr_consent' is reserved for the consent checkbox"),
        ],
    ),
    (
        "consent_required_without_label.yaml",
        [
            (28, 5, "gdpr.consent is missing the required key 'label' (the other values here need it)"),
        ],
    ),
    (
        "deep_nesting.yaml",
        [
            (3, 71, "the document nests more than 64 levels deep"),
        ],
    ),
    (
        "duplicate_field_alias.yaml",
        [
            (4, 25, "alias 'gdpr_request' is also used by field 'request_type'"),
        ],
    ),
    (
        "duplicate_form_field_key.yaml",
        [
            (9, 7, "duplicate key 'email' (first defined at line 7)"),
        ],
    ),
    (
        "duplicate_segment_name.yaml",
        [
            (4, 17, "segment name 'Request to be Forgotten' is also used by 'forget'"),
        ],
    ),
    (
        "duplicate_top_key.yaml",
        [
            (5, 1, "duplicate key 'segments' (first defined at line 2)"),
        ],
    ),
    (
        "empty_file.yaml",
        [
            (1, 1, "the file is empty"),
        ],
    ),
    (
        "env_key_interpolated.yaml",
        [
            (3, 17, "password_env must be the NAME of an environment variable, written as is"),
        ],
    ),
    (
        "env_name_is_secret.yaml",
        [
            (
                3,
                17,
                "password_env must be the NAME of an environment variable, and this value does not look "
                "like one (is it the secret itself?)",
            ),
        ],
    ),
    (
        "env_secret_in_content.yaml",
        [
            (
                6,
                32,
                "${env.MAUTIC_PASSWORD} would copy a secret into the spec's content (and so into Mautic, "
                "plans and receipts)",
            ),
        ],
    ),
    (
        "focus_unknown_form.yaml",
        [
            (6, 9, "unknown form 'newsletter'"),
        ],
    ),
    (
        "form_without_message.yaml",
        [
            (4, 5, "form 'request' needs exactly one of message or redirect"),
        ],
    ),
    (
        "in_operator_single_value.yaml",
        [
            (14, 16, "operator 'in' needs a list of values"),
        ],
    ),
    (
        "literal_client_secret.yaml",
        [
            (
                5,
                3,
                "'client_secret' puts a credential into the spec, where everyone who can read the "
                "repository sees it",
            ),
        ],
    ),
    (
        "literal_password.yaml",
        [
            (
                6,
                3,
                "'password' puts a credential into the spec, where everyone who can read the repository "
                "sees it",
            ),
        ],
    ),
    (
        "many_problems_at_once.yaml",
        [
            (9, 57, "unknown contact field 'mail'"),
            (11, 49, "unknown segment 'forgotten'"),
            (12, 42, "unknown email 'received'"),
        ],
    ),
    (
        "markup_in_plain_text.yaml",
        [
            (5, 14, f"{STRIPPED}, so '&amp;…' would never be kept as written"),
            (10, 14, f"{STRIPPED}, so '<b…' would never be kept as written"),
        ],
    ),
    (
        "merge_key_not_mapping.yaml",
        [
            (4, 10, "'<<' must merge a mapping (an alias to one)"),
            (4, 13, "'<<' must merge a mapping (an alias to one)"),
        ],
    ),
    (
        "missing_body_file.yaml",
        [
            (6, 16, "email body file 'emails/no-such-file.md' does not exist"),
        ],
    ),
    (
        "missing_version.yaml",
        [
            (1, 1, "the document is missing the required key 'version'"),
        ],
    ),
    (
        "multiple_documents.yaml",
        [
            (2, 1, "YAML syntax error: expected a single document in the stream, but found another document"),
        ],
    ),
    (
        "not_utf8.yaml",
        [
            (4, 14, "byte 0xe9 is not valid UTF-8"),
        ],
    ),
    (
        "operator_not_allowed_multiselect.yaml",
        [
            (12, 41, "Mautic refuses operator '=' on field 'request_type' (multiselect)"),
        ],
    ),
    (
        "operator_not_allowed_text.yaml",
        [
            (6, 34, "Mautic refuses operator 'in' on field 'email' (email)"),
        ],
    ),
    (
        "option_not_declared_filter.yaml",
        [
            (12, 52, "'delete' is not an option value of field 'request_type'"),
        ],
    ),
    (
        "option_not_declared_form.yaml",
        [
            (20, 37, "option value 'rectify' is not declared on contact field 'request_type'"),
        ],
    ),
    (
        "placement_style_mismatch.yaml",
        [
            (5, 14, "placement 'top_left' does not fit style 'bar'"),
        ],
    ),
    (
        "python_object_tag.yaml",
        [
            (4, 11, "unsupported YAML tag !!python/object/apply:os.system"),
        ],
    ),
    (
        "recursive_alias.yaml",
        [
            (3, 11, "an alias refers to a collection that contains it (a cycle)"),
        ],
    ),
    (
        "request_fields_optional.yaml",
        [
            (18, 14, "the email field 'email' of request form 'request' is optional"),
            (19, 16, "the request field 'request' of request form 'request' is optional"),
        ],
    ),
    (
        "request_form_without_email.yaml",
        [
            (18, 7, "request form 'request' has no email field mapped to the contact's email"),
        ],
    ),
    (
        "request_option_not_offered.yaml",
        [
            (19, 16, "form field 'request' does not offer the erasure request ('forget')"),
        ],
    ),
    (
        "request_segment_not_routed.yaml",
        [
            (
                25,
                39,
                "segment 'forget' never receives erasure requests: it does not filter on field "
                "'request_type' for 'forget'",
            ),
        ],
    ),
    (
        "request_type_unknown_segment.yaml",
        [
            (23, 38, "unknown segment 'data_requested'"),
        ],
    ),
    (
        "request_value_not_option.yaml",
        [
            (25, 22, "'erase' is not an option value of field 'request_type'"),
        ],
    ),
    (
        "verification_without_email.yaml",
        [
            (21, 3, "erasure requests are verified before anything is erased, but no verification email is "
             "named"),
        ],
    ),
    (
        "verification_email_without_link.yaml",
        [
            (26, 25, "verification email 'done' has no link"),
        ],
    ),
    (
        "select_field_without_options.yaml",
        [
            (3, 17, "a multiselect field needs options"),
        ],
    ),
    (
        "syntax_bad_indent.yaml",
        [
            (
                5,
                4,
                "YAML syntax error: expected the end of the indented block, but found a new 'key: value' "
                "line (while parsing a block mapping started at line 3)",
            ),
        ],
    ),
    (
        "syntax_unclosed_flow.yaml",
        [
            (
                4,
                1,
                "YAML syntax error: expected ',' or ']', but got a value (while parsing a flow sequence "
                "started at line 3)",
            ),
        ],
    ),
    (
        "syntax_unclosed_quote.yaml",
        [
            (
                6,
                1,
                "YAML syntax error: found unexpected end of stream (while scanning a quoted scalar started "
                "at line 4)",
            ),
        ],
    ),
    (
        "tab_indent.yaml",
        [
            (4, 1, "a tab is used for indentation; YAML allows only spaces"),
        ],
    ),
    (
        "top_level_list.yaml",
        [
            (1, 1, "the document must be a mapping (key: value lines)"),
        ],
    ),
    (
        "two_fields_same_contact_field.yaml",
        [
            (8, 70, "contact field 'email' is already filled by form field 'email'"),
        ],
    ),
    (
        "undefined_env.yaml",
        [
            (3, 8, "undefined environment variable 'GDPR_CORPUS_UNSET_URL'"),
        ],
    ),
    (
        "undefined_variable.yaml",
        [
            (7, 30, "undefined variable 'dpo_name'"),
        ],
    ),
    (
        "unknown_email_in_action.yaml",
        [
            (9, 42, "unknown email 'received'"),
        ],
    ),
    (
        "unknown_filter_field.yaml",
        [
            (6, 17, "unknown contact field 'gdpr_requst'"),
        ],
    ),
    (
        "unknown_form_contact_field.yaml",
        [
            (7, 57, "unknown contact field 'e_mail'"),
        ],
    ),
    (
        "unknown_segment_in_action.yaml",
        [
            (11, 57, "unknown segment 'data_requested'"),
        ],
    ),
    (
        "unknown_top_key.yaml",
        [
            (2, 1, "unknown key 'segements' in the document"),
        ],
    ),
    (
        "unpublished_segment_in_action.yaml",
        [
            (11, 49, "segment 'forget' is unpublished; Mautic only lets form actions use published segments"),
        ],
    ),
    (
        "url_with_credentials.yaml",
        [
            (3, 8, "the URL contains a user name or password"),
        ],
    ),
    (
        "wrong_type_boolean.yaml",
        [
            (5, 16, "segments.forget.published must be true or false"),
        ],
    ),
    (
        "wrong_type_colour_number.yaml",
        [
            (7, 11, "consent.colors.text must be text"),
        ],
    ),
    (
        "wrong_type_list_for_mapping.yaml",
        [
            (3, 3, "segments must be a mapping (key: value lines)"),
        ],
    ),
    (
        "wrong_version.yaml",
        [
            (1, 10, "version must be 1"),
        ],
    ),
]


def _problems(path: Path) -> list[tuple[int, int, str]]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})
    problems = caught.value.problems
    assert all(problem.fix for problem in problems), "every problem says how to fix it"
    assert all(problem.file == str(path) for problem in problems if problem.file.endswith(".yaml"))
    return [(problem.line, problem.column, problem.message) for problem in problems]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("name", "expected"), CASES, ids=[name for name, _ in CASES])
def test_broken_spec_reports_exact_problems(name: str, expected: list[tuple[int, int, str]]) -> None:
    assert _problems(CORPUS / name) == expected


def test_corpus_has_no_untested_file() -> None:
    assert sorted(path.name for path in CORPUS.glob("*.yaml")) == sorted(name for name, _ in CASES)
    assert len(CASES) >= 30


@pytest.mark.timeout(10)
def test_ten_megabyte_file_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    line = b"# " + b"x" * 98 + b"\n"
    big.write_bytes(b"version: 1\n" + line * 100_000)
    assert big.stat().st_size > 10_000_000
    assert _problems(big) == [
        (1, 1, "the file is over the 1,048,576-byte limit for a spec (10,100,011 bytes)"),
    ]


@pytest.mark.timeout(30)
def test_mutated_configs_are_valid_or_reported_never_a_crash(tmp_path: Path) -> None:
    """Seeded random edits of the shipped configs (lines deleted, doubled, swapped, indented, characters and
    values replaced): every result is a valid spec or a SpecError with located problems, never another
    exception (which the CLI would turn into "internal error")."""
    configs = CORPUS.parent.parent / "configs"
    shutil.copytree(configs, tmp_path / "configs")
    rng = random.Random(20260525)
    outcomes = {"valid": 0, "invalid": 0}
    for name in ("gdpr.yaml", "gdpr-de.yaml"):
        original = (configs / name).read_text(encoding="utf-8").split("\n")
        for _ in range(100):
            lines = list(original)
            for _ in range(rng.randint(1, 4)):
                _mutate(lines, rng)
            path = tmp_path / "configs" / name
            path.write_text("\n".join(lines), encoding="utf-8")
            try:
                load_spec(path, env={})
                outcomes["valid"] += 1
            except SpecError as err:
                assert err.problems and all(p.line >= 1 and p.column >= 1 and p.fix for p in err.problems)
                outcomes["invalid"] += 1
    assert outcomes["invalid"] > 100  # the edits do break specs, so the error paths are exercised


def _mutate(lines: list[str], rng: random.Random) -> None:
    at = rng.randrange(len(lines))
    kind = rng.choice(("delete", "double", "swap", "char", "indent", "value"))
    if kind == "delete" and len(lines) > 1:
        del lines[at]
    elif kind == "double":
        lines.insert(at, lines[at])
    elif kind == "swap":
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    elif kind == "char" and lines[at]:
        where = rng.randrange(len(lines[at]))
        lines[at] = lines[at][:where] + rng.choice(":-[]{}&*!|>'\"#%@`,?$\t ") + lines[at][where + 1:]
    elif kind == "indent":
        lines[at] = " " + lines[at]
    elif kind == "value" and ":" in lines[at]:
        value = rng.choice(("[]", "{}", "~", "1", "true", "[a, b]", "{a: 1}", '""', "-1", "1.5"))
        lines[at] = lines[at].split(":")[0] + ": " + value
