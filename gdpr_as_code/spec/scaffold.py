"""``gdpr-as-code init``: a new project from the shipped templates (a spec, its email bodies, the schema for
editors, a CI workflow), with the company, privacy notice and DPO address filled in.

The templates are the specs in ``configs/`` (one per language), so what ``init`` writes is what ``validate``
and the tests check every day; only the three variables' values and the body folder's name change.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from gdpr_as_code.errors import GdprAsCodeError
from gdpr_as_code.spec.shipped import data_path, schema_text, template_spec


@dataclass(frozen=True)
class Template:
    """One language's template: its spec, its body folder, and what it calls the three variables."""

    spec: str
    bodies: str
    company: str
    privacy_url: str
    dpo_address: str


TEMPLATES = {
    "en": Template("gdpr.yaml", "emails", "company", "privacy_url", "dpo_address"),
    "de": Template("gdpr-de.yaml", "emails-de", "firma", "datenschutz_url", "absender"),
    "fr": Template("gdpr-fr.yaml", "emails-fr", "societe", "url_confidentialite", "adresse_dpo"),
}
SPEC_NAME = "gdpr.yaml"
SCHEMA_NAME = "gdpr-spec.schema.json"
WORKFLOW = Path(".github") / "workflows" / "gdpr-as-code.yml"


@dataclass(frozen=True)
class Answers:
    """What ``init`` fills in."""

    company: str
    privacy_url: str
    dpo_address: str
    language: str = "en"


def project_files(directory: Path, answers: Answers) -> dict[Path, str]:
    """Every file ``init`` writes, by path, with its text (nothing is written here)."""
    template = TEMPLATES[answers.language]
    source = template_spec(template.spec)
    text = source.read_text(encoding="utf-8")
    text = text.replace("$schema=../schemas/gdpr-spec.schema.json", f"$schema={SCHEMA_NAME}", 1)
    text = text.replace(f"body_file: {template.bodies}/", "body_file: emails/")
    for name, value in ((template.company, answers.company), (template.privacy_url, answers.privacy_url),
                        (template.dpo_address, answers.dpo_address)):
        # A JSON string is a YAML double-quoted scalar: any company name stays one value.
        text, found = re.subn(rf"^  {name}: .*$", f"  {name}: {json.dumps(value, ensure_ascii=False)}", text,
                              count=1, flags=re.M)
        assert found, f"template {template.spec} lost its variable {name}"  # tests run init on each template
    files = {directory / SPEC_NAME: text, directory / SCHEMA_NAME: schema_text("gdpr-spec")}
    for body in sorted((source.parent / template.bodies).iterdir()):
        files[directory / "emails" / body.name] = body.read_text(encoding="utf-8")
    root = _repository_root(directory)
    spec_in_repo = Path(os.path.relpath(directory / SPEC_NAME, root)).as_posix()
    workflow = data_path("ci", "github-actions.yml").read_text(encoding="utf-8")
    spec_dir = Path(spec_in_repo).parent.as_posix()
    workflow = workflow.replace("gdpr/gdpr.yaml", spec_in_repo)
    workflow = workflow.replace("gdpr/receipts/", f"{spec_dir}/receipts/" if spec_dir != "." else "receipts/")
    workflow = workflow.replace('"gdpr/**"', f'"{spec_dir}/**"' if spec_dir != "." else '"**"')
    files[root / WORKFLOW] = workflow
    return files


def write_project(directory: Path, answers: Answers, *, force: bool = False) -> list[Path]:
    """Write the project; refuse, before writing anything, to overwrite a file unless ``force``."""
    files = project_files(directory, answers)
    if not force and (existing := [path for path in files if path.exists()]):
        shown = ", ".join(str(path) for path in existing)
        raise GdprAsCodeError(f"{shown}: already there, so init wrote nothing — choose another directory "
                        "(gdpr-as-code init DIR), or rerun with --force to overwrite these files.")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return list(files)


def _repository_root(directory: Path) -> Path:
    """The git work tree holding ``directory`` (where .github/ belongs), else ``directory`` itself."""
    start = directory.resolve()
    for candidate in (start, *start.parents):
        if (candidate / ".git").exists():
            return candidate
    return directory
