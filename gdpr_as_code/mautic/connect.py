"""Connecting to an instance: its identity (``instance_key``, ``instance_slug``, for locks, saved plans,
receipts and inventories) and a client built from a spec's target or the ``MAUTIC_*`` variables
(``client_from_env``)."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gdpr_as_code.errors import MissingCredentials
from gdpr_as_code.mautic.auth import Auth, BasicAuth, OAuth2ClientCredentials
from gdpr_as_code.mautic.client import MauticClient
from gdpr_as_code.spec.model import Target

__all__ = ["EnvTarget", "client_from_env", "instance_key", "instance_slug"]


def instance_key(url: str) -> str:
    """An instance's identity (for locks, saved plans, inventories): scheme, host, port and path; no
    credentials, no final slash."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def instance_slug(url: str) -> str:
    """An instance as part of a file or folder name: ``https://mautic.example.com:8443`` →
    ``mautic.example.com_8443`` (the request state and export folders, and receipt names)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", instance_key(url).split("://", 1)[-1]).strip("_") or "mautic"



# --- building a client from the environment ---

# The spec's target section is what client_from_env takes; named here for scripts that build one by hand.
EnvTarget = Target


def client_from_env(
    target: Target | None = None,
    env: Mapping[str, str] = os.environ,
    name: str | None = None,
    **options: Any,
) -> MauticClient:
    """A client for the instance named by ``target`` (a spec's target section) or the ``MAUTIC_*`` variables;
    without a target, OAuth2 is used when ``MAUTIC_CLIENT_ID`` is set, Basic auth otherwise.

    A missing variable is a ``MissingCredentials`` naming the variable, never showing any value. ``options``
    go to ``MauticClient`` (timeout, retry, transport, page_size, and ``url_source`` when the URL comes from
    elsewhere, such as an inventory).
    """
    t = target or Target(auth="oauth2" if env.get(Target.client_id_env) else "basic")

    def need(var: str, why: str) -> str:
        value = env.get(var, "").strip()
        if not value:
            # a near miss (MAUTIC_USER for MAUTIC_USERNAME) is the usual cause: name it, never its value
            close = difflib.get_close_matches(var, [k for k, v in env.items() if v.strip()], n=1, cutoff=0.8)
            hint = f" {close[0]} is set: did you mean {var}? Rename it." if close else ""
            raise MissingCredentials(f"The environment variable {var} is not set or empty; set it to {why}."
                                     + hint)
        return value

    url = t.url or need(t.url_env, "the base URL of your Mautic, e.g. https://mautic.example.com")
    auth: Auth
    if t.auth == "oauth2":
        auth = OAuth2ClientCredentials(
            need(t.client_id_env, "the public id of a Mautic API credential (OAuth 2)"),
            need(t.client_secret_env, "the secret of that API credential"),
            source=f"{t.client_id_env} and {t.client_secret_env}",
        )
    else:
        alternative = (
            f" (or set {t.client_id_env} and {t.client_secret_env} to use OAuth2)" if target is None else ""
        )
        auth = BasicAuth(
            need(t.username_env, f"the name of a Mautic user{alternative}"),
            need(t.password_env, "that user's password"),
            source=f"{t.username_env} and {t.password_env}",
        )
    options.setdefault("url_source", "the target url in the spec" if t.url else t.url_env)
    return MauticClient(url, auth, name=name, **options)
