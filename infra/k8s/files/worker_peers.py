"""Peer list of an InsightLite flow worker pod, kept equal to the StatefulSet's size.

A Bytewax cluster is fixed when its processes start: each one is given the
addresses of all the others and its own index. The worker StatefulSet is resized
by its HorizontalPodAutoscaler (or by hand), which changes `spec.replicas` but
restarts no pod. So every worker pod runs through this script, mounted from a
ConfigMap and run by the image's Python (no extra dependency):

``exec -- insightlite run --input kafka``
    reads `spec.replicas` of the StatefulSet from the Kubernetes API, writes the
    hostfile Bytewax reads (BYTEWAX_HOSTFILE_PATH: one
    ``<statefulset>-<i>.<service>.<namespace>.svc:<port>`` line per replica),
    creates the recovery store on worker 0 when there is none, then replaces
    itself with the command followed by ``--process-id <i> --addresses <a;b;...>``
    (the same cluster, given as the flags `insightlite run` takes).

``check``
    the liveness probe: fails when the StatefulSet's size differs from the
    hostfile this process started with (kubelet restarts the container, which
    runs `exec` again with the new size: a resize restarts every process, and
    Bytewax resumes from the recovery store with the new cluster), or when the
    worker's /health endpoint does not answer. An unreachable API server is not a
    failure: restarting every worker during a control-plane hiccup helps no one.

The recovery store lives on worker 0's volume only. Worker 0 always exists
whatever the size, so no scale-down can strand a partition on a deleted pod's
volume; its partition count (INSIGHTLITE_RECOVERY_PARTITIONS) is fixed when it is
created and should be the largest worker count ever used (the Kafka partitions).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def ordinal(pod_name: str, statefulset: str) -> int:
    """The index of a StatefulSet pod from its name (`<statefulset>-<index>`)."""
    prefix = statefulset + "-"
    if not pod_name.startswith(prefix) or not pod_name[len(prefix) :].isdigit():
        raise ValueError(f"pod {pod_name!r} is not a pod of the StatefulSet {statefulset!r}")
    return int(pod_name[len(prefix) :])


def peer_addresses(
    statefulset: str, service: str, namespace: str, replicas: int, port: int
) -> list[str]:
    """The address of every process, in process-index order (Bytewax's -a order)."""
    if replicas < 1:
        raise ValueError("a worker cluster has at least one process")
    return [f"{statefulset}-{i}.{service}.{namespace}.svc:{port}" for i in range(replicas)]


def api_base() -> str:
    override = os.environ.get("INSIGHTLITE_K8S_API")
    if override:
        return override.rstrip("/")
    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"https://{host}:{port}"


def statefulset_replicas(api: str, namespace: str, name: str, timeout: float = 5.0) -> int:
    """`spec.replicas` of the StatefulSet, read with the pod's service-account token."""
    request = urllib.request.Request(
        f"{api}/apis/apps/v1/namespaces/{namespace}/statefulsets/{name}"
    )
    token_file = SERVICE_ACCOUNT_DIR / "token"
    if token_file.exists():
        request.add_header("Authorization", "Bearer " + token_file.read_text().strip())
    context = None
    if api.startswith("https://"):
        context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT_DIR / "ca.crt"))
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
        body = json.load(response)
    return int(body["spec"].get("replicas", 1))


def ensure_recovery_store(directory: str, partitions: int) -> bool:
    """Create the recovery partitions when the directory holds none; True if created."""
    path = Path(directory)
    if any(path.glob("part-*.sqlite3")):
        return False
    from bytewax.recovery import init_db_dir  # only worker 0 needs Bytewax here

    path.mkdir(parents=True, exist_ok=True)
    init_db_dir(path, partitions)
    return True


def _settings() -> dict[str, str]:
    env = os.environ
    return {
        "pod": env["BYTEWAX_POD_NAME"],
        "statefulset": env["BYTEWAX_STATEFULSET_NAME"],
        "hostfile": env["BYTEWAX_HOSTFILE_PATH"],
        "service": env["INSIGHTLITE_WORKER_SERVICE"],
        "namespace": env["POD_NAMESPACE"],
        "port": env.get("INSIGHTLITE_WORKER_PORT", "9999"),
    }


def cmd_exec(command: list[str]) -> int:
    if not command:
        print("worker_peers: exec needs a command after --", file=sys.stderr)
        return 2
    s = _settings()
    replicas = statefulset_replicas(api_base(), s["namespace"], s["statefulset"])
    addresses = peer_addresses(
        s["statefulset"], s["service"], s["namespace"], replicas, int(s["port"])
    )
    Path(s["hostfile"]).parent.mkdir(parents=True, exist_ok=True)
    Path(s["hostfile"]).write_text("\n".join(addresses) + "\n")
    index = ordinal(s["pod"], s["statefulset"])
    recovery_dir = os.environ.get("INSIGHTLITE_RECOVERY_DIR", "")
    if index == 0 and recovery_dir:
        partitions = int(os.environ.get("INSIGHTLITE_RECOVERY_PARTITIONS", str(replicas)))
        if ensure_recovery_store(recovery_dir, partitions):
            print(f"worker_peers: created {partitions} recovery partitions", file=sys.stderr)
    print(f"worker_peers: process {index} of {replicas}", file=sys.stderr)
    sys.stderr.flush()
    argv = [*command, "--process-id", str(index), "--addresses", ";".join(addresses)]
    os.execvp(argv[0], argv)
    return 0  # not reached


def cmd_check() -> int:
    s = _settings()
    try:
        started_with = len(
            [line for line in Path(s["hostfile"]).read_text().splitlines() if line.strip()]
        )
    except FileNotFoundError:
        print("worker_peers: no hostfile", file=sys.stderr)
        return 1
    try:
        replicas = statefulset_replicas(api_base(), s["namespace"], s["statefulset"])
    except (OSError, urllib.error.URLError, ValueError, KeyError) as exc:
        print(f"worker_peers: API not reachable ({exc}); not a liveness failure", file=sys.stderr)
        replicas = started_with
    if replicas != started_with:
        print(
            f"worker_peers: started with {started_with} peers, StatefulSet has {replicas}",
            file=sys.stderr,
        )
        return 1
    port = os.environ.get("INSIGHTLITE_METRICS_PORT", "")
    if port and port != "0":
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3) as response:
                if response.status != 200:
                    return 1
        except OSError as exc:
            print(f"worker_peers: /health failed ({exc})", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"]:
        return cmd_check()
    if argv[:1] == ["exec"]:
        rest = argv[1:]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return cmd_exec(rest)
    print("usage: worker_peers.py exec -- COMMAND... | check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
