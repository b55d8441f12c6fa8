"""The spec as its users meet it: the shipped configs, the model the engine gets, variables, schema, CLI."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from gdpr_as_code.cli import main
from gdpr_as_code.errors import SpecError
from gdpr_as_code.spec import load_spec, load_yaml_document, spec_schema

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
CORPUS = Path(__file__).parent / "spec_corpus"

MINIMAL = "version: 1\n"


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, env=kwargs.pop("env", {}), **kwargs)
    return [f"{p.line}:{p.column}: {p.message}" for p in caught.value.problems]


# --- the shipped configs ---


def test_gdpr_yaml_is_the_seeds_whole_setup() -> None:
    spec = load_spec(CONFIGS / "gdpr.yaml", env={})
    assert spec.consent is not None and spec.consent.type == "link"
    assert spec.consent.privacy_url == "https://www.example.com/privacy"
    assert {s.name for s in spec.segments} == {"Request to be Forgotten", "Data Requested"}
    forget = spec.segment("request_to_be_forgotten")
    assert forget.alias == "request-to-be-forgotten"
    assert forget.filters[0].field == "gdpr_request"
    assert (forget.filters[0].type, forget.filters[0].operator, forget.filters[0].value) == (
        "multiselect", "in", ("forget",))
    form = spec.form(spec.gdpr.request_form) if spec.gdpr else None
    assert form is not None
    assert [f.key for f in form.fields] == ["name", "email", "request", "submit"]  # exempt: Art. 7(4)
    assert form.field("email").contact_field == "email"
    assert form.field("request").options == (
        ("Request for data", "access"), ("Request to be forgotten", "forget"))
    assert spec.gdpr is not None
    assert [(r.kind, r.value, r.segment, r.email) for r in spec.gdpr.request_types] == [
        ("access", "access", "data_requested", "data_export_sent"),
        ("erasure", "forget", "request_to_be_forgotten", "erasure_done"),
    ]
    assert spec.gdpr.deadline_days == 30
    assert spec.target.auth == "basic" and spec.target.url is None
    assert spec.target.password_env == "MAUTIC_PASSWORD"


def test_german_config_uses_its_variables_and_accepts_overrides() -> None:
    spec = load_spec(CONFIGS / "gdpr-de.yaml", env={})
    assert spec.target.url == "https://mautic.example.de" and spec.target.auth == "oauth2"
    assert spec.form("dsgvo_anfrage").message == (
        "Vielen Dank. Wir beantworten Ihr Anliegen innerhalb von 30 Tagen.")
    other = load_spec(CONFIGS / "gdpr-de.yaml", env={}, variables={"firma": "Muster AG", "frist_tage": "14"})
    assert "innerhalb von 14 Tagen" in (other.form("dsgvo_anfrage").message or "")
    assert "Muster AG" in other.email("geloescht").html
    assert "Beispiel GmbH" not in other.email("eingang").html
    assert other.variables["firma"] == "Muster AG"


def test_validate_passes_the_shipped_configs(capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(CONFIGS / "gdpr.yaml"), str(CONFIGS / "gdpr-de.yaml")]
    assert main(["validate", *paths]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{paths[0]}: valid (2 fields, 2 segments, 5 emails, 1 form)",
        f"{paths[1]}: valid (2 fields, 2 segments, 3 emails, 1 form)",  # no extension/refusal notices
    ]


# --- the model the engine sees ---


def test_model_is_immutable_and_made_of_tuples() -> None:
    spec = load_spec(CONFIGS / "gdpr.yaml", env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.forms[0].name = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.variables["company"] = "changed"  # type: ignore[index]
    assert isinstance(spec.fields, tuple) and isinstance(spec.forms[0].fields, tuple)
    assert load_spec(CONFIGS / "gdpr.yaml", env={}) == spec


def test_consent_checkbox_is_added_to_every_form_before_the_button_but_the_request_form(
    tmp_path: Path,
) -> None:
    text = (CONFIGS / "gdpr.yaml").read_text().replace("\n# The \"GDPR configuration section\"", """
  newsletter:
    name: Newsletter
    fields:
      email: {label: Email, type: email, contact_field: email}
      submit: {label: Subscribe, type: button}
    message: Thanks.
  partner:
    name: Partner offers
    fields:
      email: {label: Email, type: email, contact_field: email}
    message: Thanks.

# The "GDPR configuration section\"""")
    shutil.copytree(CONFIGS / "emails", tmp_path / "emails")
    spec = load_spec(write(tmp_path, text), env={})
    assert [f.key for f in spec.form("newsletter").fields] == ["email", "gdpr_consent", "submit"]
    assert "gdpr_consent" not in [f.key for f in spec.form("gdpr_request").fields]
    exempting = text.replace("    field: consent\n", "    field: consent\n    exempt: [Partner*]\n")
    assert [f.key for f in load_spec(write(tmp_path, exempting), env={}).form("partner").fields] == [
        "email"]
    opted_in = text.replace("    field: consent\n", "    field: consent\n    request_form: true\n")
    spec = load_spec(write(tmp_path, opted_in), env={})
    checkbox = spec.form("gdpr_request").field("gdpr_consent")
    assert checkbox.consent and checkbox.required and checkbox.type == "checkboxgrp"
    assert checkbox.label == "Consent"
    assert checkbox.options == (
        ("I agree that Example Ltd processes my data as described in the privacy notice.", "1"),)
    assert (checkbox.contact_field, checkbox.contact_field_key) == ("gdpr_consent", "consent")


def test_an_own_consent_checkbox_is_kept_not_doubled(tmp_path: Path) -> None:
    text = (CORPUS / "consent_checkbox_not_required.yaml").read_text().replace(
        "type: checkboxgrp, contact_field: consent",
        "type: checkboxgrp, required: true, contact_field: consent")
    spec = load_spec(write(tmp_path, text), env={})
    fields = spec.form("request").fields
    assert [f.key for f in fields] == ["email", "request", "agree"]
    assert fields[-1].consent


def test_a_static_request_segment_fed_by_a_form_action_is_routed(tmp_path: Path) -> None:
    """A form that serves one request type may fill a static segment by action (no condition needed)."""
    text = (CORPUS / "request_segment_not_routed.yaml").read_text().replace(
        "      request: {label: Request, type: radiogrp, required: true, contact_field: request_type}\n",
        "      request: {label: Request, type: radiogrp, required: true, contact_field: request_type}\n"
        "    actions:\n      queue: {type: add_to_segments, segments: [forget]}\n",
    )
    spec = load_spec(write(tmp_path, text), env={})
    assert spec.segment("forget").static
    assert spec.form("request").actions[0].segments == ("forget",)


def test_yaml_yes_no_and_dates_stay_the_text_written(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """version: 1
segments:
  s: {name: no, description: 2024-05-25}
emails:
  e: {name: E, subject: yes, body: x, language: no}
"""), env={})
    assert spec.segment("s").name == "no" and spec.segment("s").description == "2024-05-25"
    assert spec.email("e").subject == "yes" and spec.email("e").language == "no"


def test_anchors_and_merge_keys_share_values(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, """version: 1
emails:
  a: &base {name: A, subject: Same subject, body: x, from_name: Privacy team}
  b: {<<: *base, name: B}
"""), env={})
    assert (spec.email("b").name, spec.email("b").subject, spec.email("b").from_name) == (
        "B", "Same subject", "Privacy team")


def test_markdown_bodies_become_html_and_html_bodies_stay(tmp_path: Path) -> None:
    (tmp_path / "b.html").write_text("<p>Exactly {contactfield=firstname}</p>\n", encoding="utf-8")
    spec = load_spec(write(tmp_path, """version: 1
emails:
  md: {name: M, subject: S, body: "Hello **{contactfield=first_name}**\\n\\n- one\\n- two"}
  html: {name: H, subject: S, body_file: b.html}
"""), env={})
    html = spec.email("md").html
    assert "<strong>{contactfield=first_name}</strong>" in html and "<li>one</li>" in html
    assert html.startswith("<!DOCTYPE html>")
    assert spec.email("html").html == "<p>Exactly {contactfield=firstname}</p>\n"
    assert spec.email("html").body_source == "b.html"


def test_the_spec_hash_covers_its_body_files(tmp_path: Path) -> None:
    body = tmp_path / "body.md"
    body.write_text("first\n", encoding="utf-8")
    path = write(tmp_path, "version: 1\nemails:\n  e: {name: E, subject: S, body_file: body.md}\n")
    first = load_spec(path, env={}).sha256
    body.write_text("second\n", encoding="utf-8")
    assert load_spec(path, env={}).sha256 != first
    plain = write(tmp_path, MINIMAL, "plain.yaml")
    assert load_spec(plain, env={}).sha256 == hashlib.sha256(MINIMAL.encode()).hexdigest()


def test_problems_in_a_body_file_point_into_that_file() -> None:
    assert [(p.file, p.line) for p in _spec_error(CORPUS / "body_file_undefined_var.yaml").problems] == [
        (str(CORPUS / "bodies" / "undefined-var.md"), 3)]


def _spec_error(path: Path) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(path, env={})
    return caught.value


def test_libyaml_and_python_composers_agree_on_data_and_locations() -> None:
    """Valid documents are composed by libyaml for speed, broken ones by PyYAML's Python composer for the
    wording; both must give the same data at the same lines and columns (umlauts included)."""
    from gdpr_as_code.spec import yaml_compose, yaml_loader

    if yaml_compose._CComposer is None:
        pytest.skip("PyYAML without libyaml: only the Python composer runs")
    for path in [*CONFIGS.glob("*.yaml"), CORPUS / "duplicate_field_alias.yaml"]:
        text, _ = yaml_loader.read_text(path, str(path))
        fast = yaml_loader.build_data(yaml_compose._compose_fast(text), str(path), interpolate=None)
        composed = yaml_compose._compose_pure(text, str(path))
        pure = yaml_loader.build_data(composed, str(path), interpolate=None)
        assert fast[:2] == pure[:2]


# --- variables and environment ---


def test_variables_env_and_escape(tmp_path: Path) -> None:
    path = write(tmp_path, """version: 1
variables:
  company: ${env.COMPANY}
  strict: true
segments:
  s:
    name: ${var.company} requests
    description: "costs $$5, literal $${var.company}, strict=${var.strict}"
""")
    spec = load_spec(path, env={"COMPANY": "ACME"})
    assert spec.segment("s").name == "ACME requests"
    assert spec.segment("s").description == "costs $$5, literal ${var.company}, strict=true"
    assert load_spec(path, env={"COMPANY": "ACME"}, variables={"company": "Other"}).segment("s").name == (
        "Other requests")


def test_parallel_loads_with_different_variables_do_not_mix() -> None:
    """The rollout loads one spec per instance in a thread pool: nothing may be shared between loads."""
    from concurrent.futures import ThreadPoolExecutor

    def company_in_body(index: int) -> str:
        spec = load_spec(CONFIGS / "gdpr-de.yaml", env={}, variables={"firma": f"Firma {index}"})
        return spec.email("eingang").html

    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = list(pool.map(company_in_body, range(16)))
    assert all(f"Firma {index}</p>" in body for index, body in enumerate(bodies))


def test_a_variable_cannot_use_another(tmp_path: Path) -> None:
    path = write(tmp_path, "version: 1\nvariables:\n  a: x\n  b: ${var.a}\n")
    assert problems_of(path) == [
        "4:6: ${var.a} cannot be used here: there are no variables at this place"]


def test_literal_secrets_never_appear_in_the_output(capsys: pytest.CaptureFixture[str]) -> None:
    files = ["literal_password.yaml", "literal_client_secret.yaml", "url_with_credentials.yaml",
             "env_name_is_secret.yaml"]
    assert main(["validate", *(str(CORPUS / name) for name in files)]) == 1
    out = capsys.readouterr()
    for secret in ("Maut1cOracle", "oracleSecret0123456789"):
        assert secret not in out.out + out.err
    assert out.out.splitlines()[-1] == "4 problems found"


def test_smtp_credentials_must_be_env_names(tmp_path: Path) -> None:
    base = (CORPUS / "request_type_unknown_segment.yaml").read_text().replace("data_requested", "forget")
    path = write(tmp_path, base + """  exports:
    delivery:
      method: smtp
      smtp: {host: smtp.example.com, from: privacy@example.com, password: hunter2}
""")
    assert problems_of(path) == [
        "29:65: 'password' puts a credential into the spec, where everyone who can read the repository "
        "sees it"]


# --- the CLI ---


def test_validate_reports_every_problem_then_a_count(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / "many_problems_at_once.yaml")
    assert main(["validate", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"{path}:9:57: unknown contact field 'mail' — did you mean 'email'? Otherwise use a key under "
        "fields: (none declared) or a Mautic field such as email or firstname",
        f"{path}:11:49: unknown segment 'forgotten' — did you mean 'forget'? Otherwise use a key declared "
        "under segments: (forget)",
        f"{path}:12:42: unknown email 'received' — use a key declared under emails: (none declared)",
        "3 problems found",
    ]


def test_a_misspelt_key_gets_the_closest_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(CORPUS / "unknown_top_key.yaml")
    assert main(["validate", path]) == 1
    assert capsys.readouterr().out.splitlines()[0].endswith("(did you mean 'segments'?)")


def test_validate_a_missing_file_and_a_valid_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, MINIMAL)
    assert main(["validate", str(tmp_path / "nope.yaml"), str(good)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / 'nope.yaml'}:1:1: the file does not exist — check the path (it is relative to the "
        "current directory)",
        f"{good}: valid (0 fields, 0 segments, 0 emails, 0 forms)",
        "1 problem found",
    ]


def test_validate_var_option_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "version: 1\nsegments:\n  s: {name: '${var.who}'}\n")
    assert main(["validate", str(path)]) == 1
    assert "undefined variable 'who'" in capsys.readouterr().out
    assert main(["validate", "--var", "who=Team", str(path)]) == 0
    assert main(["validate", "--var", "who", str(path)]) == 64
    assert "expected NAME=VALUE, got 'who'" in capsys.readouterr().err


def test_schema_command_prints_the_shipped_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == spec_schema()
    assert printed == (ROOT / "schemas" / "gdpr-spec.schema.json").read_text(encoding="utf-8")


# --- the schema ---


def _walk(node: Any, path: str, found: list[str]) -> None:
    """Every property schema (and every additionalProperties/items schema) must carry a description."""
    if not isinstance(node, dict):
        return
    for name, sub in node.get("properties", {}).items():
        if "description" not in sub:
            found.append(f"{path}.{name}")
        _walk(sub, f"{path}.{name}", found)
    for key in ("additionalProperties", "items", "propertyNames"):
        sub = node.get(key)
        if isinstance(sub, dict):
            if "description" not in sub:
                found.append(f"{path}[{key}]")
            _walk(sub, f"{path}[{key}]", found)


def test_every_schema_property_has_a_description() -> None:
    jsonschema.Draft202012Validator.check_schema(spec_schema())
    missing: list[str] = []
    _walk(spec_schema(), "spec", missing)
    assert missing == []
    assert "CANNOT CHANGE after the field is created" in json.dumps(spec_schema())


def test_schema_ships_as_package_data_in_a_normal_install(tmp_path: Path) -> None:
    """Build the package the way an install does (setuptools build_py: packages + package data) and read the
    schema from there, from another directory: nothing may depend on the repository checkout."""
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "pyproject.toml", source)
    shutil.copy(ROOT / "README.md", source)
    shutil.copytree(ROOT / "gdpr_as_code", source / "gdpr_as_code",
                    ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py",
         "-d", str(tmp_path / "lib")],
        cwd=source, capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "lib")}
    shown = subprocess.run(
        [sys.executable, "-c", "from gdpr_as_code.cli import main; raise SystemExit(main(['schema']))"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["title"] == "gdpr-as-code spec"


# --- the generic loader for other YAML files ---


def test_load_yaml_document_locates_schema_errors_in_other_files(tmp_path: Path) -> None:
    schema = {"type": "object", "additionalProperties": False, "required": ["instances"],
              "properties": {"instances": {"description": "x", "type": "array",
                                           "items": {"description": "y", "type": "string"}}}}
    path = write(tmp_path, "instances:\n  - one\n  - 2\nextra: ${env.X}\n", "inventory.yaml")
    with pytest.raises(SpecError) as caught:
        load_yaml_document(path, schema, interpolate=False)
    assert [str(p) for p in caught.value.problems] == [
        f"{path}:3:5: instances[1] must be text — put the value in quotes, so YAML reads it as text (e.g. "
        "'000000', 'yes')",
        f"{path}:4:1: unknown key 'extra' in the document — remove it or use one of: instances",
    ]
    data, locator = load_yaml_document(write(tmp_path, "instances: [a, '${env.X}']\n", "ok.yaml"), schema,
                                       interpolate=False)
    assert data == {"instances": ["a", "${env.X}"]}
    assert locator.where(("instances", 1)) == f"{tmp_path / 'ok.yaml'}:1:16"

