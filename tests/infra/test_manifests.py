"""The Kubernetes manifests, rendered the way Terraform renders them, and the
worker pods' peer-list script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import hcl2
import pytest

from foundation.settings import ENV_PREFIX, Settings
from foundation.settings.api import QueryAPISettings
from foundation.settings.auth import JWTSettings
from foundation.settings.webhooks import WebhookSettings
from tests.infra.hcl import Module, clean
from tests.infra.render import (
    K8S_DIR,
    TemplateError,
    chunks,
    example_variables,
    render,
    template_variables,
)

PEERS_SCRIPT = K8S_DIR / "files" / "worker_peers.py"
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")

# The query API's own settings (not in the pipeline's Settings model): read from its
# settings model when it can be imported, else the ones agreed for `insightlite api`.
ASSUMED_API_SETTINGS = {
    "INSIGHTLITE_API_HOST",
    "INSIGHTLITE_API_PORT",
    "INSIGHTLITE_JWT_ALGORITHMS",
    "INSIGHTLITE_JWT_SECRET",
    "INSIGHTLITE_JWT_PUBLIC_KEY",
    "INSIGHTLITE_JWT_AUDIENCE",
    "INSIGHTLITE_JWT_ISSUER",
    "INSIGHTLITE_REDIS_URL",
}


def api_settings() -> set[str]:
    """The variables of the query API's sections of the settings model."""
    return {
        ENV_PREFIX + name.upper()
        for section in (QueryAPISettings, JWTSettings, WebhookSettings)
        for name in section.model_fields
    }


API_SETTINGS = api_settings()
# Read by Bytewax itself, and by worker_peers.py.
WORKER_ENV = {
    "BYTEWAX_POD_NAME",
    "BYTEWAX_STATEFULSET_NAME",
    "BYTEWAX_HOSTFILE_PATH",
    "POD_NAMESPACE",
    "INSIGHTLITE_WORKER_SERVICE",
    "INSIGHTLITE_WORKER_PORT",
    "INSIGHTLITE_RECOVERY_PARTITIONS",
}
KNOWN_ENV = (
    {ENV_PREFIX + name.upper() for name in Settings.model_fields} | API_SETTINGS | WORKER_ENV
)


def by_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents if doc["kind"] == kind}


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def env_names(container: dict[str, Any]) -> set[str]:
    return {item["name"] for item in container.get("env", [])}


def terraform_locals(module: Module) -> dict[str, Any]:
    """The module's `locals` values: literals as text, expressions as `${...}` source."""
    values: dict[str, Any] = {}
    for path in sorted(module.path.glob("*.tf")):
        for block in clean(hcl2.loads(path.read_text())).get("locals", []):
            values.update(block)
    return values


def files_read(expression: str) -> list[str]:
    """The arguments of the `file()` calls in a local's expression."""
    return re.findall(r'\bfile\("([^"]*)"\)', expression)


def k8s_dir_of(module: Module) -> Path:
    """Where the module's `local.k8s_dir` points."""
    relative = terraform_locals(module)["k8s_dir"].removeprefix("${path.module}/")
    return (module.path / relative).resolve()


# --- the templates and their renderer ------------------------------------------------


def test_api_settings_include_the_agreed_ones() -> None:
    assert api_settings() >= ASSUMED_API_SETTINGS


def test_renderer_matches_templatefile_rules() -> None:
    assert render("a ${x} $${y} %%{z}", {"x": 1}) == "a 1 ${y} %{z}"
    with pytest.raises(TemplateError):
        render("${missing}", {})
    with pytest.raises(TemplateError):
        template_variables("%{ if x }y%{ endif }")
    with pytest.raises(TemplateError):
        template_variables("${upper(x)}")


def test_every_template_variable_is_provided_by_its_module(modules: dict[str, Module]) -> None:
    provided = {}
    for module in ("modules/compute", "modules/clickhouse"):
        manifest_vars = terraform_locals(modules[module]).get("manifest_vars")
        assert isinstance(manifest_vars, dict), f"{module} has no manifest_vars"
        provided[module] = set(manifest_vars)
    example = set(example_variables())
    for path in sorted(K8S_DIR.glob("*.yaml")):
        module = "modules/clickhouse" if path.name == "schema-apply.yaml" else "modules/compute"
        used = template_variables(path.read_text())
        assert used <= provided[module], f"{path.name}: {sorted(used - provided[module])}"
        assert used <= example, f"the test values miss {sorted(used - example)}"
    clickhouse = modules["modules/clickhouse"]
    assert k8s_dir_of(clickhouse) == K8S_DIR
    schema_chunks = terraform_locals(clickhouse)["schema_chunks"]
    assert files_read(schema_chunks) == ["${local.k8s_dir}/schema-apply.yaml"]


def test_every_chunk_is_one_object(rendered: dict[str, list[dict[str, Any]]]) -> None:
    for path in sorted(K8S_DIR.glob("*.yaml")):
        docs = rendered[path.name]
        assert len(docs) == len(chunks(path.read_text()))
        for doc in docs:
            assert isinstance(doc, dict), f"{path.name}: a chunk is not one object"
            assert {"apiVersion", "kind", "metadata"} <= set(doc)
            assert doc["metadata"]["name"]


def test_namespaced_objects_are_in_the_namespace(all_documents: list[dict[str, Any]]) -> None:
    cluster_scoped = {"Namespace", "StorageClass"}
    for doc in all_documents:
        if doc["kind"] in cluster_scoped:
            continue
        assert doc["metadata"].get("namespace") == "insightlite", doc["metadata"]["name"]


def test_namespace_enforces_restricted_pod_security(all_documents: list[dict[str, Any]]) -> None:
    namespace = by_kind(all_documents, "Namespace")["insightlite"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


# --- every workload -------------------------------------------------------------------


def workloads(all_documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [doc for doc in all_documents if doc["kind"] in WORKLOAD_KINDS]


def test_workloads_are_the_expected_commands(all_documents: list[dict[str, Any]]) -> None:
    commands = {}
    for workload in workloads(all_documents):
        (container,) = pod_spec(workload)["containers"]
        commands[workload["metadata"]["name"]] = container.get("command", []) + container["args"]
    assert commands["insightlite-collector"] == ["collector"]
    assert commands["insightlite-api"] == ["api"]
    worker = commands["insightlite-worker"]
    assert worker[worker.index("--") + 1 :] == ["insightlite", "run", "--input", "kafka"]
    jobs = {
        name: args for name, args in commands.items() if "kafka-init" in name or "schema" in name
    }
    assert sorted(jobs.values()) == [["kafka", "init"], ["schema", "apply"]]


def test_workloads_are_locked_down(all_documents: list[dict[str, Any]]) -> None:
    image = example_variables()["image"]
    for workload in workloads(all_documents):
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        pod_context = spec["securityContext"]
        assert pod_context["runAsNonRoot"] is True, name
        assert pod_context["runAsUser"] >= 10000, name
        assert pod_context["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec.get("hostNetwork") is not True and spec.get("hostPID") is not True
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["image"] == image, name
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["runAsNonRoot"] is True, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}, name
            resources = container["resources"]
            for section in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[section]), f"{name}: {section}"


def test_long_running_workloads_probe_health_and_readiness(
    all_documents: list[dict[str, Any]],
) -> None:
    for workload in workloads(all_documents):
        if workload["kind"] == "Job":
            continue
        (container,) = pod_spec(workload)["containers"]
        name = workload["metadata"]["name"]
        readiness = container["readinessProbe"]["httpGet"]
        assert readiness["path"] == "/ready", name
        liveness = container["livenessProbe"]
        if "httpGet" in liveness:
            assert liveness["httpGet"]["path"] == "/health", name
        else:
            # The worker's liveness also notices a resize (worker_peers.py check),
            # which itself asks /health; the startup probe asks /health directly.
            assert liveness["exec"]["command"][-1] == "check", name
            assert container["startupProbe"]["httpGet"]["path"] == "/health", name
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        probe_port = readiness["port"]
        assert probe_port in ports, f"{name}: probe port {probe_port} is not declared"


def test_service_ports_match_the_settings(all_documents: list[dict[str, Any]]) -> None:
    deployments = by_kind(all_documents, "Deployment")
    expected = {
        "insightlite-collector": ("INSIGHTLITE_COLLECTOR_PORT", 8080),
        "insightlite-api": ("INSIGHTLITE_API_PORT", 8000),
    }
    for name, (variable, port) in expected.items():
        (container,) = pod_spec(deployments[name])["containers"]
        env = {item["name"]: item.get("value") for item in container["env"]}
        assert env[variable] == str(port)
        assert container["ports"][0]["containerPort"] == port


def test_env_names_are_known_settings(all_documents: list[dict[str, Any]]) -> None:
    config_maps = by_kind(all_documents, "ConfigMap")
    for workload in workloads(all_documents):
        (container,) = pod_spec(workload)["containers"]
        names = env_names(container)
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                names |= set(config_maps[source["configMapRef"]["name"]]["data"])
        unknown = names - KNOWN_ENV
        assert not unknown, f"{workload['metadata']['name']}: unknown {sorted(unknown)}"
    for external in by_kind(all_documents, "ExternalSecret").values():
        for item in external["spec"]["data"]:
            assert item["secretKey"] in KNOWN_ENV, item["secretKey"]


def test_secrets_come_only_from_external_secrets(all_documents: list[dict[str, Any]]) -> None:
    secret_like = re.compile(r"(SECRET|PASSWORD|CLICKHOUSE_URL)")
    externals = by_kind(all_documents, "ExternalSecret")
    targets = {doc["spec"]["target"]["name"]: doc for doc in externals.values()}
    for doc in by_kind(all_documents, "ConfigMap").values():
        if doc["metadata"]["name"] == "insightlite-worker-peers":
            continue
        leaked = [
            key
            for key in doc["data"]
            if secret_like.search(key) and key != "INSIGHTLITE_JWT_PUBLIC_KEY"
        ]
        assert not leaked, f"ConfigMap {doc['metadata']['name']} holds {leaked}"
    stores = by_kind(all_documents, "SecretStore")
    accounts = by_kind(all_documents, "ServiceAccount")
    for workload in workloads(all_documents):
        spec = pod_spec(workload)
        (container,) = spec["containers"]
        for item in container.get("env", []):
            assert not (secret_like.search(item["name"]) and "value" in item), item["name"]
        refs = [s["secretRef"]["name"] for s in container.get("envFrom", []) if "secretRef" in s]
        assert len(refs) == 1, workload["metadata"]["name"]
        external = targets[refs[0]]
        # The secret is fetched as the workload's own service account (IRSA).
        store = stores[external["spec"]["secretStoreRef"]["name"]]
        account = store["spec"]["provider"]["aws"]["auth"]["jwt"]["serviceAccountRef"]["name"]
        assert account == spec["serviceAccountName"]
        role = accounts[account]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        assert role.startswith("arn:aws:iam::")


def test_each_workload_reads_only_the_secrets_it_needs(all_documents: list[dict[str, Any]]) -> None:
    keys = {
        name: {item["secretKey"] for item in doc["spec"]["data"]}
        for name, doc in by_kind(all_documents, "ExternalSecret").items()
    }
    assert keys == {
        "insightlite-collector": {"INSIGHTLITE_KAFKA_SASL_PASSWORD"},
        "insightlite-api": {"INSIGHTLITE_CLICKHOUSE_URL", "INSIGHTLITE_JWT_SECRET"},
        "insightlite-worker": {
            "INSIGHTLITE_CLICKHOUSE_URL",
            "INSIGHTLITE_KAFKA_SASL_PASSWORD",
        },
        "insightlite-kafka-init": {"INSIGHTLITE_KAFKA_SASL_PASSWORD"},
        "insightlite-schema": {"INSIGHTLITE_CLICKHOUSE_URL"},
    }


def test_kafka_connection_settings(
    all_documents: list[dict[str, Any]], modules: dict[str, Module]
) -> None:
    config = by_kind(all_documents, "ConfigMap")["insightlite-config"]["data"]
    assert config["INSIGHTLITE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["INSIGHTLITE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    # The compute module's ConfigMap data: its own values, then `var.settings` over them.
    merged = re.fullmatch(
        r"\$\{merge\((\{.*\}), var\.settings\)\}",
        terraform_locals(modules["modules/compute"])["config_data"],
        re.S,
    )
    assert merged, "config_data is not merge({...}, var.settings)"
    module_config = clean(hcl2.loads("value = " + merged.group(1)))["value"]
    assert module_config["INSIGHTLITE_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert module_config["INSIGHTLITE_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    expected = {
        "INSIGHTLITE_KAFKA_PARTITIONS": "${tostring(var.kafka.partitions)}",
        "INSIGHTLITE_KAFKA_REPLICATION": "${tostring(var.kafka.replication_factor)}",
        "INSIGHTLITE_KAFKA_RETENTION_HOURS": "${tostring(var.kafka.retention_hours)}",
        "INSIGHTLITE_ARCHIVE_URL": "${var.archive.archive_url}",
        "INSIGHTLITE_KAFKA_SASL_USERNAME": "${var.kafka.username}",
        "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS": "${var.kafka.bootstrap_servers}",
    }
    for name, value in expected.items():
        assert module_config.get(name) == value, name


# --- scaling, disruption, exposure -----------------------------------------------------


def test_worker_statefulset_knows_its_peers(all_documents: list[dict[str, Any]]) -> None:
    statefulset = by_kind(all_documents, "StatefulSet")["insightlite-worker"]
    spec = statefulset["spec"]
    service = by_kind(all_documents, "Service")[spec["serviceName"]]
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
    assert spec["podManagementPolicy"] == "Parallel"
    assert "replicas" not in spec, "the HorizontalPodAutoscaler owns the size"
    (container,) = pod_spec(statefulset)["containers"]
    env = {item["name"]: item for item in container["env"]}
    assert env["BYTEWAX_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert env["BYTEWAX_STATEFULSET_NAME"]["value"] == statefulset["metadata"]["name"]
    assert env["INSIGHTLITE_WORKER_SERVICE"]["value"] == service["metadata"]["name"]
    mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
    assert env["BYTEWAX_HOSTFILE_PATH"]["value"].startswith(mounts["run"] + "/")
    # The recovery store is on the pod's own persistent volume.
    (claim,) = spec["volumeClaimTemplates"]
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert env["INSIGHTLITE_RECOVERY_DIR"]["value"].startswith(mounts[claim["metadata"]["name"]])
    assert spec["persistentVolumeClaimRetentionPolicy"]["whenScaled"] == "Retain"
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["bytewax"] == int(env["INSIGHTLITE_WORKER_PORT"]["value"])
    assert str(ports["metrics"]) == env["INSIGHTLITE_METRICS_PORT"]["value"]


def test_pod_disruption_budgets_cover_every_service(all_documents: list[dict[str, Any]]) -> None:
    budgets = by_kind(all_documents, "PodDisruptionBudget")
    for kind in ("Deployment", "StatefulSet"):
        for name, workload in by_kind(all_documents, kind).items():
            assert name in budgets, f"{name} has no PodDisruptionBudget"
            selector = budgets[name]["spec"]["selector"]["matchLabels"]
            assert selector == workload["spec"]["selector"]["matchLabels"]
    assert budgets["insightlite-worker"]["spec"]["maxUnavailable"] == 1


def test_autoscalers(all_documents: list[dict[str, Any]]) -> None:
    autoscalers = by_kind(all_documents, "HorizontalPodAutoscaler")
    assert set(autoscalers) == {"insightlite-collector", "insightlite-api", "insightlite-worker"}
    for name, hpa in autoscalers.items():
        metrics = {metric["type"]: metric for metric in hpa["spec"]["metrics"]}
        assert metrics["Resource"]["resource"]["name"] == "cpu"
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    worker = autoscalers["insightlite-worker"]["spec"]
    external = next(m for m in worker["metrics"] if m["type"] == "External")["external"]
    assert external["metric"]["name"] == "insightlite_consumer_lag"
    assert worker["scaleTargetRef"]["kind"] == "StatefulSet"
    assert worker["maxReplicas"] <= 12, "never more workers than raw_events partitions"


def test_collector_and_api_are_behind_tls_load_balancers(
    all_documents: list[dict[str, Any]],
) -> None:
    services = by_kind(all_documents, "Service")
    for name in ("insightlite-collector", "insightlite-api"):
        service = services[name]
        assert service["spec"]["type"] == "LoadBalancer"
        annotations = service["metadata"]["annotations"]
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-ssl-cert"].startswith(
            "arn:aws:acm:"
        )
        assert [port["port"] for port in service["spec"]["ports"]] == [443]
        # Local keeps the client's source address for the collector's IP hash and limits.
        assert service["spec"]["externalTrafficPolicy"] == "Local"
    api = services["insightlite-api"]
    assert (
        api["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"]
        == "true"
    )
    assert "0.0.0.0/0" not in api["spec"]["loadBalancerSourceRanges"]


def test_checkov_skips_in_manifests_are_justified(all_documents: list[dict[str, Any]]) -> None:
    for doc in all_documents:
        for key, value in doc["metadata"].get("annotations", {}).items():
            if key.startswith("checkov.io/skip"):
                check, _, reason = value.partition("=")
                assert re.fullmatch(r"CKV2?_K8S_\d+", check), value
                assert len(reason) > 40, f"{check} needs a reason"


# --- worker_peers.py ----------------------------------------------------------------------


def load_peers() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("worker_peers", PEERS_SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _StatefulSetAPI(BaseHTTPRequestHandler):
    replicas = 3

    def do_GET(self) -> None:
        if self.path != "/apis/apps/v1/namespaces/insightlite/statefulsets/insightlite-worker":
            self.send_error(404)
            return
        body = json.dumps({"spec": {"replicas": type(self).replicas}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_api() -> Iterator[tuple[str, type[_StatefulSetAPI]]]:
    handler = type("Handler", (_StatefulSetAPI,), {"replicas": 3})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", handler
    finally:
        server.shutdown()
        server.server_close()


def test_peer_addresses_follow_the_process_order() -> None:
    peers = load_peers()
    assert peers.peer_addresses("w", "svc", "ns", 3, 9999) == [
        "w-0.svc.ns.svc:9999",
        "w-1.svc.ns.svc:9999",
        "w-2.svc.ns.svc:9999",
    ]
    assert peers.ordinal("insightlite-worker-11", "insightlite-worker") == 11
    with pytest.raises(ValueError):
        peers.ordinal("other-0", "insightlite-worker")
    with pytest.raises(ValueError):
        peers.peer_addresses("w", "svc", "ns", 0, 9999)


def test_statefulset_replicas_from_the_api(fake_api: tuple[str, Any]) -> None:
    url, handler = fake_api
    peers = load_peers()
    assert peers.statefulset_replicas(url, "insightlite", "insightlite-worker") == 3
    handler.replicas = 5
    assert peers.statefulset_replicas(url, "insightlite", "insightlite-worker") == 5


def _worker_env(tmp_path: Path, api: str, pod: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "INSIGHTLITE_K8S_API": api,
            "BYTEWAX_POD_NAME": pod,
            "BYTEWAX_STATEFULSET_NAME": "insightlite-worker",
            "BYTEWAX_HOSTFILE_PATH": str(tmp_path / "run" / "hostfile.txt"),
            "INSIGHTLITE_WORKER_SERVICE": "insightlite-worker",
            "POD_NAMESPACE": "insightlite",
            "INSIGHTLITE_RECOVERY_DIR": str(tmp_path / "recovery"),
            "INSIGHTLITE_RECOVERY_PARTITIONS": "4",
            "INSIGHTLITE_METRICS_PORT": "0",
        }
    )
    return env


def test_exec_writes_the_hostfile_and_runs_the_command(
    tmp_path: Path, fake_api: tuple[str, Any]
) -> None:
    url, _ = fake_api
    show = (
        "import os, sys; print(open(os.environ['BYTEWAX_HOSTFILE_PATH']).read());"
        " print('ARGS', *sys.argv[1:])"
    )
    result = subprocess.run(
        [sys.executable, str(PEERS_SCRIPT), "exec", "--", sys.executable, "-c", show],
        env=_worker_env(tmp_path, url, "insightlite-worker-0"),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    addresses = [
        f"insightlite-worker-{i}.insightlite-worker.insightlite.svc:9999" for i in range(3)
    ]
    hostfile, _, args = result.stdout.partition("ARGS")
    assert hostfile.split() == addresses
    # The same cluster as `insightlite run` flags.
    assert args.split() == ["--process-id", "0", "--addresses", ";".join(addresses)]
    # Worker 0 created the recovery store with the fixed partition count.
    assert sorted(p.name for p in (tmp_path / "recovery").glob("part-*.sqlite3")) == [
        f"part-{i}.sqlite3" for i in range(4)
    ]
    assert "process 0 of 3" in result.stderr


def test_other_workers_do_not_create_a_recovery_store(
    tmp_path: Path, fake_api: tuple[str, Any]
) -> None:
    url, _ = fake_api
    subprocess.run(
        [sys.executable, str(PEERS_SCRIPT), "exec", "--", sys.executable, "-c", "pass"],
        env=_worker_env(tmp_path, url, "insightlite-worker-2"),
        check=True,
        timeout=60,
    )
    assert not (tmp_path / "recovery").exists()


def test_check_fails_after_a_resize(tmp_path: Path, fake_api: tuple[str, Any]) -> None:
    url, handler = fake_api
    env = _worker_env(tmp_path, url, "insightlite-worker-1")
    subprocess.run(
        [sys.executable, str(PEERS_SCRIPT), "exec", "--", sys.executable, "-c", "pass"],
        env=env,
        check=True,
        timeout=60,
    )

    def check() -> int:
        return subprocess.run(
            [sys.executable, str(PEERS_SCRIPT), "check"], env=env, timeout=60, check=False
        ).returncode

    assert check() == 0
    handler.replicas = 4
    assert check() == 1
    # An unreachable API server is not a reason to restart every worker.
    env["INSIGHTLITE_K8S_API"] = "http://127.0.0.1:9"
    assert check() == 0
