"""The image: read from the Dockerfile (Docker itself does not run on the machines
that run these tests), and its HEALTHCHECK command run for real. The dashboard's build
itself is checked by `./dev dashboard` (the same `npm ci` and `npm run build`)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from tests.infra.render import ROOT

DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> list[Stage]:
    """Dockerfile instructions by stage, continuation lines joined, comments dropped."""
    logical: list[str] = []
    current = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#") and current:
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        logical.append(current + stripped)
        current = ""
    stages: list[Stage] = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args.strip(), re.I)
            assert match, line
            stages.append(Stage(base=match.group(1), name=match.group(2) or ""))
        elif stages:
            stages[-1].instructions.append((keyword, args.strip()))
    return stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text())


def stage(stages: list[Stage], name: str) -> Stage:
    (found,) = [s for s in stages if s.name == name]
    return found


def test_multi_stage_on_slim_bases(stages: list[Stage]) -> None:
    assert [stage.name for stage in stages] == ["dashboard", "builder", "runtime"]
    for python_stage in stages[1:]:
        assert re.fullmatch(r"python:3\.11-slim(-\w+)?(@sha256:[0-9a-f]{64})?", python_stage.base)
    # Vite 7 needs Node.js 20.19 or newer: a Node 20 or later image.
    match = re.fullmatch(r"node:(\d+)(\.\d+)*-(\w+-)?slim(@sha256:[0-9a-f]{64})?", stages[0].base)
    assert match and int(match.group(1)) >= 20, stages[0].base


def test_dashboard_stage_builds_from_the_lock_file(stages: list[Stage]) -> None:
    dashboard = stage(stages, "dashboard")
    steps = [f"{keyword} {args}" for keyword, args in dashboard.instructions]
    manifests = steps.index("COPY dashboard/package.json dashboard/package-lock.json ./")
    install = steps.index("RUN npm ci --no-audit --no-fund")
    sources = steps.index("COPY dashboard ./")
    build = steps.index("RUN npm run build")
    # The packages before the sources, so a change of source reuses the package layer.
    assert manifests < install < sources < build


def test_builder_installs_the_wheel_into_a_venv(stages: list[Stage]) -> None:
    builder = stage(stages, "builder")
    runs = " ".join(builder.all("RUN"))
    assert "python -m venv /opt/venv" in runs
    assert re.search(r"pip wheel --no-deps --wheel-dir /wheels \.", runs)
    assert "/opt/venv/bin/pip install /wheels/insightlite-" in runs
    copied = " ".join(builder.all("COPY"))
    # Every package the wheel is built from, read from pyproject.toml.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert packages
    for package in packages:
        assert f"{package} ./{package}" in builder.all("COPY"), package
    assert "pyproject.toml" in copied


def test_runtime_copies_only_the_venv_and_the_dashboard_and_runs_as_non_root(
    stages: list[Stage],
) -> None:
    runtime = stage(stages, "runtime")
    copies = runtime.all("COPY")
    assert copies == [
        "--from=builder /opt/venv /opt/venv",
        "--from=dashboard /dashboard/dist /opt/insightlite/dashboard",
    ]
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid not in ("root", "0") and int(uid) >= 10000
    runs = " ".join(runtime.all("RUN"))
    assert "useradd" in runs and "--uid 10001" in runs
    assert not re.search(r"apt-get install|gcc|build-essential", runs)
    env = " ".join(runtime.all("ENV"))
    assert "PATH=/opt/venv/bin:$PATH" in env
    # The API serves the dashboard from where the image put it.
    assert "INSIGHTLITE_API_DASHBOARD_DIR=/opt/insightlite/dashboard" in env.split()


def test_entrypoint_and_healthcheck(stages: list[Stage]) -> None:
    runtime = stage(stages, "runtime")
    (entrypoint,) = runtime.all("ENTRYPOINT")
    assert json.loads(entrypoint) == ["insightlite"]
    (healthcheck,) = runtime.all("HEALTHCHECK")
    options, _, command = healthcheck.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = json.loads(command)
    assert argv[:2] == ["python", "-c"]
    assert "/health" in argv[2]


def test_dockerignore_keeps_the_context_small() -> None:
    patterns = {
        line.strip()
        for line in DOCKERIGNORE.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for pattern in (
        ".git",
        ".venv",
        "tests",
        "insightlite-data",
        "**/__pycache__",
        "infra",
        "*.tfstate",
        "dashboard/node_modules",
        "dashboard/dist",
    ):
        assert pattern in patterns, pattern
    # What the builders copy must not be ignored.
    for needed in ("pyproject.toml", "README.md", "insightlite", "api", "dashboard"):
        assert needed not in patterns


def healthcheck_command() -> str:
    (stage,) = [s for s in parse(DOCKERFILE.read_text()) if s.name == "runtime"]
    (healthcheck,) = stage.all("HEALTHCHECK")
    return str(json.loads(healthcheck.partition("CMD ")[2])[2])


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def run_healthcheck(port: str) -> int:
    env = dict(os.environ, INSIGHTLITE_HEALTH_PORT=port)
    return subprocess.run(
        [sys.executable, "-c", healthcheck_command()],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    ).returncode


def test_healthcheck_passes_on_a_healthy_service(health_server: int) -> None:
    assert run_healthcheck(str(health_server)) == 0


def test_healthcheck_fails_when_nothing_answers() -> None:
    assert run_healthcheck("9") != 0


def test_healthcheck_ignores_one_off_commands() -> None:
    # A job (schema apply, kafka init) serves nothing: port "0" means healthy.
    assert run_healthcheck("0") == 0
