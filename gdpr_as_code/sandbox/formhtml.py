"""The ``cachedHtml`` of a form: the markup Mautic renders for embedding, reduced to what a browser posts.

Clients never parse it, but demos and tests do post what it describes: one ``mauticform[<alias>]`` input per
field (``[]`` for checkbox groups), a submit button, and the hidden ``formId``/``return``/``formName`` inputs,
in a ``<form>`` posting to ``/form/submit?formId=N``. Like Mautic's template (flows/032 NOTE), a checkbox
group renders its boxes only when ``properties`` has ``syncList`` or ``list``, not ``optionlist`` alone.
"""

from __future__ import annotations

import html
import re
from typing import Any

INPUT_TYPES = {
    "text": "text",
    "email": "email",
    "number": "number",
    "tel": "tel",
    "url": "url",
    "date": "date",
    "datetime": "datetime-local",
    "hidden": "hidden",
    "password": "password",
    "file": "file",
}


def html_name(form: dict[str, Any]) -> str:
    """The form's HTML name (``formName``): its name lower-cased, letters and digits only."""
    return re.sub(r"[^a-z0-9]", "", str(form.get("name") or "").lower())


def options(field: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, label) pairs of a choice field, from whichever list shape it carries."""
    props = field.get("properties") if isinstance(field.get("properties"), dict) else {}
    source = props.get("optionlist") or props.get("list") or {}
    items = source.get("list", []) if isinstance(source, dict) else source
    pairs: list[tuple[str, str]] = []
    for item in items or []:
        if isinstance(item, dict):
            pairs.append((str(item.get("value", "")), str(item.get("label", ""))))
        else:
            pairs.append((str(item), str(item)))
    return pairs


def field_html(name: str, field: dict[str, Any]) -> str:
    alias, kind = field["alias"], field["type"]
    label = html.escape(str(field.get("label") or ""))
    ident = f"mauticform_input_{name}_{alias}"
    if kind == "button":
        return (
            f'<button name="mauticform[{alias}]" value="1" id="{ident}" class="mauticform-button" '
            'type="submit">'
            f"{label}</button>"
        )
    if kind in ("freetext", "freehtml", "pagebreak", "captcha"):
        return f'<div id="{ident}" class="mauticform-{kind}">{label}</div>'
    head = f'<label for="{ident}" class="mauticform-label">{label}</label>'
    if kind in ("checkboxgrp", "radiogrp"):
        props = field.get("properties") if isinstance(field.get("properties"), dict) else {}
        if "syncList" not in props and "list" not in props:
            return head  # Mautic's group template needs syncList or list to render the boxes
        box = "checkbox" if kind == "checkboxgrp" else "radio"
        suffix = "[]" if kind == "checkboxgrp" else ""
        boxes = "".join(
            f'<input type="{box}" name="mauticform[{alias}]{suffix}" value="{html.escape(value)}" '
            f'id="mauticform_{kind}_{box}_{alias}_{i}" /><label>{html.escape(text)}</label>'
            for i, (value, text) in enumerate(options(field))
        )
        return head + boxes
    if kind in ("select", "country"):
        choices = "".join(
            f'<option value="{html.escape(v)}">{html.escape(t)}</option>' for v, t in options(field)
        )
        empty = '<option value=""></option>'
        return f'{head}<select name="mauticform[{alias}]" id="{ident}">{empty}{choices}</select>'
    if kind == "textarea":
        return f'{head}<textarea name="mauticform[{alias}]" id="{ident}"></textarea>'
    kind = INPUT_TYPES.get(kind, "text")
    return f'{head}<input type="{kind}" name="mauticform[{alias}]" value="" id="{ident}" />'


def cached_html(form: dict[str, Any], site: str = "") -> str:
    """The embeddable markup of ``form`` (fields in form order)."""
    name = html_name(form)
    rows = "\n".join(
        f'<div id="mauticform_{name}_{f["alias"]}" class="mauticform-row mauticform-{f["type"]}">'
        f"{field_html(name, f)}</div>"
        for f in sorted(form.get("fields") or [], key=lambda f: (f.get("order") or 0, f["id"] or 0))
    )
    return (
        f'\n<div id="mauticform_wrapper_{name}" class="mauticform_wrapper">\n'
        f'<form autocomplete="false" role="form" method="post" '
        f'action="{site}/form/submit?formId={form["id"]}" '
        f'id="mauticform_{name}" data-mautic-form="{name}" enctype="multipart/form-data">\n{rows}\n'
        f'<input type="hidden" name="mauticform[formId]" id="mauticform_{name}_id" value="{form["id"]}"/>\n'
        f'<input type="hidden" name="mauticform[return]" id="mauticform_{name}_return" value=""/>\n'
        f'<input type="hidden" name="mauticform[formName]" id="mauticform_{name}_name" value="{name}"/>\n'
        "</form>\n</div>"
    )
