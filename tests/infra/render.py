"""Render the Kubernetes manifest templates the way Terraform's templatefile() does.

The templates under infra/k8s use only `${name}` interpolation (and `$${` for a
literal `${`), never `%{...}` directives, so this small renderer gives the same
text as Terraform. The compute and clickhouse modules split a template file on
lines holding only `---` first (so that the documents, and the for_each keys, are
known at plan time), then render each chunk with templatestring() and
yamldecode() it; `documents` does the same, so a document that would not decode
in Terraform fails here too.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "infra" / "k8s"

_TOKEN = re.compile(r"\$\$\{|%%\{|\$\{([^}]*)\}|%\{")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Terraform's split("\n---\n", ...) in the modules.
DOCUMENT_SEPARATOR = "\n---\n"


class TemplateError(ValueError):
    """The template uses something this renderer (and the modules' convention) forbids."""


def template_variables(text: str) -> set[str]:
    """Names the template interpolates."""
    names = set()
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("$${", "%%{"):
            continue
        if token == "%{":
            raise TemplateError("template directives (%{...}) are not used in these manifests")
        name = match.group(1).strip()
        if not _IDENTIFIER.match(name):
            raise TemplateError(f"only plain variables are interpolated, not ${{{name}}}")
        names.add(name)
    return names


def render(text: str, variables: dict[str, Any]) -> str:
    """templatefile(): replace every `${name}`; a missing variable is an error."""
    missing = template_variables(text) - variables.keys()
    if missing:
        raise TemplateError(f"no value for {sorted(missing)}")

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        if token == "%%{":
            return "%{"
        value = variables[match.group(1).strip()]
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _TOKEN.sub(substitute, text)


def chunks(template: str) -> list[str]:
    """The template's documents before rendering, as the modules' for_each sees them."""
    return [chunk for chunk in template.split(DOCUMENT_SEPARATOR) if chunk.strip()]


def documents(template: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    """Split, render and decode each document, the way the modules do."""
    return [yaml.safe_load(render(chunk, variables)) for chunk in chunks(template)]


def example_variables() -> dict[str, Any]:
    """Values like the ones the example environment passes, for rendering in tests."""
    account = "123456789012"
    peers_script = (K8S_DIR / "files" / "worker_peers.py").read_text()
    return {
        "namespace": "insightlite",
        "image": (f"{account}.dkr.ecr.eu-west-1.amazonaws.com/insightlite@sha256:" + "a" * 64),
        "aws_region": "eu-west-1",
        "config_data_json": json.dumps(
            {
                "INSIGHTLITE_LOG_FORMAT": "json",
                "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": "b-1.example:9096,b-2.example:9096",
                "INSIGHTLITE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
                "INSIGHTLITE_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
                "INSIGHTLITE_KAFKA_SASL_USERNAME": "insightlite",
                "INSIGHTLITE_ARCHIVE_URL": "s3://example-archive/insightlite",
                "INSIGHTLITE_VISITOR_KEY_STORE": "rediss://insightlite-keys.example:6379",
            }
        ),
        "api_config_json": json.dumps(
            {
                "INSIGHTLITE_JWT_ALGORITHMS": "RS256",
                "INSIGHTLITE_JWT_AUDIENCE": "insightlite-api",
                "INSIGHTLITE_JWT_ISSUER": "https://id.example.com/",
                "INSIGHTLITE_JWT_PUBLIC_KEY": (
                    "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----\n"
                ),
                "INSIGHTLITE_REDIS_URL": "",
            }
        ),
        "collector_role_arn": f"arn:aws:iam::{account}:role/insightlite-collector",
        "api_role_arn": f"arn:aws:iam::{account}:role/insightlite-api",
        "worker_role_arn": f"arn:aws:iam::{account}:role/insightlite-worker",
        "kafka_init_role_arn": f"arn:aws:iam::{account}:role/insightlite-kafka-init",
        "schema_role_arn": f"arn:aws:iam::{account}:role/insightlite-schema",
        "kafka_secret_name": "AmazonMSK_insightlite_insightlite",
        "clickhouse_secret_name": "insightlite/clickhouse",
        "jwt_secret_name": "insightlite/jwt-secret",
        "collector_min_replicas": 2,
        "collector_max_replicas": 10,
        "api_min_replicas": 2,
        "api_max_replicas": 6,
        "worker_min_replicas": 3,
        "worker_max_replicas": 12,
        "worker_lag_target": 50000,
        "worker_volume_gib": 20,
        "recovery_partitions": 12,
        "snapshot_seconds": 10,
        "backup_seconds": 60,
        "raw_events_topic": "raw_events",
        "collector_certificate_arn": f"arn:aws:acm:eu-west-1:{account}:certificate/collector",
        "api_certificate_arn": f"arn:aws:acm:eu-west-1:{account}:certificate/api",
        "api_lb_internal": "true",
        "api_source_ranges_json": json.dumps(["10.0.0.0/8"]),
        "peers_script_json": json.dumps(peers_script),
        "kafka_init_job_name": "insightlite-kafka-init-0123abcd",
        "schema_job_name": "insightlite-schema-apply-0123abcd",
    }


def render_all(variables: dict[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every manifest file under infra/k8s, rendered and split into documents."""
    values = example_variables() if variables is None else variables
    return {
        path.name: documents(path.read_text(), values) for path in sorted(K8S_DIR.glob("*.yaml"))
    }
