"""The inventory: which Mautic instances one spec is rolled out to, and how to pick a subset of them.

An inventory names, for each instance, its URL, the NAMES of the environment variables holding its
credentials (never the secrets), labels for ``--select`` and waves, and the spec variables it overrides.
Everything here is pure except ``load_inventory`` (reads the file through the spec module's YAML loader, the
only YAML parser) and ``resolve_credentials`` (reads the environment mapping it is given).

Sharding (``--shard I/N``, 1-based like GitLab's ``CI_NODE_INDEX``): an instance belongs to shard
``int(sha256(name)[:8 bytes]) % N + 1``. It depends only on the instance's name, so it is the same on every
machine and every run, and adding or removing an instance never moves another one to a different runner.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from gdpr_as_code.errors import MissingCredentials, SelectionError

SCHEMA_FILE = "inventory.schema.json"
SELECTOR = re.compile(r"^(?P<key>[A-Za-z0-9][A-Za-z0-9._-]*)=(?P<value>.*)$")
SHARD = re.compile(r"^(?P<index>\d+)/(?P<total>\d+)$")


@dataclass(frozen=True)
class Auth:
    """Which environment variables hold one instance's credentials (names only, never values)."""

    kind: Literal["basic", "oauth2"]
    principal_env: str  # user name (basic) or client id (oauth2)
    secret_env: str  # password (basic) or client secret (oauth2)


@dataclass(frozen=True)
class Credentials:
    """Credentials read from the environment for one instance; the secret never shows in ``repr``."""

    kind: Literal["basic", "oauth2"]
    principal: str = field(repr=False)
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Instance:
    """One Mautic instance of the inventory."""

    name: str
    url: str
    auth: Auth
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    variables: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    where: str = ""  # FILE:LINE of the instance, for messages

    def matches(self, selectors: Sequence[tuple[str, str]]) -> bool:
        """True when every ``label=value`` selector holds (AND)."""
        return all(self.labels.get(key) == value for key, value in selectors)


@dataclass(frozen=True)
class Inventory:
    """A loaded, validated inventory."""

    path: str
    instances: tuple[Instance, ...]
    wave_order: tuple[str, ...] = ()
    batch_size: int = 0


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


def resolve_credentials(instance: Instance, env: Mapping[str, str]) -> Credentials:
    """Read this instance's credentials from its OWN variables only; a missing one is an error for it."""
    names = (instance.auth.principal_env, instance.auth.secret_env)
    missing = [name for name in names if not env.get(name)]
    if missing:
        raise MissingCredentials(
            f"Instance {instance.name} ({instance.where}): environment variable "
            f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set or empty — export "
            f"{' and '.join(missing)} with this instance's {instance.auth.kind} credentials, or change its "
            "auth section in the inventory. Nothing was written to any instance."
        )
    return Credentials(instance.auth.kind, env[names[0]], env[names[1]])
