"""Each item of shared/mautic-api/VERSIONS.md, checked on real Mautic 5.1.0 and 7.0.2 and kept here: the
probes (``recorded/<version>/versions``, the same requests on a fresh instance of each) say what each line
does, and where the sandbox models the item, the sandbox answering as that line must say the same."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from recordings import RECORDED_ROOT, read_exchange

from gdpr_as_code.sandbox import Sandbox

LINES = {"5.1.0": "5.1", "7.0.2": "7.0"}


def probe(version: str, name: str) -> tuple[int, Any, dict[str, str]]:
    """Status, decoded body (None if not JSON) and headers (lower-cased) of one recorded probe."""
    (path,) = (RECORDED_ROOT / version / "versions").glob(f"{name}.json")
    response = read_exchange(path)["response"]
    try:
        body = json.loads(response["raw"])
    except ValueError:
        body = None
    return response["status"], body, {k.lower(): v for k, v in response["headers"].items()}


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, httpx.Client]]:
    started = {version: Sandbox(mautic_version=line).start() for version, line in LINES.items()}
    clients = {v: httpx.Client(base_url=s.url, auth=("admin", "sandbox")) for v, s in started.items()}
    yield clients
    for version, client in clients.items():
        client.close()
        started[version].stop()


@pytest.mark.parametrize("version", LINES)
def test_every_api_answer_names_the_version_a_public_page_does_not(version: str) -> None:
    assert probe(version, "045_err404_segment")[2]["mautic-version"] == version
    assert probe(version, "041_err400_segment_missing_name")[2]["mautic-version"] == version
    assert "mautic-version" not in probe(version, "064_version_header_public_form")[2]
    assert "mautic-version" not in probe(version, "047_err401_noauth")[2]  # the kernel refused it


def test_preheader_text_is_kept_by_7_and_ignored_by_5_1(sandboxes: dict[str, httpx.Client]) -> None:
    assert "preheaderText" not in probe("5.1.0", "002_email_get")[1]["email"]
    assert probe("7.0.2", "002_email_get")[1]["email"]["preheaderText"] == "Read me first"
    status, body, _ = probe("7.0.2", "004_email_patch_preheader_131")
    assert (status, body["errors"][0]["message"]) == (
        400, "preheaderText: Preheader Text maximum length is 130 characters.")
    assert probe("5.1.0", "004_email_patch_preheader_131")[0] == 200
    for version, client in sandboxes.items():
        made = client.post("/api/emails/new", json={"name": "P", "subject": "S", "emailType": "template",
                                                    "customHtml": "<p>x</p>", "preheaderText": "Read me"})
        email = made.json()["email"]
        assert email.get("preheaderText", "absent") == ("Read me" if version == "7.0.2" else "absent")
        too_long = client.patch(f"/api/emails/{email['id']}/edit", json={"preheaderText": "x" * 131})
        assert too_long.status_code == probe(version, "004_email_patch_preheader_131")[0]


def test_5_2_keeps_property_keys_5_1_strips(sandboxes: dict[str, httpx.Client]) -> None:
    assert probe("5.1.0", "007_field_text_unknown_prop")[1]["field"]["properties"] == {}
    assert probe("7.0.2", "007_field_text_unknown_prop")[1]["field"]["properties"] == {"foo": "bar"}
    kept = probe("7.0.2", "011_field_number_unknown_prop")[1]["field"]["properties"]
    assert kept == {"roundmode": "4", "scale": "2", "foo": "x"}
    for name in ("008_field_select_extra_prop", "010_field_multiselect_unknown_prop"):  # choices: both refuse
        assert probe("5.1.0", name)[0] == probe("7.0.2", name)[0] == 400
    for version in ("5.1.0", "7.0.2"):  # allowHtml on a textarea is still kept on 7.0.2, no migration to html
        field = probe(version, "009_field_textarea_allowHtml")[1]["field"]
        assert (field["type"], field["properties"]) == ("textarea", {"allowHtml": "1"})
    for version, client in sandboxes.items():
        made = client.post("/api/fields/contact/new", json={"label": "Probe text", "alias": "probe_text",
                                                            "type": "text", "properties": {"foo": "bar"}})
        want = probe(version, "007_field_text_unknown_prop")[1]["field"]["properties"]
        assert made.json()["field"]["properties"] == want


def test_projects_appear_on_7_and_only_ids_are_accepted(sandboxes: dict[str, httpx.Client]) -> None:
    assert "projects" not in probe("5.1.0", "012_segment_new")[1]["list"]
    assert probe("7.0.2", "012_segment_new")[1]["list"]["projects"] == []
    assert probe("7.0.2", "014_v2_projects_list_basic")[1]["member"] == []  # /api/v2 on API Platform
    assert probe("7.0.2", "016_v2_projects_list_bearer")[0] == 401  # v2 refuses OAuth2 tokens (#16243)
    assert probe("5.1.0", "014_v2_projects_list_basic")[0] == 404
    assert probe("7.0.2", "019_segment_patch_projects_objects")[1]["errors"][0]["message"] == (
        "projects: The selected choice is invalid.")
    assert probe("7.0.2", "017_segment_patch_projects_ids")[0] == 200
    for version, client in sandboxes.items():
        made = client.post("/api/segments/new", json={"name": "Plain"}).json()["list"]
        assert ("projects" in made) is (version == "7.0.2")


@pytest.mark.parametrize("version", LINES)
def test_the_rate_limiter_is_gone_on_7(version: str) -> None:
    flows = RECORDED_ROOT / version / "flows"
    limited = read_exchange(flows / "223_GET_segments_ratelimited_basic_6.json")["response"]
    assert limited["status"] == (429 if version == "5.1.0" else 200)
    headers = {name.lower() for name in limited["headers"]}
    assert ("x-ratelimit-limit" in headers) is (version == "5.1.0")


def test_input_cleaning_differs_only_for_segment_names(sandboxes: dict[str, httpx.Client]) -> None:
    assert probe("5.1.0", "022_segment_tricky_name_alias")[1]["list"]["name"] == "Bold &#38; Þór café"
    assert probe("7.0.2", "022_segment_tricky_name_alias")[1]["list"]["name"] == "Bold & Þór café"
    for version in LINES:  # field labels stay escaped; contact and company values are the same on both
        assert probe(version, "024_field_accented_alias")[1]["field"]["label"] == "Prénom Þór x &#38;"
        values = probe(version, "026_contact_tricky_values")[1]["contact"]["fields"]["all"]
        assert (values["firstname"], values["lastname"]) == ("Bold & Þór café", "xO'Neil")
    for version, client in sandboxes.items():
        made = client.post("/api/segments/new", json={"name": "Bold & Þór café"}).json()["list"]
        assert made["name"] == probe(version, "022_segment_tricky_name_alias")[1]["list"]["name"]


def test_delete_endpoints_read_the_query_or_the_body_on_both(sandboxes: dict[str, httpx.Client]) -> None:
    for version in LINES:
        counts = [len(probe(version, name)[1]["form"]["fields"]) for name in (
            "031_forms_list", "032_form_field_delete_json_body", "033_form_field_delete_form_body",
            "034_form_field_delete_query")[1:]]
        assert counts == [2, 1, 0]  # JSON body, form body and query each deleted one field
        assert probe(version, "038_form_field_delete_scalar")[0] == 400
        assert probe(version, "039_segments_batch_delete_json_body")[1] == {"lists": []}  # batch: query only
    assert probe("5.1.0", "037_form_field_delete_no_param")[0] == 400
    assert probe("7.0.2", "037_form_field_delete_no_param")[0] == 200
    for version, client in sandboxes.items():
        fields = [{"label": f"F{i}", "alias": f"f{i}", "type": "text"} for i in range(3)]
        form = client.post("/api/forms/new", json={"name": "Del", "fields": fields}).json()["form"]
        ids = [f["id"] for f in form["fields"]]
        by_body = client.request("DELETE", f"/api/forms/{form['id']}/fields/delete", json={"fields": ids[:1]})
        assert len(by_body.json()["form"]["fields"]) == 2
        bare = client.delete(f"/api/forms/{form['id']}/fields/delete")
        assert bare.status_code == probe(version, "037_form_field_delete_no_param")[0]


@pytest.mark.parametrize(
    ("name", "text_51", "text_70"),
    [
        ("043_err400_field_bad_type", "type: This value is not valid., charLengthLimit: This value should "
         "not be blank.", "type: The selected choice is invalid., charLengthLimit: This value should not be "
         "blank."),
        ("041_err400_segment_missing_name", "name: A name is required.", "name: A name is required."),
        ("045_err404_segment", "Item was not found.", "Item was not found."),
        ("057_err403_limited_user_segment", "You do not have access to the requested area/action.",
         "You do not have access to the requested area/action."),
        ("062_err_batch_201", "A max of 200 entities are supported at a time.",
         "A max of 200 entities are supported at a time."),
    ],
)
def test_error_texts(name: str, text_51: str, text_70: str) -> None:
    assert probe("5.1.0", name)[1]["errors"][0]["message"] == text_51
    assert probe("7.0.2", name)[1]["errors"][0]["message"] == text_70


def test_a_wrong_password_is_an_empty_401_on_7(sandboxes: dict[str, httpx.Client]) -> None:
    assert probe("5.1.0", "048_err401_badpass")[1]["errors"][0]["type"] == "access_denied"
    assert probe("7.0.2", "048_err401_badpass")[1] is None
    for version, client in sandboxes.items():
        refused = client.get("/api/segments", auth=("admin", "wrong"))
        assert refused.status_code == 401 and bool(refused.content) is (version == "5.1.0")
