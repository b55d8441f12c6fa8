"""``gdpr-as-code export``: write a spec from a live Mautic, as Terraform's ``plan -generate-config-out``,
Auth0 Deploy CLI's ``export`` and keycloak-config-cli's normalize do.

    export(client, selection)  -> Exported          reads only: one list call per kind
    Exported.write(out)        -> Path              the spec, email bodies beside it, validated as written

Each object becomes the spec entry its kind's ``to_spec`` hook gives (the inverse of ``render``, from the same
normalised form the diff compares, so the exported spec plans no changes). Objects the tool manages keep their
spec key (the marker); the others get a key made from their name and an ``adopt:`` entry naming their id, so
the first plan adopts them instead of creating twins. What the spec cannot declare is left out with a comment
saying why. ``gdpr:`` is filled from the seed's setup as ``audit`` recognises it (``gdpr_section``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from gdpr_as_code.audit.setup import Snapshot, recognise
from gdpr_as_code.errors import GdprAsCodeError, SpecError
from gdpr_as_code.generate.gdpr_section import gdpr_section
from gdpr_as_code.resources import BY_LABEL, BY_NAME, FOCUS, KINDS, Json, read_registry
from gdpr_as_code.resources.common import spec_key
from gdpr_as_code.spec.mautic_rules import BUILTIN_CONTACT_FIELDS

if TYPE_CHECKING:
    from gdpr_as_code.mautic.client import MauticClient

SECTIONS = {"fields": "fields", "segments": "segments", "emails": "emails", "forms": "forms"}
"""Kind name -> the spec's top-level key (the consent banner is ``consent:``, one object)."""
TOOL_ALIASES = ("gdpr-as-code-fields", "gdpr-as-code-lock")


@dataclass
class Exported:
    """A spec as text, its email bodies (relative path -> HTML), and what was left out and why."""

    entries: dict[str, Any]
    bodies: dict[str, str]
    adopt: dict[str, int]
    auth: str = "basic"
    skipped: list[str] = field(default_factory=list)
    guesses: list[str] = field(default_factory=list)
    gdpr: Json | None = None
    gdpr_problems: list[str] = field(default_factory=list)

    def text(self, with_gdpr: bool = True) -> str:
        head = ["# Written by `gdpr-as-code export` from a live Mautic. Review it, commit it, then plan:",
                "# the first plan adopts the objects under adopt: (writes their markers, creates nothing)."]
        head += [f"# Left out: {reason}" for reason in self.skipped]
        body: dict[str, Any] = {"version": 1, "target": {"auth": self.auth}}
        if self.adopt:
            body["adopt"] = dict(sorted(self.adopt.items()))
        body.update(self.entries)
        text = "\n".join(head) + "\n" + _dump(body)
        if self.gdpr is not None and with_gdpr:
            text += "\n# gdpr: recognised from the seed's setup; check each guess:\n"
            text += "".join(f"#   {guess}\n" for guess in self.guesses)
            text += _dump({"gdpr": self.gdpr})
        elif self.gdpr is not None:
            text += "\n# gdpr: not written, because " + "; ".join(self.gdpr_problems)
            text += ". A draft to complete:\n"
            text += "".join(f"# {line}\n" for line in _dump({"gdpr": self.gdpr}).splitlines())
        return text

    def write(self, out: Path) -> Path:
        """Write the spec and its bodies, and check it loads as it is: when only ``gdpr:`` keeps it from
        validating, that section is written as a commented draft instead, with the reason."""
        from gdpr_as_code.spec import load_spec

        for relative, html in self.bodies.items():
            path = out.parent / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(html, encoding="utf-8")
        for with_gdpr in ((True, False) if not self.gdpr_problems else (False,)):
            out.write_text(self.text(with_gdpr), encoding="utf-8")
            try:
                load_spec(out, env={})
                return out
            except SpecError as err:
                if not with_gdpr:
                    raise _invalid(out, err) from None
                self.gdpr_problems = [p.message for p in err.problems][:3]
        return out


def _invalid(out: Path, err: SpecError) -> GdprAsCodeError:
    return GdprAsCodeError(
        f"The exported spec {out} does not validate, so it was left for you to inspect: {err} Export fewer "
        "objects (name them: export form:3 segment:7), or fix them in Mautic, and export again.")


def _dump(value: Any) -> str:
    return yaml.safe_dump(_escaped(value), sort_keys=False, allow_unicode=True, width=110)


def _escaped(value: Any) -> Any:
    """``${`` in Mautic's texts stays literal in the spec (``$${``), never a variable."""
    if isinstance(value, str):
        return value.replace("${", "$${")
    if isinstance(value, Mapping):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


def parse_selection(items: Sequence[str]) -> list[tuple[str, str]]:
    """``form:3`` or ``segment:Data Requested`` -> ``(kind name, id or name)``; a usage error otherwise."""
    found = []
    for item in items:
        head, _, wanted = item.partition(":")
        kind = BY_LABEL.get(head) or BY_NAME.get(head)
        if kind is None or not wanted:
            labels = ", ".join(k.label for k in KINDS)
            raise GdprAsCodeError(f"'{item}' names no object: write KIND:ID or KIND:NAME with KIND one of "
                                  f"{labels} (e.g. form:3, segment:'Data Requested'), or use --all.")
        found.append((kind.name, wanted))
    return found


def export(client: MauticClient, selection: Sequence[tuple[str, str]] = (), auth: str = "basic"
           ) -> Exported:
    """The spec of every exportable object (``selection`` empty) or of the selected ones and what they refer
    to; reads one list call per kind. ``auth`` is how the spec's target logs in (as the export did)."""
    snap = Snapshot.read(client)
    registry = read_registry(snap.of("segments"))
    candidates = {kind.name: [r for r in snap.of(kind.name) if _exportable(kind.name, r)] for kind in KINDS}
    chosen = _choose(candidates, selection, client.name)
    setup = recognise(snap)
    banner = setup.focus if chosen.get("focus") is None else None
    keys: dict[tuple[str, int], str] = {}
    adopt: dict[str, int] = {}
    for kind in KINDS:
        taken: set[str] = set()
        for raw in sorted(candidates[kind.name], key=lambda r: int(r["id"])):
            owner = registry if kind.ownership == "registry" else kind
            managed = owner.key_of(raw)
            named = raw.get("name") or raw.get("alias")
            key = "consent" if kind is FOCUS else managed or spec_key(named, taken)
            taken.add(key)
            keys[(kind.name, int(raw["id"]))] = key
            if managed is None and _wanted(kind.name, raw, chosen, banner):
                adopt[kind.address(key)] = int(raw["id"])
    exported = Exported({}, {}, {}, auth)
    for kind in KINDS:
        for raw in sorted(candidates[kind.name], key=lambda r: int(r["id"])):
            if not _wanted(kind.name, raw, chosen, banner):
                continue
            _add(exported, kind.name, raw, keys, client.name)
    exported.adopt = {a: i for a, i in adopt.items() if _kept(exported, a)}
    exported.gdpr, exported.guesses, exported.gdpr_problems = gdpr_section(setup, keys, exported.entries)
    return exported


def _exportable(kind: str, raw: Mapping[str, Any]) -> bool:
    """Not the tool's own bookkeeping segments, nor Mautic's built-in contact fields."""
    if kind == "segments":
        return str(raw.get("alias")) not in TOOL_ALIASES
    if kind == "fields":
        return str(raw.get("alias")) not in BUILTIN_CONTACT_FIELDS
    return True


def _choose(candidates: Mapping[str, list[Mapping[str, Any]]], selection: Sequence[tuple[str, str]],
            instance: str) -> dict[str, set[int] | None]:
    """Ids per kind to export (None: all), with what the selected objects refer to."""
    if not selection:
        return {kind: None for kind in candidates}
    chosen: dict[str, set[int] | None] = {kind: set() for kind in candidates}
    for kind, wanted in selection:
        match = [r for r in candidates[kind] if str(r["id"]) == wanted or r.get("name") == wanted]
        if not match:
            raise GdprAsCodeError(f"Mautic at {instance} has no {BY_NAME[kind].label} with id or name "
                                  f"'{wanted}'; check Mautic's {kind} list.")
        chosen[kind] |= {int(r["id"]) for r in match}  # type: ignore[operator]
    _with_references(candidates, chosen)
    return chosen


def _with_references(candidates: Mapping[str, list[Mapping[str, Any]]], chosen: dict[str, Any]) -> None:
    """Add the segments, emails and contact fields the chosen forms, segments and banner use."""
    by_alias = {str(f.get("alias")): int(f["id"]) for f in candidates["fields"]}
    for form in candidates["forms"]:
        if int(form["id"]) not in chosen["forms"] | ({focus.get("form") for focus in candidates["focus"]
                                                      if int(focus["id"]) in chosen["focus"]}):
            continue
        chosen["forms"].add(int(form["id"]))
        for item in form.get("fields") or []:
            alias = str(item.get("mappedField") or item.get("leadField") or "")
            if alias in by_alias:
                chosen["fields"].add(by_alias[alias])
        for action in form.get("actions") or []:
            props = action.get("properties") or {}
            chosen["segments"] |= {int(x) for x in [*(props.get("addToLists") or []),
                                                    *(props.get("removeFromLists") or [])]}
            if action.get("type") == "email.send.lead" and str(props.get("email")).isdigit():
                chosen["emails"].add(int(props["email"]))
    for segment in candidates["segments"]:
        if int(segment["id"]) in chosen["segments"]:
            chosen["fields"] |= {by_alias[str(r.get("field"))] for r in segment.get("filters") or []
                                 if str(r.get("field")) in by_alias}


def _wanted(kind: str, raw: Mapping[str, Any], chosen: Mapping[str, set[int] | None],
            banner: Mapping[str, Any] | None) -> bool:
    """Selected (or everything); of the focus items only the consent banner (the spec declares one)."""
    ids = chosen.get(kind)
    if kind == "focus" and ids is None:
        return banner is not None and int(raw["id"]) == int(banner["id"])
    return ids is None or int(raw["id"]) in ids


def _add(exported: Exported, kind_name: str, raw: Mapping[str, Any], keys: Mapping[tuple[str, int], str],
         instance: str) -> None:
    """One object's entry (its body to a file for emails), or the reason it is left out."""
    kind = BY_NAME[kind_name]
    key = keys[(kind_name, int(raw["id"]))]
    entry = kind.to_spec(kind.normalise(raw, keys)) if kind.to_spec else "not exported"
    if isinstance(entry, str):
        exported.skipped.append(f"{kind.label} #{raw['id']} {raw.get('name') or raw.get('alias')!r}: {entry}")
        return
    if kind_name == "emails":
        exported.bodies[f"emails/{key}.html"] = str(entry.pop("body"))
        entry = {**entry, "body_file": f"emails/{key}.html"}
        entry = {k: entry[k] for k in ("name", "subject", "body_file", *entry) if k in entry}
    if kind is FOCUS:
        exported.entries = {"consent": entry, **exported.entries}
        return
    exported.entries.setdefault(SECTIONS[kind_name], {})[key] = entry


def _kept(exported: Exported, address: str) -> bool:
    label, _, key = address.partition(".")
    section = "consent" if label == FOCUS.label else SECTIONS[BY_LABEL[label].name]
    return key in exported.entries if section == "consent" else key in exported.entries.get(section, {})

