"""The local development broker: a real JVM that starts, answers, restarts and stops."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from devtools import local_kafka
from devtools.local_kafka import (
    KafkaLocalError,
    LocalKafka,
    ensure_kafka_jars,
    free_port,
    random_cluster_id,
)
from tests.e2e.cli import insightlite
from tests.kafka_fixture import TopicFactory, read_topic


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    errors: list[object] = []
    for value in values:
        producer.produce(topic, value, on_delivery=lambda err, _msg: errors.append(err))
    assert producer.flush(30) == 0
    assert errors == [None] * len(values)


def test_session_broker_round_trips_records(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    (topic,) = kafka_topics("roundtrip", partitions=2)
    _produce(kafka_broker.bootstrap_servers, topic, [b"one", b"two", b"three"])
    records = read_topic(kafka_broker.bootstrap_servers, topic, 3)
    assert sorted(message.value() or b"" for message in records) == [b"one", b"three", b"two"]
    assert kafka_broker.bootstrap_servers.startswith("127.0.0.1:")


def test_broker_does_not_create_topics_on_use(kafka_broker: LocalKafka) -> None:
    # auto.create.topics.enable=false: a typo in a topic name must fail, not invent a topic.
    producer = Producer(
        {"bootstrap.servers": kafka_broker.bootstrap_servers, "message.timeout.ms": 2000}
    )
    errors: list[object] = []
    producer.produce("no-such-topic", b"x", on_delivery=lambda err, _msg: errors.append(err))
    producer.flush(10)
    assert errors and errors[0] is not None
    admin = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers})
    assert "no-such-topic" not in admin.list_topics(timeout=10).topics


def test_jars_are_cached_and_maven_is_not_run_again(monkeypatch: pytest.MonkeyPatch) -> None:
    first = ensure_kafka_jars()
    # With the cache in place Maven must not be needed at all.
    monkeypatch.setattr(local_kafka.shutil, "which", lambda _name: None)
    assert ensure_kafka_jars() == first
    assert any(first.glob("kafka_2.13-*.jar"))


def test_kafka_home_override_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "kafka_2.13-9.9.9.jar").write_bytes(b"")
    monkeypatch.setenv(local_kafka.KAFKA_HOME_ENV, str(tmp_path))
    assert ensure_kafka_jars() == lib


def test_cluster_ids_never_look_like_an_option() -> None:
    # A leading '-' made the storage formatter's argument parser fail, 1 start in 32.
    ids = [random_cluster_id() for _ in range(2_000)]
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)


def test_stale_data_dirs_of_dead_processes_are_removed() -> None:
    stale = Path(tempfile.mkdtemp(prefix=local_kafka.TEMP_DIR_PREFIX))
    (stale / "owner.pid").write_text(f"{_exited_pid()}\n")
    live = Path(tempfile.mkdtemp(prefix=local_kafka.TEMP_DIR_PREFIX))
    (live / "owner.pid").write_text(f"{os.getpid()}\n")
    try:
        removed = local_kafka.remove_stale_data_dirs()
        assert stale in removed and not stale.exists()
        assert live.exists()
    finally:
        shutil.rmtree(live, ignore_errors=True)
        shutil.rmtree(stale, ignore_errors=True)


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_bootstrap_servers_before_start_is_a_clear_error() -> None:
    with pytest.raises(KafkaLocalError, match="start"):
        _ = LocalKafka().bootstrap_servers


def test_own_broker_restarts_with_its_data_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    broker = LocalKafka(port=port)
    try:
        broker.start()
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
        admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
        admin.create_topics([NewTopic("kept", 1, 1)])["kept"].result(timeout=30)
        _produce(broker.bootstrap_servers, "kept", [b"before-restart"])
        data_dir = broker.data_dir
        assert data_dir is not None and (data_dir / "server.log").exists()

        broker.restart()  # clean stop and start: same port, same data
        assert broker.bootstrap_servers == f"127.0.0.1:{port}"
        _produce(broker.bootstrap_servers, "kept", [b"after-restart"])
        values = [m.value() for m in read_topic(broker.bootstrap_servers, "kept", 2)]
        assert values == [b"before-restart", b"after-restart"]

        broker.kill()  # a crash: the data survives for the next start
        assert not broker.running
        started = time.monotonic()
        broker.restart()
        assert time.monotonic() - started < 30
        values = [m.value() for m in read_topic(broker.bootstrap_servers, "kept", 2)]
        assert values == [b"before-restart", b"after-restart"]
    finally:
        broker.stop()
    assert not broker.running
    assert not data_dir.exists(), "stop() deletes the temporary data directory"


def test_a_port_taken_meanwhile_is_replaced_and_a_given_data_dir_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "kafka"
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        # The first "free" port handed out is taken by the time the JVM binds it.
        handed_out = iter([taken])
        real_free_port = local_kafka.free_port
        monkeypatch.setattr(
            local_kafka,
            "free_port",
            lambda host="127.0.0.1": next(handed_out, 0) or real_free_port(host),
        )
        with LocalKafka(data_dir=data_dir) as broker:
            assert broker.running and broker.port != taken
            assert "Address already in use" not in broker.log_tail()
    assert (data_dir / "logs" / "meta.properties").exists(), "a given data dir is kept"


def test_a_broker_that_cannot_start_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The controller's port is taken by someone else: the JVM exits and the error
    # carries its log.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        handed_out = iter([taken])
        real_free_port = local_kafka.free_port
        monkeypatch.setattr(
            local_kafka,
            "free_port",
            lambda host="127.0.0.1": next(handed_out, 0) or real_free_port(host),
        )
        broker = LocalKafka(port=real_free_port(), data_dir=tmp_path / "kafka")
        with pytest.raises(KafkaLocalError, match=r"exited during start") as failure:
            broker.start(timeout=60)
        assert "Address already in use" in str(failure.value)  # the cause, not only the end
        assert not broker.running
    assert os.path.exists(tmp_path / "kafka" / "server.log")


def test_a_given_port_already_taken_is_refused_up_front(
    kafka_broker: LocalKafka, tmp_path: Path
) -> None:
    port = kafka_broker.port
    assert port is not None
    broker = LocalKafka(port=port, data_dir=tmp_path / "kafka")
    with pytest.raises(KafkaLocalError, match=rf"port {port} on 127\.0\.0\.1 is already in use"):
        broker.start(timeout=60)
    assert not broker.running
    # The broker already there is untouched.
    assert (
        AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers})
        .list_topics(timeout=10)
        .brokers
    )


def test_another_broker_answering_on_the_port_is_not_taken_for_ours(
    kafka_broker: LocalKafka, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the up-front check (a port taken between the check and the JVM's bind),
    # the session broker answers on the port while the new JVM fails to bind: start()
    # must report the failure, not call the other broker ready.
    monkeypatch.setattr(local_kafka, "port_in_use", lambda _host, _port: False)
    broker = LocalKafka(port=kafka_broker.port, data_dir=tmp_path / "kafka")
    with pytest.raises(KafkaLocalError, match=r"exited during start"):
        broker.start(timeout=60)
    assert not broker.running


def test_kafka_broker_command_refuses_a_port_taken_by_another_broker(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    prefix = kafka_topics.prefix()
    result = insightlite(
        "kafka",
        "broker",
        "--port",
        str(kafka_broker.port),
        "--init",
        env={"INSIGHTLITE_KAFKA_TOPIC_PREFIX": prefix},
        check=False,
    )
    assert result.returncode == 1
    assert f"port {kafka_broker.port} on 127.0.0.1 is already in use" in result.stderr
    assert "ready" not in result.stdout
    # Nothing was created on the other broker.
    listed = AdminClient({"bootstrap.servers": kafka_broker.bootstrap_servers}).list_topics(
        timeout=10
    )
    assert not [name for name in listed.topics if name.startswith(prefix)]
