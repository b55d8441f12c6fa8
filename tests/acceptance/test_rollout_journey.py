"""Rollout to two real Mautics (``GDPR_AS_CODE_TEST_MAUTIC_*`` and ``…_MAUTIC2_*``; in CI 5.1.0 and 7.0.2, a
mixed-version fleet): one inventory, one combined plan, both converged, then nothing left to do on either."""

from __future__ import annotations

import re

from .conftest import RealMautic
from .tooling import Tool


def inventory_line(name: str, instance: RealMautic) -> tuple[str, dict[str, str]]:
    """An inventory entry naming its own credential variables, and those variables' values."""
    env = name.upper().replace("-", "_")
    if instance.has_oauth2:
        line = (f"  - {{name: {name}, url: '{instance.proxy.url}', auth: oauth2, client_id_env: {env}_ID, "
                f"client_secret_env: {env}_SECRET, labels: {{version: '{instance.version}'}}, "
                f"variables: {{company: '{name} Ltd'}}}}")
        return line, {f"{env}_ID": instance.client_id or "", f"{env}_SECRET": instance.client_secret or ""}
    line = (f"  - {{name: {name}, url: '{instance.proxy.url}', auth: basic, username_env: {env}_USER, "
            f"password_env: {env}_PASSWORD, labels: {{version: '{instance.version}'}}, "
            f"variables: {{company: '{name} Ltd'}}}}")
    return line, {f"{env}_USER": instance.username or "", f"{env}_PASSWORD": instance.password or ""}


def test_one_inventory_plans_both_applies_both_and_then_has_nothing_to_do(
    mautic: RealMautic, second_mautic: RealMautic, tool: Tool
) -> None:
    lines, env = ["version: 1", "instances:"], {}
    for name, instance in (("shop-one", mautic), ("shop-two", second_mautic)):
        line, secrets = inventory_line(name, instance)
        lines.append(line)
        env.update(secrets)
    inventory = tool.work / "fleet.yaml"
    inventory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spec = tool.spec()

    planned = tool("plan", spec, "--inventory", inventory, "--detailed-exitcode", env=env)
    assert planned.code == 2, planned.out + planned.err
    assert "shop-one" in planned.out and "shop-two" in planned.out
    assert len(re.findall(r"\d+ to add, 0 to change, 0 to destroy", planned.out)) >= 2, planned.out

    applied = tool("apply", spec, "--inventory", inventory, "--auto-approve", env=env)
    assert applied.code == 0, applied.out + applied.err

    mautic.proxy.clear()
    second_mautic.proxy.clear()
    again = tool("plan", spec, "--inventory", inventory, "--detailed-exitcode", env=env)
    assert again.code == 0, again.out + again.err
    assert mautic.proxy.writes() == [] and second_mautic.proxy.writes() == []
    versions = {line.split()[0]: line.split()[1] for line in again.out.split("\n\n")[0].splitlines()[1:]}
    assert versions == {"shop-one": mautic.version, "shop-two": second_mautic.version}  # the MAUTIC column
