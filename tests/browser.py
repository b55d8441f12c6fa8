"""What a browser posts to Mautic's public ``/form/submit``, shared by the sandbox and real-Mautic tests."""

from __future__ import annotations

from typing import Any


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
