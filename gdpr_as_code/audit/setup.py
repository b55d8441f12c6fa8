"""The seed's GDPR setup as found in a live Mautic: by the spec (markers, then names), or recognised.

``audit`` checks it and ``export`` writes the ``gdpr:`` section from it. Recognising works on Mautic's own
answers (one list call per kind, see ``Snapshot``) the way a person reads the UI: the request field is a
select contact field offering an erasure and an access choice; the request form is the form filling it; the
request segments filter on it (or are added by the form's actions, or are named like the seed's); the
notification emails are named for what they tell. Every guess says why (``Setup.guesses``), so export can
write it as a comment.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gdpr_as_code.resources import KINDS, Kind

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient
    from gdpr_as_code.spec import Spec

Raw = Mapping[str, Any]
ERASURE_RE = re.compile(r"forget|forgotten|eras|delet|vergess|lösch|loesch|supprim|oubli", re.I)
ACCESS_RE = re.compile(r"access|data ?request|requested|copy|export|auskunft|kopie|daten|portab", re.I)
GDPR_RE = re.compile(r"gdpr|dsgvo|rgpd|privacy|datenschutz|request|anfrage", re.I)
CONSENT_RE = re.compile(r"consent|agree|privacy|einwillig|zustimm|datenschutz|accept", re.I)
BANNER_RE = re.compile(r"consent|cookie|privacy|gdpr|datenschutz", re.I)
PATTERNS = {"access": ACCESS_RE, "erasure": ERASURE_RE}
CHOICE_TYPES = ("select", "multiselect")


@dataclass(frozen=True)
class Snapshot:
    """Every object of every kind the tool knows, as Mautic answered the list calls (one per kind)."""

    raws: Mapping[str, tuple[Raw, ...]]

    @classmethod
    def read(cls, client: MauticClient, kinds: Iterable[Kind] = KINDS) -> Snapshot:
        return cls({kind.name: tuple(client.list_all(kind.path, kind.list_key)) for kind in kinds})

    def of(self, kind: str) -> tuple[Raw, ...]:
        return self.raws.get(kind, ())


@dataclass(frozen=True)
class Setup:
    """The request setup: field, form, a segment, value and notification email per request type, the
    confirmation email, the consent banner. Missing parts are None; ``guesses`` say how each was found."""

    request_field: Raw | None = None
    form: Raw | None = None
    segments: Mapping[str, Raw | None] = field(default_factory=dict)
    values: Mapping[str, str | None] = field(default_factory=dict)
    emails: Mapping[str, Raw | None] = field(default_factory=dict)
    confirmation: Raw | None = None
    focus: Raw | None = None
    consent_field: str | None = None
    deadline_days: int = 30
    guesses: tuple[str, ...] = ()


def options(raw: Raw) -> list[tuple[str, str]]:
    """``(label, value)`` choices of a contact field or form field, wherever Mautic keeps them."""
    props = raw.get("properties") if isinstance(raw.get("properties"), Mapping) else {}
    found: Any = props.get("list")
    if isinstance(found, Mapping):
        found = found.get("list")
    optionlist = props.get("optionlist")
    if not found and isinstance(optionlist, Mapping):
        found = optionlist.get("list")
    result = []
    for item in found if isinstance(found, list) else []:
        if isinstance(item, Mapping):
            result.append((str(item.get("label", "")), str(item.get("value", ""))))
        else:
            result.append((str(item), str(item)))
    return result


def mapped_field(raw_field: Raw) -> str | None:
    """The contact field a form field fills (``mappedField``, or the older ``leadField``)."""
    if raw_field.get("mappedObject") not in (None, "", "contact"):
        return None
    return str(raw_field.get("mappedField") or raw_field.get("leadField") or "") or None


def value_for(kind: str, choices: Iterable[tuple[str, str]]) -> str | None:
    """The option value selecting ``kind`` (``access``/``erasure``) among a field's choices."""
    choices = list(choices)
    for _label, value in choices:
        if value == kind or (kind == "erasure" and value == "forget"):
            return value
    other = PATTERNS["access" if kind == "erasure" else "erasure"]
    for label, value in choices:
        text = f"{label} {value}"
        if PATTERNS[kind].search(text) and not (kind == "access" and other.search(text)):
            return value
    return None


def selects(segment: Raw, alias: str, value: str) -> bool:
    """Whether a segment's filters put contacts whose ``alias`` holds ``value`` into it."""
    for row in segment.get("filters") or []:
        if row.get("field") != alias:
            continue
        props = row.get("properties") if isinstance(row.get("properties"), Mapping) else {}
        wanted = props.get("filter", row.get("filter"))
        wanted = wanted if isinstance(wanted, list) else [wanted]
        if row.get("operator") in ("in", "=", "like", "contains") and value in [str(w) for w in wanted]:
            return True
    return False


def added_by(form: Raw | None) -> set[int]:
    """Ids of the segments a form's ``lead.changelist`` actions add its submitters to."""
    ids: set[int] = set()
    for action in (form or {}).get("actions") or []:
        if action.get("type") == "lead.changelist":
            props = action.get("properties") or {}
            ids.update(int(x) for x in props.get("addToLists") or [] if str(x).isdigit())
    return ids


def _lowest(items: Iterable[Raw]) -> Raw | None:
    return min(items, key=lambda raw: int(raw["id"]), default=None)


def recognise(snap: Snapshot) -> Setup:
    """The seed's setup as a person finds it in Mautic's UI (no spec, no markers)."""
    guesses: list[str] = []
    fields = [f for f in snap.of("fields") if f.get("type") in CHOICE_TYPES]
    scored = [f for f in fields if value_for("access", options(f)) and value_for("erasure", options(f))]
    request_field = _lowest(sorted(scored, key=lambda f: not GDPR_RE.search(f"{f.get('alias')}")))
    if request_field is not None:
        guesses.append(f"request_field: contact field #{request_field['id']} "
                       f"'{request_field.get('alias')}' offers an access and an erasure choice")
    alias = request_field.get("alias") if request_field else None
    forms = snap.of("forms")
    form = _lowest(f for f in forms if alias and any(mapped_field(x) == alias for x in f.get("fields") or []))
    if form is not None:
        guesses.append(f"request_form: form #{form['id']} '{form.get('name')}' fills '{alias}'")
    else:
        form = _lowest(f for f in forms if GDPR_RE.search(str(f.get("name"))) and ERASURE_RE.search(
            " ".join(f"{lbl} {val}" for x in f.get("fields") or [] for lbl, val in options(x))))
        if form is not None:
            guesses.append(f"request_form: form #{form['id']} '{form.get('name')}' offers an erasure choice")
    segments: dict[str, Raw | None] = {}
    values: dict[str, str | None] = {}
    emails: dict[str, Raw | None] = {}
    confirmation = _confirmation(form, snap)
    for kind in ("access", "erasure"):
        value = value_for(kind, options(request_field)) if request_field else None
        values[kind] = value
        segment, why = _segment(kind, snap, str(alias or ""), value, added_by(form))
        segments[kind] = segment
        if segment is not None:
            guesses.append(f"requests.{kind}.segment: segment #{segment['id']} '{segment.get('name')}' {why}")
        email = _lowest(
            e for e in snap.of("emails")
            if PATTERNS[kind].search(str(e.get("name"))) and e is not confirmation
            and not (kind == "access" and ERASURE_RE.search(str(e.get("name"))))
        )
        emails[kind] = email
        if email is not None:
            guesses.append(f"requests.{kind}.email: email #{email['id']} '{email.get('name')}' (by its name)")
    focus = _focus(snap)
    if focus is not None:
        guesses.append(f"consent: focus item #{focus['id']} '{focus.get('name')}'")
    return Setup(request_field, form, segments, values, emails, confirmation, focus,
                 _consent_field(snap, forms), guesses=tuple(guesses))


def _segment(kind: str, snap: Snapshot, alias: str, value: str | None, added: set[int]
             ) -> tuple[Raw | None, str]:
    """The request segment of ``kind``: filtering on the request field for its value, else added by the
    request form and named like it, else named like the seed's."""
    pattern = PATTERNS[kind]
    segments = [s for s in snap.of("segments") if not str(s.get("alias", "")).startswith("gdpr-as-code")]
    if value:
        found = _lowest(s for s in segments if selects(s, alias, value))
        if found is not None:
            return found, f"filters on '{alias}' for '{value}'"
    named = [s for s in segments if pattern.search(str(s.get("name")))
             and not (kind == "access" and ERASURE_RE.search(str(s.get("name"))))]
    found = _lowest(s for s in named if int(s["id"]) in added)
    if found is not None:
        return found, "is added by the request form and named for it"
    found = _lowest(named)
    return found, "is named for it (static: nothing routes requests to it)"


def _confirmation(form: Raw | None, snap: Snapshot) -> Raw | None:
    """The email the request form's ``email.send.lead`` action sends."""
    by_id = {int(e["id"]): e for e in snap.of("emails")}
    for action in (form or {}).get("actions") or []:
        if action.get("type") == "email.send.lead":
            email = (action.get("properties") or {}).get("email")
            if str(email).isdigit() and int(email) in by_id:
                return by_id[int(email)]
    return None


def _focus(snap: Snapshot) -> Raw | None:
    """The consent banner: a focus item about consent, cookies or privacy (published ones first)."""
    items = [f for f in snap.of("focus") if BANNER_RE.search(f"{f.get('name')} {f.get('properties')}")]
    return _lowest(f for f in items if f.get("isPublished")) or _lowest(items)


def _consent_field(snap: Snapshot, forms: Iterable[Raw]) -> str | None:
    """The boolean contact field consent checkboxes fill, when some form maps one."""
    booleans = {str(f.get("alias")) for f in snap.of("fields") if f.get("type") == "boolean"}
    for form in sorted(forms, key=lambda f: int(f["id"])):
        for item in form.get("fields") or []:
            if mapped_field(item) in booleans:
                return mapped_field(item)
    return None


def from_spec(spec: Spec, snap: Snapshot) -> Setup:
    """The spec's setup located in Mautic: by ownership marker, else by the kind's identity (a spec not yet
    applied or exported, whose objects are still unmanaged)."""
    from gdpr_as_code.resources import BY_NAME, read_registry

    registry = read_registry(snap.of("segments"))

    def find(kind_name: str, key: str | None, identity: object) -> Raw | None:
        if key is None:
            return None
        kind = BY_NAME[kind_name]
        owner = registry if kind.ownership == "registry" else kind
        items = snap.of(kind_name)
        return _lowest(r for r in items if owner.key_of(r) == key) or _lowest(
            r for r in items if identity is not None and r.get(kind.identity) == identity)

    gdpr = spec.gdpr
    consent = spec.consent
    focus = find("focus", consent.key, consent.name) if consent else recognise(snap).focus
    if gdpr is None:
        return Setup(focus=focus)
    field_ = spec.field(gdpr.request_field)
    form = spec.form(gdpr.request_form)
    segments: dict[str, Raw | None] = {}
    emails: dict[str, Raw | None] = {}
    values: dict[str, str | None] = {}
    for request in gdpr.request_types:
        segment = spec.segment(request.segment)
        segments[request.kind] = find("segments", segment.key, segment.alias)
        email = spec.email(request.email)
        emails[request.kind] = find("emails", email.key, email.name)
        values[request.kind] = request.value
    live_form = find("forms", form.key, form.name)
    return Setup(
        request_field=find("fields", field_.key, field_.alias),
        form=live_form,
        segments=segments,
        values=values,
        emails=emails,
        confirmation=_confirmation(live_form, snap),
        focus=focus,
        consent_field=gdpr.consent.field_alias,
        deadline_days=gdpr.deadline_days,
    )
