"""A real single-node Apache Kafka broker on loopback, for development and tests.

    from devtools.local_kafka import LocalKafka

    with LocalKafka() as kafka:
        producer = Producer({"bootstrap.servers": kafka.bootstrap_servers})

The broker's jars come from Maven Central through Maven (``scripts/kafka/pom.xml``),
once, into a cache outside the work tree: ``$INSIGHTLITE_KAFKA_HOME`` when set, else
``$XDG_CACHE_HOME/insightlite/kafka-<version>`` (``~/.cache/...``). The broker runs as a
child JVM in KRaft mode (one process is both broker and controller) on free loopback
ports, with its data, configuration and log (``server.log``) in a temporary directory
that ``stop()`` deletes.

Needs Java 17 or newer, and Maven the first time (when the jars are not cached yet).
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

KAFKA_HOME_ENV = "INSIGHTLITE_KAFKA_HOME"
POM_PATH = Path(__file__).resolve().parent.parent / "scripts" / "kafka" / "pom.xml"
MIN_JAVA_MAJOR = 17
JVM_HEAP = "-Xmx512m"
_COMPLETE_MARKER = ".complete"
TEMP_DIR_PREFIX = "insightlite-kafka-"
_OWNER_FILE = "owner.pid"
_PORT_ATTEMPTS = 3
_LOG_TAIL_BYTES = 4000


class KafkaLocalError(RuntimeError):
    """The local broker could not be fetched, started or stopped; the message says why."""


def kafka_version() -> str:
    """The Kafka version the pom asks for (its ``kafka.version`` property)."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", _read_pom())
    if not match:
        raise KafkaLocalError(f"no <kafka.version> property in {POM_PATH.name}")
    return match.group(1).strip()


def _read_pom() -> str:
    try:
        return POM_PATH.read_text(encoding="utf-8")
    except OSError as exc:
        raise KafkaLocalError(
            f"cannot read the Kafka pom (scripts/kafka/pom.xml of the source tree): {exc}; "
            f"run from a source checkout or set {KAFKA_HOME_ENV} to a directory whose lib/ "
            "holds the broker's jars"
        ) from None


def kafka_home() -> Path:
    """Where the broker's jars are cached (they live in its ``lib/``)."""
    configured = os.environ.get(KAFKA_HOME_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    cache_root = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache_root) / "insightlite" / f"kafka-{kafka_version()}"


def _java_command() -> str | None:
    java_home = os.environ.get("JAVA_HOME", "").strip()
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which("java")


def _java_major(java: str) -> int | None:
    try:
        completed = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    # `java -version` prints e.g. 'openjdk version "17.0.15" 2025-04-15' (or "1.8.0_..."
    # for Java 8) on stderr.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', completed.stderr + completed.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def java_available() -> bool:
    """True when a Java runtime new enough for the Kafka 4 broker (17+) is installed."""
    java = _java_command()
    if java is None:
        return False
    major = _java_major(java)
    return major is not None and major >= MIN_JAVA_MAJOR


def _jar_dir(home: Path) -> Path | None:
    """The jar directory under ``home``: ours (lib/) or an unpacked Kafka release (libs/)."""
    for name in ("lib", "libs"):
        candidate = home / name
        if any(candidate.glob("kafka_2.13-*.jar")):
            return candidate
    return None


def _pom_digest() -> str:
    return hashlib.sha256(_read_pom().encode()).hexdigest()


@contextlib.contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Serialise fetches between processes (parallel test sessions share the cache)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_kafka_jars() -> Path:
    """The directory holding the broker's jars, fetching them with Maven only when missing.

    Idempotent and safe to call from several processes at once. A directory named by
    ``INSIGHTLITE_KAFKA_HOME`` that already holds jars (``lib/`` or, from a Kafka
    release, ``libs/``) is used as it is.
    """
    home = kafka_home()
    configured = bool(os.environ.get(KAFKA_HOME_ENV, "").strip())
    existing = _jar_dir(home)
    if existing is not None and (configured or _cache_is_current(home)):
        return existing
    with _exclusive_lock(home.parent / f".{home.name}.lock"):
        existing = _jar_dir(home)
        if existing is not None and (configured or _cache_is_current(home)):
            return existing
        return _fetch_jars(home)


def _cache_is_current(home: Path) -> bool:
    # The marker holds the pom's digest: editing the pom (a new Kafka or Log4j version)
    # refetches instead of silently running stale jars.
    marker = home / _COMPLETE_MARKER
    try:
        return marker.read_text().strip() == _pom_digest()
    except OSError:
        return False


def _fetch_jars(home: Path) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaLocalError(
            "Maven (mvn) is needed once to fetch the Kafka broker's jars and is not installed "
            f"(Debian: apt-get install maven); or set {KAFKA_HOME_ENV} to a directory whose "
            "lib/ holds them"
        )
    home.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="lib.fetching-", dir=home))
    print(f"fetching the Kafka {kafka_version()} broker's jars with Maven ...", file=sys.stderr)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(POM_PATH),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=900, check=False
        )
    except subprocess.TimeoutExpired:
        shutil.rmtree(staging, ignore_errors=True)
        raise KafkaLocalError("Maven did not fetch the Kafka jars within 15 minutes") from None
    if completed.returncode != 0 or not any(staging.glob("kafka_2.13-*.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        output = (completed.stdout + completed.stderr).strip()[-_LOG_TAIL_BYTES:]
        raise KafkaLocalError(
            f"Maven failed to fetch the Kafka jars (exit {completed.returncode}):\n{output}"
        )
    lib = home / "lib"
    shutil.rmtree(lib, ignore_errors=True)
    staging.rename(lib)
    (home / _COMPLETE_MARKER).write_text(_pom_digest() + "\n")
    return lib


def _first_errors(lines: list[str], limit: int = 4) -> list[str]:
    """The first ERROR/FATAL log lines, each with the exception line Log4j prints below it."""
    found: list[str] = []
    for index, line in enumerate(lines):
        if " ERROR " in line or " FATAL " in line:
            found.append(line)
            following = lines[index + 1] if index + 1 < len(lines) else ""
            if following and not following.startswith("["):
                found.append("    " + following.strip())
            if len(found) >= 2 * limit:
                break
    return found


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def remove_stale_data_dirs() -> list[Path]:
    """Delete temporary broker directories whose owning process is gone (a run killed
    hard cannot clean up after itself); returns what was deleted."""
    removed: list[Path] = []
    for candidate in Path(tempfile.gettempdir()).glob(f"{TEMP_DIR_PREFIX}*"):
        try:
            owner = int((candidate / _OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if not _process_exists(owner):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """True when a listening socket could not be bound to ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the JVM binds: a port left in TIME_WAIT by a broker just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def random_cluster_id() -> str:
    """A KRaft cluster id as Kafka's Uuid.randomUuid() makes it: URL-safe base64 of 16
    random bytes without padding, never starting with '-' (a command-line parser would
    take it for an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _parent_death_prefix() -> list[str]:
    """A command prefix that makes Linux SIGTERM the broker if this process dies.

    Without it a test run killed hard (timeout, SIGKILL) leaves a JVM holding ports and
    memory. util-linux's setpriv sets the signal and execs the JVM, so no Python runs in
    the forked child (unsafe with threads). Linux sends the signal when the *thread*
    that started the child exits, so it is only used from the main thread: a broker
    started from a short-lived thread would otherwise die with that thread.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return []
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


class LocalKafka:
    """One KRaft broker+controller JVM on 127.0.0.1, started and stopped by this object.

    ``data_dir``: where its configuration, log segments and ``server.log`` go; by default
    a new temporary directory that ``stop()`` deletes (a given directory is kept).
    ``port``: the client port; by default a free one. The controller listens on a second
    free port. ``restart()`` keeps both ports and the data.
    """

    HOST = "127.0.0.1"

    def __init__(self, *, data_dir: Path | None = None, port: int | None = None) -> None:
        self._given_data_dir = data_dir
        self._data_dir: Path | None = data_dir
        self._port = port
        self._controller_port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._jar_dir: Path | None = None
        self._output: BinaryIO | None = None

    # --- public API ---------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        """``127.0.0.1:<port>``, for ``bootstrap.servers``; known once started."""
        if self._port is None:
            raise KafkaLocalError("the broker has no port yet: call start() first")
        return f"{self.HOST}:{self._port}"

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def data_dir(self) -> Path | None:
        return self._data_dir

    @property
    def log_path(self) -> Path | None:
        """The broker's own log file (Log4j), for diagnosing a failed test."""
        return None if self._data_dir is None else self._data_dir / "server.log"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 90) -> None:
        """Format the storage (first start only), launch the JVM, wait until it answers."""
        if self.running:
            return
        if not java_available():
            raise KafkaLocalError(f"the Kafka broker needs Java {MIN_JAVA_MAJOR} or newer")
        self._jar_dir = ensure_kafka_jars()
        if self._data_dir is None:
            remove_stale_data_dirs()
            self._data_dir = Path(tempfile.mkdtemp(prefix=TEMP_DIR_PREFIX))
            (self._data_dir / _OWNER_FILE).write_text(f"{os.getpid()}\n")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        pick_port = self._port is None
        if self._port is not None and port_in_use(self.HOST, self._port):
            # Refused up front: a client would otherwise reach whatever listens there
            # (another broker) and take it for this one while the JVM fails to bind.
            raise KafkaLocalError(
                f"port {self._port} on {self.HOST} is already in use (another Kafka broker?): "
                "stop what listens there or choose another port"
            )
        for attempt in range(1, _PORT_ATTEMPTS + 1):
            if self._port is None:
                self._port = free_port(self.HOST)
            if self._controller_port is None:
                self._controller_port = free_port(self.HOST)
                while self._controller_port == self._port:
                    self._controller_port = free_port(self.HOST)
            config = self._write_config()
            fresh = not (self._data_dir / "logs" / "meta.properties").exists()
            if fresh:
                self._format_storage(config)
            self._launch(config)
            try:
                self._wait_until_answering(timeout)
                return
            except KafkaLocalError:
                self._terminate(timeout=10)
                # A free port can be taken by another process between our probe and the
                # JVM's bind. Only a first start may move: the storage format records
                # the controller's address, so a broker with data keeps its ports.
                if not (fresh and pick_port and attempt < _PORT_ATTEMPTS and self._port_clash()):
                    raise
                shutil.rmtree(self._data_dir / "logs", ignore_errors=True)
                for name in ("kafka.out", "server.log"):
                    (self._data_dir / name).unlink(missing_ok=True)
                self._port = self._controller_port = None
            except BaseException:
                self._terminate(timeout=10)
                raise

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM, wait up to ``timeout`` s, SIGKILL; then delete a temporary data dir."""
        self._terminate(timeout)
        if self._data_dir is not None and self._given_data_dir is None:
            shutil.rmtree(self._data_dir, ignore_errors=True)
            self._data_dir = None
            # A later start() gets fresh data; the ports may be kept.
            self._controller_port = None

    def restart(self) -> None:
        """Stop the broker cleanly and start it again on the same ports with the same data."""
        self._terminate(timeout=20)
        self.start()

    def kill(self) -> None:
        """SIGKILL the broker, as a crash; the data stays for ``restart()``."""
        process = self._process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        self._close_output()

    def __enter__(self) -> LocalKafka:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"LocalKafka({self.HOST}:{self._port}, {state})"

    # --- internals ----------------------------------------------------------

    def _write_config(self) -> Path:
        assert self._data_dir is not None
        listeners = (
            f"PLAINTEXT://{self.HOST}:{self._port},CONTROLLER://{self.HOST}:{self._controller_port}"
        )
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.bootstrap.servers": f"{self.HOST}:{self._controller_port}",
            "listeners": listeners,
            "advertised.listeners": listeners,
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self._data_dir / "logs"),
            "auto.create.topics.enable": "false",
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            # One partition instead of 50: creating __consumer_offsets on the first group
            # commit is otherwise seconds of work on a small machine.
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            # After a kill() the controller keeps the dead incarnation registered until its
            # session expires (9 s by default); a short session makes restart() quick.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            # Few threads: a development broker shares two cores with the tests.
            "num.network.threads": "2",
            "num.io.threads": "4",
            "num.recovery.threads.per.data.dir": "1",
            "log.cleaner.threads": "1",
        }
        config = self._data_dir / "server.properties"
        config.write_text("".join(f"{key}={value}\n" for key, value in properties.items()))
        log4j = self._data_dir / "log4j2.properties"
        log4j.write_text(
            "status = warn\n"
            "appender.file.type = File\n"
            "appender.file.name = file\n"
            f"appender.file.fileName = {self._data_dir / 'server.log'}\n"
            "appender.file.layout.type = PatternLayout\n"
            "appender.file.layout.pattern = [%d] %p %m (%c)%n\n"
            "rootLogger.level = INFO\n"
            "rootLogger.appenderRef.file.ref = file\n"
            "logger.kafka.name = org.apache.kafka\n"
            "logger.kafka.level = INFO\n"
        )
        return config

    def _java_base(self) -> list[str]:
        assert self._data_dir is not None and self._jar_dir is not None
        java = _java_command()
        if java is None:
            raise KafkaLocalError("no java on PATH (nor JAVA_HOME)")
        return [
            java,
            JVM_HEAP,
            "-Xms64m",
            "-XX:+UseSerialGC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self._data_dir / 'log4j2.properties'}",
            # Log4j's own shutdown hook races the broker's; the broker flushes on exit.
            "-Dlog4j2.shutdownHookEnabled=false",
            f"-Dkafka.logs.dir={self._data_dir}",
            "-cp",
            str(self._jar_dir / "*"),
        ]

    def _format_storage(self, config: Path) -> None:
        command = [
            *self._java_base(),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            random_cluster_id(),
            "--config",
            str(config),
            "--standalone",
        ]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False
        )
        if completed.returncode != 0:
            output = (completed.stdout + completed.stderr).strip()[-_LOG_TAIL_BYTES:]
            raise KafkaLocalError(
                f"formatting the Kafka storage failed (exit {completed.returncode}):\n{output}"
            )

    def _launch(self, config: Path) -> None:
        assert self._data_dir is not None
        self._close_output()
        # The JVM's own stdout/stderr (crashes before Log4j starts) go to a file: a pipe
        # nobody reads would block the broker once full.
        self._output = (self._data_dir / "kafka.out").open("ab")
        self._process = subprocess.Popen(
            [*_parent_death_prefix(), *self._java_base(), "kafka.Kafka", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C in a terminal reaches us, and we stop the broker in
            # order, instead of both racing for the signal.
            start_new_session=True,
        )

    def _close_output(self) -> None:
        output = self._output
        if output is not None:
            output.close()
            self._output = None

    def _wait_until_answering(self, timeout: float) -> None:
        from confluent_kafka import KafkaException
        from confluent_kafka.admin import AdminClient

        deadline = time.monotonic() + timeout
        admin = AdminClient(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "socket.connection.setup.timeout.ms": 2000,
                "reconnect.backoff.max.ms": 500,
                # librdkafka logs each refused connection while the JVM boots.
                "log_level": 0,
            }
        )
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise KafkaLocalError(
                    f"the Kafka broker exited during start (exit {code}):\n{self.log_tail()}"
                )
            try:
                metadata = admin.list_topics(timeout=2)
            except KafkaException as exc:
                last_error = str(exc)
                time.sleep(0.2)
                continue
            # A broker appears in the metadata only once it is registered and unfenced,
            # that is, able to host partitions.
            if metadata.brokers and self._answered_by_own_broker(metadata.cluster_id):
                return
            time.sleep(0.2)
        raise KafkaLocalError(
            f"the Kafka broker did not answer within {timeout:.0f} s ({last_error}):\n"
            f"{self.log_tail()}"
        )

    def _answered_by_own_broker(self, cluster_id: str | None) -> bool:
        """Whether the broker that answered is the JVM started here, still alive.

        Another broker on the same port answers while ours fails to bind and exits:
        its cluster id is not the one our storage was formatted with.
        """
        process = self._process
        if process is None or process.poll() is not None:
            return False  # the next check of the loop reports the exit with the log
        own = self._cluster_id()
        return own is None or cluster_id == own

    def _cluster_id(self) -> str | None:
        """The cluster id recorded in this broker's storage (``meta.properties``)."""
        assert self._data_dir is not None
        with contextlib.suppress(OSError):
            for line in (self._data_dir / "logs" / "meta.properties").read_text().splitlines():
                key, _, value = line.partition("=")
                if key.strip() == "cluster.id" and value.strip():
                    return value.strip()
        return None

    def _terminate(self, timeout: float) -> None:
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
        self._process = None
        self._close_output()

    def _output_files(self) -> list[Path]:
        if self._data_dir is None:
            return []
        return [self._data_dir / "kafka.out", self._data_dir / "server.log"]

    def _port_clash(self) -> bool:
        for path in self._output_files():
            with contextlib.suppress(OSError):
                if b"Address already in use" in path.read_bytes():
                    return True
        return False

    def log_tail(self) -> str:
        """Why the broker failed: its first ERROR lines and the end of its output."""
        parts = []
        for path in self._output_files():
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                errors = _first_errors(data.decode(errors="replace").splitlines())
                tail = data[-_LOG_TAIL_BYTES:].decode(errors="replace")
                if errors:
                    parts.append(f"--- first errors in {path.name} ---\n" + "\n".join(errors))
                parts.append(f"--- end of {path.name} ---\n{tail}")
        return "\n".join(parts) or "(no broker output)"
