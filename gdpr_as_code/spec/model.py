"""The typed, immutable model of a spec: what plan/apply will create in Mautic, keyed by stable spec keys.

Everything here is frozen (tuples, read-only mappings), so the engine can compare and share it across threads
safely. Keys (``key``) are the spec's own names; they never are Mautic ids. References between objects are by
spec key and are already checked when a ``Spec`` exists. Secrets never live here: only the NAMES of
environment variables. Each keyed object carries ``where`` ("FILE:LINE:COL" of its declaration, excluded from
equality) so later stages can point the user back at the spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol, TypeVar

from gdpr_as_code.spec.gdpr_model import Gdpr

AuthKind = Literal["basic", "oauth2"]
FocusStyle = Literal["bar", "modal", "notification", "page"]
FocusType = Literal["notice", "link", "form"]
FocusWhen = Literal["immediately", "scroll_slight", "scroll_middle", "scroll_bottom", "leave"]
FocusFrequency = Literal["everypage", "once", "q2min", "q15min", "hourly", "daily"]
ContactFieldType = Literal[
    "text", "textarea", "email", "number", "tel", "url", "date", "datetime", "time", "timezone", "locale",
    "country", "region", "select", "multiselect", "lookup", "boolean", "html",
]
FormFieldType = Literal[
    "text", "textarea", "email", "number", "tel", "url", "date", "datetime", "select", "checkboxgrp",
    "radiogrp", "country", "hidden", "freetext", "freehtml", "button",
]
FormActionType = Literal["add_to_segments", "remove_from_segments", "send_email"]

Options = tuple[tuple[str, str], ...]
"""Choice options as ``(label, value)`` pairs, in display order (Mautic ``properties.list``)."""


@dataclass(frozen=True)
class Target:
    """The Mautic instance to configure and how to log in; the client reads the secrets from these env vars.

    ``url`` is the instance's base URL without ``/api``; ``None`` means "read it from ``url_env``". ``auth``
    is ``basic`` (a Mautic user, needs "API: enable HTTP basic auth") or ``oauth2`` (client credentials of an
    API credential created by an admin).
    """

    url: str | None = None
    auth: AuthKind = "basic"
    url_env: str = "MAUTIC_URL"
    username_env: str = "MAUTIC_USERNAME"
    password_env: str = "MAUTIC_PASSWORD"
    client_id_env: str = "MAUTIC_CLIENT_ID"
    client_secret_env: str = "MAUTIC_CLIENT_SECRET"


@dataclass(frozen=True)
class FocusColors:
    """Focus item colours as 6-digit hex WITHOUT ``#`` (Mautic ``properties.colors``)."""

    primary: str = "27184e"
    text: str = "ffffff"
    button: str = "fdb933"
    button_text: str = "ffffff"


@dataclass(frozen=True)
class ConsentFocus:
    """The consent banner: a Mautic focus item (``/api/focus``) shown on the website.

    ``type`` follows from the content: ``form`` when it shows a form (``form`` is that form's spec key),
    ``link`` when it has a privacy notice link (the button opens ``privacy_url``), else ``notice``.
    ``when``/``timeout``/``frequency`` are Mautic's "when/how often to show" (``properties.when``,
    ``timeout`` seconds, ``frequency``).
    """

    key: str
    name: str
    style: FocusStyle
    headline: str
    text: str = ""
    button_text: str = ""
    privacy_url: str | None = None
    form: str | None = None
    description: str = ""
    website: str | None = None
    published: bool = True
    placement: str | None = None
    colors: FocusColors = FocusColors()
    when: FocusWhen = "immediately"
    timeout: int | None = None
    frequency: FocusFrequency = "everypage"
    stop_after_conversion: bool = True
    stop_after_close: bool = True
    link_new_window: bool = True
    where: str = field(default="", compare=False)

    @property
    def type(self) -> FocusType:
        """Mautic's focus ``type``, derived so the spec cannot contradict itself."""
        if self.form:
            return "form"
        return "link" if self.privacy_url else "notice"


@dataclass(frozen=True)
class ContactField:
    """A custom contact field (``/api/fields/contact``) such as the GDPR request type or the consent flag.

    ``alias`` is the column name in Mautic; it and ``type`` cannot change once created (Mautic ignores or
    rejects the change). ``options`` are the choices of ``select``/``multiselect``/``lookup``; for ``boolean``
    they are exactly ``((yes_label, "1"), (no_label, "0"))`` (Mautic ``properties.yes``/``no``).
    """

    key: str
    alias: str
    label: str
    type: ContactFieldType = "text"
    options: Options = ()
    default: str | None = None
    group: Literal["core", "social", "personal", "professional"] = "core"
    published: bool = True
    where: str = field(default="", compare=False)

    def option_values(self) -> tuple[str, ...]:
        """The stored values, e.g. for checking what a filter or form may use."""
        return tuple(value for _, value in self.options)


@dataclass(frozen=True)
class SegmentFilter:
    """One segment filter row (Mautic ``filters[]``): contact field ``field`` (an alias), operator and value.

    ``field_key`` is the spec key when the field is declared in the spec (``None`` for Mautic's built-in
    fields such as ``email``); ``type`` is the field's Mautic type, which Mautic requires on each filter.
    ``value`` is a tuple for ``in``/``!in`` (Mautic wants an array), ``None`` for ``empty``/``!empty``, else a
    string.
    """

    field: str
    type: str
    operator: str
    value: str | tuple[str, ...] | None = None
    field_key: str | None = None
    glue: Literal["and", "or"] = "and"
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class Segment:
    """A Mautic segment (``/api/segments``): static (``filters`` empty; fed by form actions or the API) or
    filter-based (Mautic fills it when ``mautic:segments:update`` runs from cron).

    ``alias`` is Mautic's normalised form (lower-case, ``[a-z0-9-]``): the spec refuses aliases Mautic would
    rewrite.
    """

    key: str
    name: str
    alias: str
    description: str = ""
    published: bool = True
    public_name: str | None = None
    is_global: bool = True
    filters: tuple[SegmentFilter, ...] = ()
    where: str = field(default="", compare=False)

    @property
    def static(self) -> bool:
        """True when Mautic only adds contacts explicitly (no filters)."""
        return not self.filters


@dataclass(frozen=True)
class Email:
    """A Mautic template email (``/api/emails``, ``emailType: template``) used for notifications.

    ``html`` is the final ``customHtml``: Markdown bodies are already rendered; ``body_source`` says where it
    came from ("inline" or the file path) for messages. Mautic tokens such as ``{contactfield=firstname}``
    pass through.
    """

    key: str
    name: str
    subject: str
    html: str
    preheader: str | None = None  # the inbox preview text; Mautic 5.2+ (resources.emails, Kind.since)
    from_name: str | None = None
    from_address: str | None = None
    reply_to_address: str | None = None
    language: str = "en"
    email_type: Literal["template"] = "template"
    published: bool = True
    body_source: str = "inline"
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class FormField:
    """One field of a Mautic form. ``key`` is also its Mautic alias (the ``mauticform[<key>]`` input name).

    ``contact_field`` is the contact field alias it fills (sent as ``mappedObject: contact`` +
    ``mappedField``); ``contact_field_key`` the spec key when that field is declared in the spec. ``options``
    are the choices of ``select``/``checkboxgrp``/``radiogrp``; when mapped to a contact field with options
    they must be a subset. ``consent`` marks the checkbox added for ``gdpr.consent``.
    """

    key: str
    label: str
    type: FormFieldType = "text"
    required: bool = False
    options: Options = ()
    contact_field: str | None = None
    contact_field_key: str | None = None
    default: str | None = None
    help: str = ""
    consent: bool = False
    where: str = field(default="", compare=False)

    @property
    def alias(self) -> str:
        """Mautic's field alias: the spec key (already checked to be one Mautic keeps as is)."""
        return self.key

    def option_values(self) -> tuple[str, ...]:
        """The values the field can submit."""
        return tuple(value for _, value in self.options)


@dataclass(frozen=True)
class FormAction:
    """A form submit action. ``add_to_segments``/``remove_from_segments`` become Mautic ``lead.changelist``
    (segments by spec key, which must be published); ``send_email`` becomes ``email.send.lead`` (a template
    email).
    """

    key: str
    type: FormActionType
    name: str
    segments: tuple[str, ...] = ()
    email: str | None = None
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class Form:
    """A standalone Mautic form (``/api/forms``). After submit Mautic shows ``message`` or redirects to
    ``redirect`` (exactly one is set). Mautic derives the form alias from the name, so the spec has none.
    """

    key: str
    name: str
    fields: tuple[FormField, ...]
    actions: tuple[FormAction, ...] = ()
    description: str = ""
    published: bool = True
    message: str | None = None
    redirect: str | None = None
    where: str = field(default="", compare=False)

    @property
    def post_action(self) -> Literal["message", "redirect"]:
        """Mautic's ``postAction``; ``postActionProperty`` is ``message`` or ``redirect``."""
        return "redirect" if self.redirect else "message"

    def field(self, key: str) -> FormField:
        """The form field with this spec key (KeyError if absent)."""
        return _by_key(self.fields, key)


@dataclass(frozen=True)
class Spec:
    """A loaded, checked spec. ``sha256`` covers the file's bytes and, in order, the name and bytes of each
    email body file it reads (a spec without body files: exactly the file's sha256), so editing a body counts
    as editing the spec. ``variables`` are the resolved ``${var.NAME}`` values (never secrets: those stay in
    environment variables).
    """

    source: Path
    sha256: str
    target: Target
    variables: Mapping[str, str]
    consent: ConsentFocus | None
    fields: tuple[ContactField, ...]
    segments: tuple[Segment, ...]
    emails: tuple[Email, ...]
    forms: tuple[Form, ...]
    gdpr: Gdpr | None
    adopt: Mapping[str, int] = field(default_factory=dict)
    """Existing Mautic objects the spec takes over: object address (``segment.forget``) -> Mautic id."""

    def field(self, key: str) -> ContactField:
        """The contact field with this spec key (KeyError if absent)."""
        return _by_key(self.fields, key)

    def segment(self, key: str) -> Segment:
        """The segment with this spec key (KeyError if absent)."""
        return _by_key(self.segments, key)

    def email(self, key: str) -> Email:
        """The email with this spec key (KeyError if absent)."""
        return _by_key(self.emails, key)

    def form(self, key: str) -> Form:
        """The form with this spec key (KeyError if absent)."""
        return _by_key(self.forms, key)

    def counts(self) -> str:
        """The summary ``validate`` prints: "N fields, N segments, N emails, N forms" ("1 form")."""
        kinds = {"field": self.fields, "segment": self.segments, "email": self.emails, "form": self.forms}
        return ", ".join(f"{len(items)} {name}{'s' * (len(items) != 1)}" for name, items in kinds.items())


class _Keyed(Protocol):
    key: str


_K = TypeVar("_K", bound=_Keyed)


def _by_key(items: tuple[_K, ...], key: str) -> _K:
    """Linear lookup: specs hold tens of objects, so a dict per kind would not pay for itself."""
    for item in items:
        if item.key == key:
            return item
    raise KeyError(key)
