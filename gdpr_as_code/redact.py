"""The one place that knows what must never be printed, and masks it.

Secrets (passwords, tokens, client secrets) and personal data (contact emails and names) must not reach
plan text, JSON, Markdown, receipts, logs or error messages. Callers should not put them there in the first
place (pass ids and spec keys); this module is the last line of defence that every renderer and the CLI's
error path go through.

What is masked:
- the value of every environment variable whose name says it is a secret (``*PASSWORD*``, ``*SECRET*``,
  ``*TOKEN*``, ``*_KEY``, ...) and of any variable a spec names for credentials (``extra_names``);
- values registered at run time (``with_secrets``, ``with_personal``), e.g. a contact's name;
- credentials in URLs (``https://user:pass@host``), ``Authorization`` headers, ``access_token=`` parameters;
- every email address, except those in ``allowed_emails``: addresses written in the spec itself (a sender
  address) are configuration a reviewer must see, and they are already in the repository;
- in structured data, the value under any key that names a secret (``password``, ``client_secret``, ...).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

SECRET_MASK = "[redacted]"
EMAIL_MASK = "[email redacted]"

# An environment variable with one of these in its name holds a secret.
_SECRET_NAME = re.compile(r"PASS(WORD|WD)?|SECRET|TOKEN|API_?KEY|(^|_)KEY(_|$)|CREDENTIAL", re.IGNORECASE)
# A dict key naming a secret: its value is masked whatever it is.
_SECRET_KEY = re.compile(
    r"password|passwd|^pass$|secret|token|authori[sz]ation|api_?key|credential|private_?key", re.IGNORECASE
)
# Shorter values are not masked by content: masking "1" or "yes" everywhere would make output unreadable.
MIN_SECRET_LENGTH = 4

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.\-]*://)[^/\s@:]+(?::[^/\s@]*)?@")
_AUTH_HEADER = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9+/=._\-~]+", re.IGNORECASE)
_TOKEN_PARAM = re.compile(
    r"(?P<head>\b(?:access_token|refresh_token|client_secret|password)=)[^&\s\"']+", re.IGNORECASE
)


def secret_env_names(environ: Mapping[str, str]) -> tuple[str, ...]:
    """Names of the environment variables that, by their name, hold secrets."""
    return tuple(name for name in environ if _SECRET_NAME.search(name) is not None)


@dataclass(frozen=True)
class Redactor:
    """Masks known secret and personal values, credentials in URLs and headers, and email addresses."""

    secrets: frozenset[str] = field(default_factory=frozenset)
    personal: frozenset[str] = field(default_factory=frozenset)
    allowed_emails: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] | None = None, extra_names: Iterable[str] = ()
    ) -> Redactor:
        """A redactor for the environment's secrets, plus the variables a spec names (``extra_names``)."""
        env = os.environ if environ is None else environ
        names = {*secret_env_names(env), *extra_names}
        return cls(secrets=frozenset(env[name] for name in names if env.get(name)))

    def with_secrets(self, *values: str) -> Redactor:
        """This redactor, also masking ``values`` (e.g. an OAuth2 token obtained at run time)."""
        return replace(self, secrets=self.secrets | {v for v in values if v})

    def with_personal(self, *values: str) -> Redactor:
        """This redactor, also masking ``values`` (e.g. a contact's first and last name)."""
        return replace(self, personal=self.personal | {v for v in values if v})

    def allowing_emails(self, *addresses: str) -> Redactor:
        """This redactor, leaving ``addresses`` visible: those the spec itself declares, such as a sender."""
        return replace(self, allowed_emails=self.allowed_emails | {a.lower() for a in addresses if a})

    @cached_property
    def _known(self) -> re.Pattern[str] | None:
        """One alternation of every known value, longest first, so overlapping ones mask whole."""
        values = sorted((v for v in self.secrets | self.personal if len(v) >= MIN_SECRET_LENGTH), key=len)
        if not values:
            return None
        return re.compile("|".join(re.escape(v) for v in reversed(values)))

    def text(self, text: str) -> str:
        """``text`` with every secret, personal value, credential and non-allowed email address masked."""
        if self._known is not None:
            text = self._known.sub(SECRET_MASK, text)
        text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{SECRET_MASK}@", text)
        text = _AUTH_HEADER.sub(lambda m: f"{m['head']}{SECRET_MASK}", text)
        text = _TOKEN_PARAM.sub(lambda m: f"{m['head']}{SECRET_MASK}", text)
        return _EMAIL.sub(self._email, text)

    def _email(self, match: re.Match[str]) -> str:
        return match[0] if match[0].lower() in self.allowed_emails else EMAIL_MASK

    def data(self, value: Any) -> Any:
        """A copy of JSON-like ``value``: secret-named keys masked, every string passed through ``text``."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                key: SECRET_MASK if isinstance(key, str) and _is_secret_key(key) and item else self.data(item)
                for key, item in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


def _is_secret_key(key: str) -> bool:
    return _SECRET_KEY.search(key) is not None


def emails_in(text: str) -> list[str]:
    """The email addresses in ``text``, e.g. to allow those a spec declares."""
    return _EMAIL.findall(text)


def redact_text(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` masked with the environment's secrets: for paths that know no spec, like error output."""
    return Redactor.from_environ(environ).text(text)
