"""Unit tests of the redactor: what must never be printed is masked, configuration stays readable."""

from __future__ import annotations

import pytest

from gdpr_as_code.redact import EMAIL_MASK, SECRET_MASK, Redactor, redact_text, secret_env_names

ENV = {
    "MAUTIC_URL": "https://mautic.example.org",
    "MAUTIC_USERNAME": "apiuser",
    "MAUTIC_PASSWORD": "pw-Canary-7731",
    "MAUTIC_CLIENT_SECRET": "cs-Canary-9902",
    "ACME_LOGIN": "acme-Canary-1234",
    "GDPR_AS_CODE_RECEIPT_KEY": "key-Canary-0001",
    "KEYBOARD": "us",
    "HOME": "/root",
    "PWD": "/work/main",
}


def test_secret_env_names_are_found_by_name_only() -> None:
    expected = ["GDPR_AS_CODE_RECEIPT_KEY", "MAUTIC_CLIENT_SECRET", "MAUTIC_PASSWORD"]
    assert sorted(secret_env_names(ENV)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("login failed with pw-Canary-7731 at x", f"login failed with {SECRET_MASK} at x"),
        ("secret=cs-Canary-9902", f"secret={SECRET_MASK}"),
        ("GET https://bob:hunter2@mautic.example.org/api", f"GET https://{SECRET_MASK}@mautic.example.org/api"),
        ("Authorization: Bearer abc.DEF-123", f"Authorization: Bearer {SECRET_MASK}"),
        ("/oauth?access_token=xyz123&x=1", f"/oauth?access_token={SECRET_MASK}&x=1"),
        ("contact jane.doe+gdpr@mail.example.co.uk asked", f"contact {EMAIL_MASK} asked"),
        ("no secret here: /work/main and /root", "no secret here: /work/main and /root"),
    ],
)
def test_text_masks_secrets_credentials_and_emails(text: str, expected: str) -> None:
    assert Redactor.from_environ(ENV).text(text) == expected


def test_variables_named_by_the_spec_are_secrets_too() -> None:
    assert Redactor.from_environ(ENV).text("acme-Canary-1234") == "acme-Canary-1234"
    assert Redactor.from_environ(ENV, extra_names=["ACME_LOGIN"]).text("acme-Canary-1234") == SECRET_MASK


def test_longest_secret_is_masked_whole() -> None:
    redactor = Redactor().with_secrets("abcd", "abcdefgh")
    assert redactor.text("x abcdefgh y") == f"x {SECRET_MASK} y"


def test_short_values_are_not_masked_by_content() -> None:
    assert Redactor().with_secrets("1", "yes").text("1 yes") == "1 yes"


def test_personal_values_registered_at_run_time_are_masked() -> None:
    redactor = Redactor().with_personal("Zacharias", "Quintero-Canary")
    masked = redactor.text("erased Zacharias Quintero-Canary (id 7)")
    assert masked == f"erased {SECRET_MASK} {SECRET_MASK} (id 7)"


def test_emails_declared_in_the_spec_stay_visible() -> None:
    redactor = Redactor().allowing_emails("Privacy@Example.org")
    assert redactor.text("from privacy@example.org to a@b.org") == f"from privacy@example.org to {EMAIL_MASK}"


def test_data_masks_secret_keys_and_walks_nested_values() -> None:
    redactor = Redactor.from_environ(ENV)
    data = {
        "password": "anything",
        "client_secret": "x",
        "token": "",
        "fields": [{"label": "Email", "alias": "email", "defaultValue": "someone@example.org"}],
        "note": "pw-Canary-7731",
        "count": 3,
    }
    assert redactor.data(data) == {
        "password": SECRET_MASK,
        "client_secret": SECRET_MASK,
        "token": "",
        "fields": [{"label": "Email", "alias": "email", "defaultValue": EMAIL_MASK}],
        "note": SECRET_MASK,
        "count": 3,
    }


def test_redact_text_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_API_TOKEN", "tok-Canary-5555")
    assert redact_text("bad token tok-Canary-5555") == f"bad token {SECRET_MASK}"
