"""What a browser posts to Mautic's public ``/form/submit``, shared by the sandbox and real-Mautic tests."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx


def request_form_body(form: dict[str, Any], name: str, address: str, choices: list[str]) -> dict[str, Any]:
    """The GDPR request form filled in: name, address, the requests chosen, and the consent box ticked."""
    body: dict[str, Any] = {"mauticform[formId]": str(form["id"]), "mauticform[return]": ""}
    for field in form["fields"]:
        alias = field["alias"]
        if alias == "name":
            body["mauticform[name]"] = name
        elif alias == "email":
            body["mauticform[email]"] = address
        elif alias == "request":
            body["mauticform[request][]"] = list(choices)
        elif field["type"] == "checkboxgrp":  # the consent box the spec adds to every form
            body[f"mauticform[{alias}][]"] = [str(field["properties"]["optionlist"]["list"][0]["value"])]
    return body


# What a browser says it is: Mautic records no click of curl, Wget and the like (its do-not-track list).
BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"


def tracked_links(page: str) -> list[str]:
    """The links Mautic rewrote for tracking (``/r/{redirect}?ct=...``) in an email as sent."""
    return [html.unescape(link) for link in re.findall(r'href="([^"]*/r/[^"]*)"', page)]


def click(link: str) -> httpx.Response:
    """Open ``link`` as a person's browser does: no cookies, a browser User-Agent, no redirect followed."""
    return httpx.get(link, headers={"User-Agent": BROWSER_AGENT}, follow_redirects=False, timeout=60)
