"""The inventory: loading with located errors, selection, stable sharding, per-instance credentials."""

from __future__ import annotations

from pathlib import Path

import pytest

from gdpr_as_code.errors import MissingCredentials, SelectionError, SpecError
from gdpr_as_code.rollout.inventory import (
    check_credentials,
    load_inventory,
    parse_selectors,
    parse_shard,
    select,
    shard_of,
)
from gdpr_as_code.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "configs" / "inventory.example.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def many(n: int) -> str:
    return "version: 1\ninstances:\n" + "".join(
        f"  - {{name: shop-{i:04d}, url: 'http://shop{i}.example', username_env: U{i}, password_env: P{i}, "
        f"labels: {{region: {'eu' if i % 2 else 'us'}}}}}\n"
        for i in range(n)
    )


def test_the_example_loads_with_shared_variables_overridden_per_instance() -> None:
    inventory = load_inventory(EXAMPLE)
    assert [i.name for i in inventory.instances] == ["brand-de", "brand-fr", "brand-us"]
    de, fr, us = inventory.instances
    assert de.variables["company"] == "Brand GmbH"
    assert us.variables["company"] == "Example Group"
    assert de.credential_env == ("BRAND_DE_MAUTIC_USER", "BRAND_DE_MAUTIC_PASSWORD")
    assert fr.credential_env == ("BRAND_FR_MAUTIC_CLIENT_ID", "BRAND_FR_MAUTIC_CLIENT_SECRET")
    assert inventory.wave_order == ("canary", "early")
    assert de.where.endswith("inventory.example.yaml:19:5")


def test_schema_errors_are_located_and_say_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path, """version: 1
instances:
  - name: a
    url: http://user:pw@a.example
    username_env: A_USER
    password_env: A_PASS
  - name: c
    url: http://c.example
    auth: oauth2
    client_id_env: C_ID
    colour: red
""")
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    lines = str(caught.value).splitlines()
    assert lines[0].startswith(f"{path}:4:10: instances[0].url has the wrong form — ")
    assert lines[1].startswith(f"{path}:7:5: instances[1] is missing the required key 'client_secret_env'")
    assert "— add 'client_secret_env:'" in lines[1]
    assert lines[2].startswith(f"{path}:11:5: unknown key 'colour' in instances[1] — remove it")
    assert "pw" not in str(caught.value)


def test_semantic_errors_duplicate_names_and_urls_shared_secrets_undeclared_waves(tmp_path: Path) -> None:
    path = write(tmp_path, """version: 1
rollout: {waves: [canary]}
instances:
  - {name: a, url: 'http://a.example', username_env: A_USER, password_env: SHARED}
  - {name: b, url: 'http://b.example', username_env: B_USER, password_env: SHARED}
  - {name: a, url: 'http://c.example', username_env: C_USER, password_env: C_PASS, labels: {wave: main}}
  - {name: d, url: 'http://B.example/', username_env: D_USER, password_env: D_PASS}
""")
    with pytest.raises(SpecError) as caught:
        load_inventory(path)
    assert str(caught.value).splitlines() == [
        f"{path}:5:76: password_env SHARED is also the credential variable of instance 'a' — give each "
        "instance its own variable (it may hold the same value), so one instance's credentials can never be "
        "sent to another",
        f"{path}:6:12: instance name 'a' is used twice — rename one of them (the first is at line 4)",
        f"{path}:6:99: wave 'main' of instance 'a' is not listed in rollout.waves — use one of canary or add "
        "'main' to rollout.waves",
        f"{path}:7:20: instance 'd' has the URL of instance 'b' — list each Mautic once (two entries would "
        "be applied at the same time, and one would wait for the other's lock)",
    ]


def test_selection_is_an_and_of_labels_and_a_miss_names_the_known_labels(tmp_path: Path) -> None:
    inventory = load_inventory(EXAMPLE)
    assert [i.name for i in select(inventory, parse_selectors(["region=eu"]))] == ["brand-de", "brand-fr"]
    assert [i.name for i in select(inventory, parse_selectors(["region=eu", "country=fr"]))] == ["brand-fr"]
    with pytest.raises(SelectionError, match=r"--select region=asia matches no instance of .*country=de"):
        select(inventory, parse_selectors(["region=asia"]))
    with pytest.raises(SelectionError, match="not of the form label=value"):
        parse_selectors(["region"])


@pytest.mark.parametrize("text", ["0/3", "4/3", "1", "a/b", "1/0"])
def test_bad_shards_are_refused(text: str) -> None:
    with pytest.raises(SelectionError, match="I/N"):
        parse_shard(text)


def test_shards_partition_the_inventory_stably_and_evenly(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, many(400)))
    shards = [select(inventory, (), parse_shard(f"{i}/4")) for i in range(1, 5)]
    names = [i.name for shard in shards for i in shard]
    assert sorted(names) == sorted(i.name for i in inventory.instances)  # a partition: each exactly once
    assert all(70 <= len(shard) <= 130 for shard in shards)  # about 100 each (±3.5 standard deviations)
    # Stable across runs, machines and Python versions (sha256 of the name, not the salted hash()): pinned.
    assert [shard_of("shop-0001", 4), shard_of("shop-0002", 4), shard_of("shop-0003", 4)] == [4, 2, 2]
    assert shard_of("brand-de", 7) == 1
    # Growing the inventory never moves an existing instance to another runner.
    grown = load_inventory(write(tmp_path, many(500)))
    assert [i.name for i in select(grown, (), (2, 4)) if i.name in set(names)] == [i.name for i in shards[1]]


def test_a_shard_may_be_empty_but_a_selection_may_not(tmp_path: Path) -> None:
    inventory = load_inventory(write(tmp_path, many(2)))
    sizes = [len(select(inventory, (), (i, 10))) for i in range(1, 11)]
    assert sum(sizes) == 2 and 0 in sizes


def test_credentials_come_from_the_instances_own_variables_only() -> None:
    de, fr, _ = load_inventory(EXAMPLE).instances
    env = {"BRAND_DE_MAUTIC_USER": "u", "BRAND_FR_MAUTIC_CLIENT_ID": "id",
           "BRAND_FR_MAUTIC_CLIENT_SECRET": "s3"}
    check_credentials(fr, env)
    with pytest.raises(MissingCredentials) as caught:
        check_credentials(de, {**env, "MAUTIC_PASSWORD": "global-pass"})
    message = str(caught.value)
    assert "Instance brand-de (" in message and "inventory.example.yaml:19:5" in message
    assert "BRAND_DE_MAUTIC_PASSWORD is not set or empty" in message
    assert "global-pass" not in message and "s3" not in message


def test_validate_checks_inventories_beside_specs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gdpr_as_code.cli import main

    broken = write(tmp_path, many(2).replace("shop-0001", "shop-0000"))
    assert main(["validate", str(EXAMPLE), str(ROOT / "configs" / "gdpr.yaml")]) == 0
    out = capsys.readouterr().out
    assert f"{EXAMPLE}: valid inventory (3 instances)" in out and "gdpr.yaml: valid (" in out
    assert main(["validate", str(broken)]) == 1
    assert f"{broken}:4:12: instance name 'shop-0000' is used twice" in capsys.readouterr().out


def test_every_property_of_the_schema_is_described() -> None:
    import json

    schema = json.loads((ROOT / "schemas" / "inventory.schema.json").read_text(encoding="utf-8"))
    undescribed: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            for name, child in node.get("properties", {}).items():
                if "description" not in child:
                    undescribed.append(f"{where}.{name}")
            for key, child in node.items():
                if key != "if":  # a condition on a declared property, not a declaration
                    walk(child, f"{where}.{key}")
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, f"{where}[{index}]")

    walk(schema, "$")
    assert undescribed == []
    assert sum('"description"' in line for line in json.dumps(schema, indent=1).splitlines()) >= 20


def test_a_variable_the_spec_does_not_know_is_an_error_at_its_inventory_line(tmp_path: Path) -> None:
    """A typo (``compny``) would leave the spec's default company in the consent text: it is reported where
    it is written, for the instance it is given to, with a did-you-mean; a known override loads."""
    path = write(tmp_path, """version: 1
variables:
  privacy_url: https://example.com/privacy
  langauge: de
instances:
  - name: a
    url: http://a.example
    username_env: A_USER
    password_env: A_PASS
    variables: {compny: Brand GmbH, company: Brand AG}
""")
    instance = load_inventory(path).instances[0]
    with pytest.raises(SpecError) as caught:
        load_spec(ROOT / "configs" / "gdpr.yaml", variables=instance.variables, env={},
                  origins=instance.variable_origins)
    located = [(p.file, p.line, p.column) for p in caught.value.problems]
    assert located == [(str(path), 4, 3), (str(path), 10, 17)]
    language, company = caught.value.problems
    assert "variable 'langauge' is not known to " in language.message
    assert company.message.startswith("variable 'compny' is not known to ")
    assert company.fix.startswith("did you mean 'company'?")
    fixed = load_spec(ROOT / "configs" / "gdpr.yaml", variables={"company": "Brand AG"}, env={},
                      origins=instance.variable_origins)
    assert "Brand AG uses cookies" in fixed.consent.text


def test_the_example_inventory_and_spec_stay_valid_together() -> None:
    """Each example instance's variables are ones configs/gdpr.yaml knows (a stray one fails its plan)."""
    for instance in load_inventory(EXAMPLE).instances:
        spec = load_spec(ROOT / "configs" / "gdpr.yaml", variables=instance.variables, env={},
                         origins=instance.variable_origins)
        assert spec.variables["company"] in spec.consent.text
