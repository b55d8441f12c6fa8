"""The inventory: which Mautic instances one spec is rolled out to, and how to pick a subset of them.

An inventory names, for each instance, its URL, the NAMES of the environment variables holding its
credentials (never the secrets), labels for ``--select`` and waves, and the spec variables it overrides.
Everything here is pure except ``load_inventory`` (reads the file through the spec module's YAML loader, the
only YAML parser).

Sharding (``--shard I/N``, 1-based like GitLab's ``CI_NODE_INDEX``): an instance belongs to shard
``int(sha256(name)[:8 bytes]) % N + 1``. It depends only on the instance's name, so it is the same on every
machine and every run, and adding or removing an instance never moves another one to a different runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any

from gdpr_as_code.errors import MissingCredentials, Problem, SelectionError, SpecError
from gdpr_as_code.mautic.client import instance_key
from gdpr_as_code.spec import Target
from gdpr_as_code.spec.interpolate import Origin
from gdpr_as_code.spec.yaml_loader import Locator, load_yaml_document

SELECTOR = re.compile(r"^(?P<key>[A-Za-z0-9][A-Za-z0-9._-]*)=(?P<value>.*)$")
SHARD = re.compile(r"^(?P<index>\d+)/(?P<total>\d+)$")


@dataclass(frozen=True)
class Instance:
    """One Mautic instance of the inventory."""

    name: str
    target: Target  # URL and the NAMES of this instance's own credential variables
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    where: str = ""  # FILE:LINE of the instance, for messages
    # where each variable is set (FILE, LINE, COLUMN of its key), so one the spec does not know is
    # reported there
    variable_origins: Mapping[str, Origin] = field(default_factory=lambda: MappingProxyType({}))

    def matches(self, selectors: Sequence[tuple[str, str]]) -> bool:
        """True when every ``label=value`` selector holds (AND)."""
        return all(self.labels.get(key) == value for key, value in selectors)

    @property
    def credential_env(self) -> tuple[str, str]:
        """The two variables this instance logs in with: user and password, or client id and secret."""
        if self.target.auth == "oauth2":
            return self.target.client_id_env, self.target.client_secret_env
        return self.target.username_env, self.target.password_env


@dataclass(frozen=True)
class Inventory:
    """A loaded, validated inventory."""

    path: str
    instances: tuple[Instance, ...]
    wave_order: tuple[str, ...] = ()
    batch_size: int = 0


@cache
def inventory_schema() -> Mapping[str, Any]:
    """The inventory JSON Schema, shipped in the package (``schemas/`` in the repository links to it)."""
    from gdpr_as_code.spec.shipped import schema_text

    return json.loads(schema_text("inventory"))


def load_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Load and check an inventory; every problem at once, each as ``FILE:LINE:COL: what — fix``.

    No interpolation: an inventory names environment variables, it never reads them.
    """
    try:
        data, locator = load_yaml_document(path, inventory_schema(), interpolate=False)
    except SpecError:
        if _is_a_spec(path):  # the arguments swapped: one problem, not one per spec key
            message = "this is a spec, not an inventory (it has no instances:)"
            fix = "give the spec first and an inventory to --inventory (see configs/inventory.example.yaml)"
            raise SpecError([Problem(str(path), 1, 1, message, fix)]) from None
        raise
    problems = _semantic_problems(data, locator)
    if problems:
        raise SpecError(sorted(problems, key=lambda p: (p.line, p.column)))
    rollout = data.get("rollout", {})
    shared = _texts(data.get("variables", {}))
    instances = tuple(
        Instance(
            name=item["name"],
            target=Target(
                url=item["url"].rstrip("/"),
                auth=item.get("auth", "basic"),
                **{key: item[key] for key in ENV_KEYS if key in item},
            ),
            labels=MappingProxyType(dict(item.get("labels", {}))),
            variables=MappingProxyType({**shared, **_texts(item.get("variables", {}))}),
            where=locator.where(("instances", index)),
            variable_origins=MappingProxyType(_origins(data, index, locator)),
        )
        for index, item in enumerate(data["instances"])
    )
    return Inventory(str(path), instances, tuple(rollout.get("waves", ())), rollout.get("batch_size", 0))


def _origins(data: Mapping[str, Any], index: int, locator: Locator) -> dict[str, Origin]:
    """Where instance ``index`` gets each variable: its own ``variables:`` key, else the shared one."""
    paths: list[tuple[str | int, ...]] = [("variables", name) for name in data.get("variables", {})]
    own = data["instances"][index].get("variables", {})
    paths += [("instances", index, "variables", name) for name in own]
    return {str(path[-1]): (locator.file, *locator.position(path, key=True)) for path in paths}


def _is_a_spec(path: str | os.PathLike[str]) -> bool:
    """Whether a YAML file that is no valid inventory is a spec instead (it has spec keys, no instances)."""
    try:
        data, _ = load_yaml_document(path, interpolate=False)
    except SpecError:
        return False
    spec_keys = {"target", "consent", "fields", "segments", "emails", "forms", "gdpr"}
    return isinstance(data, dict) and "instances" not in data and bool(spec_keys & set(data))


def is_inventory(path: str | os.PathLike[str]) -> bool:
    """Whether a YAML file is an inventory (top-level ``instances:``) rather than a spec, for ``validate``."""
    try:
        data, _ = load_yaml_document(path, interpolate=False)
    except SpecError:
        return False  # unreadable or broken YAML: the spec loader reports it, line by line
    return isinstance(data, dict) and "instances" in data


def validate_inventories(paths: Sequence[str | os.PathLike[str]]) -> tuple[list[str], int]:
    """What ``validate`` prints for inventories, and how many problems they have."""
    lines: list[str] = []
    count = 0
    for path in paths:
        try:
            inventory = load_inventory(path)
        except SpecError as err:
            lines.extend(str(problem) for problem in err.problems)
            count += len(err.problems)
        else:
            size = len(inventory.instances)
            lines.append(f"{path}: valid inventory ({size} instance{'s' * (size != 1)})")
    return lines, count


def validate_overrides(spec_paths: Sequence[str], inventory_paths: Sequence[str]) -> tuple[list[str], int]:
    """``validate SPEC INVENTORY``: each valid spec loaded with each instance's variables, as ``plan
    --inventory`` will, so a variable typo (``compny``) is caught at the inventory's line before any run."""
    from gdpr_as_code.spec import load_spec

    inventories, specs = [], []
    for path in inventory_paths:
        try:
            inventories.append(load_inventory(path))
        except SpecError:
            continue  # reported by validate_inventories
    for path in spec_paths:
        try:
            load_spec(path)
        except SpecError:
            continue  # reported by validate
        specs.append(path)
    lines: list[str] = []
    problems: set[Problem] = set()
    for spec in specs:
        for inventory in inventories:
            found: set[Problem] = set()
            for instance in inventory.instances:
                try:
                    load_spec(spec, variables=instance.variables, origins=instance.variable_origins)
                except SpecError as err:
                    found.update(err.problems)
            problems |= found
            if not found:
                lines.append(f"{spec} with {inventory.path}: valid for its {len(inventory.instances)} "
                             "instance(s)")
    ordered = sorted(problems, key=lambda p: (p.file, p.line, p.column, p.message))
    return [str(problem) for problem in ordered] + lines, len(problems)


ENV_KEYS = ("username_env", "password_env", "client_id_env", "client_secret_env")


def _texts(variables: Mapping[str, Any]) -> dict[str, str]:
    """Variable values as the spec's text substitution sees them (``true``, not Python's ``True``)."""
    return {key: json.dumps(val) if isinstance(val, bool) else str(val) for key, val in variables.items()}


def _semantic_problems(data: Mapping[str, Any], locator: Locator) -> list[Problem]:
    """What the schema cannot say: unique names and URLs, one secret variable per instance, declared waves."""
    problems: list[Problem] = []
    names: dict[str, int] = {}
    secrets: dict[str, str] = {}
    urls: dict[str, str] = {}
    waves = data.get("rollout", {}).get("waves")
    for index, item in enumerate(data["instances"]):
        here = ("instances", index)
        name = item["name"]
        if name in names:
            problems.append(locator.problem((*here, "name"), f"instance name '{name}' is used twice",
                                            f"rename one of them (the first is at line {names[name]})"))
        names.setdefault(name, locator.position((*here, "name"))[0])
        secret_key = "client_secret_env" if item.get("auth") == "oauth2" else "password_env"
        secret = item[secret_key]
        if secret in secrets and secrets[secret] != name:
            problems.append(locator.problem((*here, secret_key),
                f"{secret_key} {secret} is also the credential variable of instance '{secrets[secret]}'",
                "give each instance its own variable (it may hold the same value), so one instance's "
                "credentials can never be sent to another"))
        secrets.setdefault(secret, name)
        url = instance_key(item["url"])
        if url in urls:
            problems.append(locator.problem(
                (*here, "url"), f"instance '{name}' has the URL of instance '{urls[url]}'",
                "list each Mautic once (two entries would be applied at the same time, and one would wait "
                "for the other's lock)"))
        urls.setdefault(url, name)
        wave = item.get("labels", {}).get("wave")
        if waves is not None and wave is not None and wave not in waves:
            problems.append(locator.problem((*here, "labels", "wave"),
                f"wave '{wave}' of instance '{name}' is not listed in rollout.waves",
                f"use one of {', '.join(waves)} or add '{wave}' to rollout.waves"))
    return problems


def parse_selectors(texts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """Turn ``--select label=value`` options into pairs; a malformed one is an error naming it."""
    pairs = []
    for text in texts:
        match = SELECTOR.match(text)
        if not match:
            raise SelectionError(
                f"--select {text!r} is not of the form label=value — write e.g. --select region=eu "
                "(repeat --select to require several labels)."
            )
        pairs.append((match["key"], match["value"]))
    return tuple(pairs)


def parse_shard(text: str) -> tuple[int, int]:
    """Turn ``--shard I/N`` into ``(I, N)`` with 1 <= I <= N."""
    match = SHARD.match(text.strip())
    if not match or not 1 <= int(match["index"]) <= int(match["total"]):
        raise SelectionError(
            f"--shard {text!r} is not of the form I/N with 1 <= I <= N — write e.g. --shard 2/4 "
            "(in GitLab: --shard $CI_NODE_INDEX/$CI_NODE_TOTAL)."
        )
    return int(match["index"]), int(match["total"])


def shard_of(name: str, total: int) -> int:
    """The 1-based shard of an instance name; depends on nothing but the name, so it is stable everywhere."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % total + 1


def select(
    inventory: Inventory,
    selectors: Sequence[tuple[str, str]] = (),
    shard: tuple[int, int] | None = None,
) -> tuple[Instance, ...]:
    """The instances matching every selector, then those of the shard, in inventory order.

    A selection that matches nothing is an error (most likely a typo); an empty shard is not, since a CI
    matrix can have more runners than instances.
    """
    chosen = tuple(inst for inst in inventory.instances if inst.matches(selectors))
    if not chosen:
        wanted = " ".join(f"{key}={value}" for key, value in selectors)
        known = sorted({f"{key}={val}" for inst in inventory.instances for key, val in inst.labels.items()})
        raise SelectionError(
            f"--select {wanted} matches no instance of {inventory.path} — use labels the inventory has: "
            f"{', '.join(known) or '(none)'}."
        )
    if shard is None:
        return chosen
    index, total = shard
    return tuple(inst for inst in chosen if shard_of(inst.name, total) == index)


def check_credentials(instance: Instance, env: Mapping[str, str]) -> None:
    """Fail when this instance's OWN credential variables are unset; run for all before any write."""
    missing = [name for name in instance.credential_env if not env.get(name)]
    if missing:
        names = " and ".join(missing)
        one = len(missing) == 1
        subject = f"environment variable {names} is" if one else f"environment variables {names} are"
        raise MissingCredentials(
            f"Instance {instance.name} ({instance.where}): {subject} not set or empty — export {names} with "
            f"the credentials of this instance (auth: {instance.target.auth}), or correct its *_env names in "
            "the inventory."
        )
