"""The model of a spec's ``gdpr:`` section: the request types, deadline, exports and their delivery, the
consent box, and the data inventory (what is kept, why, for how long). Frozen like the rest of the model."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Literal

RequestKind = Literal["access", "erasure"]
ExportFormat = Literal["json", "csv"]
LegalBasis = Literal[
    "consent", "contract", "legal_obligation", "vital_interests", "public_task", "legitimate_interests",
]


@dataclass(frozen=True)
class RequestType:
    """A kind of GDPR request: ``access`` (right of access + portability, Art. 15/20) or ``erasure`` (Art.
    17).

    ``value`` is the option value of the request-type field that selects it on the form; ``segment`` collects
    the contacts who asked; ``email`` notifies them of the action taken (both spec keys).
    """

    kind: RequestKind
    label: str
    value: str
    segment: str
    email: str
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class ExportDelivery:
    """How exports reach the requester: written to ``folder`` for an operator to send, or mailed over SMTP.

    For SMTP only the env var NAMES of the credentials are kept.
    """

    method: Literal["folder", "smtp"] = "folder"
    folder: str = "exports"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_starttls: bool = True
    smtp_from: str | None = None
    smtp_username_env: str = "SMTP_USERNAME"
    smtp_password_env: str = "SMTP_PASSWORD"


@dataclass(frozen=True)
class DataItem:
    """One line of the data inventory (the right to know what is kept, why, and how long; Art. 13/15/30).

    ``contact_fields`` are the Mautic contact field aliases holding it; ``retention_days`` (``None``: as long
    as the purpose lasts) counted from ``retention_from`` drives ``requests retention``.
    """

    key: str
    description: str
    purpose: str
    legal_basis: LegalBasis
    contact_fields: tuple[str, ...] = ()
    retention_days: int | None = None
    retention_from: Literal["last_active", "date_added", "date_identified"] = "last_active"
    where: str = field(default="", compare=False)


@dataclass(frozen=True)
class ConsentSettings:
    """The consent checkbox: when ``required``, every managed form gets a required checkbox group (form field
    key ``form_field``, titled ``heading``) with one box labelled ``label`` whose value ``value`` is stored in
    the boolean contact field ``field`` (spec key; ``field_alias`` its alias).
    """

    required: bool = False
    label: str = ""
    heading: str = "Consent"
    field: str | None = None
    field_alias: str | None = None
    form_field: str = "gdpr_consent"
    value: str = "1"
    forms: str | tuple[str, ...] = "spec"
    """Which forms get the checkbox: ``spec`` (the spec's forms), ``all`` (also every published form in
    Mautic that collects an email address), or names/patterns (``*``, ``?``) of forms in Mautic."""
    exempt: tuple[str, ...] = ()
    """Form names (or patterns, or spec keys) that never get the checkbox."""
    request_form: bool = False
    """The GDPR request form is exempt unless this is true: a person exercising a right must not have to
    consent first (Art. 7(4): consent is no condition; Art. 12(2): facilitate the exercise of the rights)."""

    def exempts(self, key: str, name: str, is_request_form: bool) -> bool:
        """Whether the form with this spec key (or Mautic form with this name) is left without the box."""
        if is_request_form and not self.request_form:
            return True
        return any(fnmatch.fnmatchcase(name, p) or p == key for p in self.exempt)


@dataclass(frozen=True)
class Verification:
    """Identity verification before a request is acted on (``dsr.verify``): ``email`` (spec key) carries a
    link Mautic tracks; a click from the mailbox of the address of record verifies the request. On for
    erasure by default: an erasure on a stranger's word cannot be undone. Off for access by default: the
    export only ever goes to the address of record. Unclicked after ``expire_days``, a request is closed."""

    email: str | None = None
    erasure: bool = True
    access: bool = False
    expire_days: int = 14

    def applies(self, kind: str) -> bool:
        """Whether requests of ``kind`` wait for verification (retention and re-imports: nobody asked)."""
        return (kind == "erasure" and self.erasure) or (kind == "access" and self.access)


@dataclass(frozen=True)
class Gdpr:
    """The "GDPR configuration section" the seed asks for: request handling, deadline, exports, data
    inventory."""

    request_form: str
    request_field: str
    request_types: tuple[RequestType, ...]
    deadline_days: int = 30
    export_formats: tuple[ExportFormat, ...] = ("json", "csv")
    delivery: ExportDelivery = ExportDelivery()
    data_inventory: tuple[DataItem, ...] = ()
    consent: ConsentSettings = ConsentSettings()
    # Spec keys of the emails of ``requests extend`` and ``requests refuse`` (Art. 12(3) and 12(4)); they
    # get the operator's reason as the token {reason} and the new due date as {due_date}.
    extension_email: str | None = None
    refusal_email: str | None = None
    verification: Verification = Verification()

    def request_type(self, kind: str) -> RequestType:
        """The request type of this kind (KeyError if the spec does not handle it)."""
        for item in self.request_types:
            if item.kind == kind:
                return item
        raise KeyError(kind)
