"""The pipeline's topics on a real broker, and the client configuration built from settings."""

from __future__ import annotations

import argparse
import logging
import time
from typing import Any

import pytest
from confluent_kafka.admin import NewTopic
from pydantic import SecretStr

from connectors.kafka.config import client_config
from connectors.kafka.topics import (
    REPLAY_EVENTS,
    TOPIC_BASES,
    KafkaTopicError,
    TopicInfo,
    create_topics,
    describe_topics,
    replay_max_message_bytes,
    replay_max_record_bytes,
    topic_config,
    topic_name,
    topic_names,
)
from devtools.local_kafka import LocalKafka, free_port
from foundation.settings import ConfigError, Settings, load_settings
from insightlite.cli.kafka import add_parser, cmd_kafka, kafka_settings
from tests.kafka_fixture import TopicFactory


def _settings(**overrides: Any) -> Settings:
    return load_settings(**overrides)


def _described(settings: Settings) -> list[TopicInfo]:
    """describe_topics once the broker lists every topic (it does a moment after creation)."""
    deadline = time.monotonic() + 10
    while True:
        infos = describe_topics(settings)
        if all(info.exists for info in infos) or time.monotonic() > deadline:
            return infos
        time.sleep(0.05)


def test_topic_names_carry_the_prefix() -> None:
    settings = _settings(kafka_topic_prefix="staging.")
    assert topic_names(settings) == [f"staging.{base}" for base in TOPIC_BASES]
    assert TOPIC_BASES == (
        "raw_events",
        "processed_events",
        "heatmap_updates",
        "dead_letter",
        "replay_events",
    )
    assert topic_name(settings, "dead_letter") == "staging.dead_letter"
    with pytest.raises(ValueError, match="not one of"):
        topic_name(settings, "raw")


def test_create_topics_is_idempotent(kafka_broker: LocalKafka, kafka_topics: TopicFactory) -> None:
    settings = _settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_partitions=3,
        kafka_retention_hours=2,
    )
    assert create_topics(settings) == topic_names(settings)
    assert create_topics(settings) == []  # second run: nothing to do, no error
    infos = _described(settings)
    assert [info.name for info in infos] == topic_names(settings)
    for info in infos:
        assert info.exists
        assert (info.partitions, info.replication) == (3, 1)
        assert info.retention_ms == 2 * 3_600_000
    limits = {info.name: info.max_message_bytes for info in infos}
    # replay_events holds a whole chunk; the others keep the broker's default (1 MiB).
    assert limits.pop(topic_name(settings, REPLAY_EVENTS)) == replay_max_message_bytes(settings)
    (default,) = set(limits.values())
    assert default is not None and default < replay_max_message_bytes(settings)


def test_replay_events_holds_the_largest_chunk_and_its_record() -> None:
    settings = _settings(collector_replay_max_chunk_bytes=8 * 1024 * 1024)
    record = replay_max_record_bytes(settings)
    assert record == 8 * 1024 * 1024 + 64 * 1024
    # A batch of one largest record: lz4's worst case (1/255) and the batch's framing.
    assert replay_max_message_bytes(settings) >= record + record // 255 + 1024
    assert topic_config(settings, REPLAY_EVENTS)["max.message.bytes"] == str(
        replay_max_message_bytes(settings)
    )
    assert "max.message.bytes" not in topic_config(settings, "raw_events")


def test_existing_topic_with_other_partitions_is_reported_not_changed(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_partitions=4,
    )
    raw = topic_name(settings, "raw_events")
    kafka_topics.admin.create_topics([NewTopic(raw, 1, 1)])[raw].result(timeout=30)
    deadline = time.monotonic() + 10
    while raw not in kafka_topics.admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline  # the broker lists a new topic a moment later
        time.sleep(0.05)
    with caplog.at_level(logging.WARNING, logger="insightlite.kafka"):
        created = create_topics(settings)
    assert raw not in created and len(created) == len(TOPIC_BASES) - 1
    assert any(
        raw in record.getMessage() and "1 partitions" in record.getMessage()
        for record in caplog.records
    )
    partitions = {info.name: info.partitions for info in _described(settings)}
    assert partitions[raw] == 1
    assert partitions[topic_name(settings, "dead_letter")] == 4


def test_missing_topics_are_listed_as_missing(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    settings = _settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
    )
    assert [info.exists for info in describe_topics(settings)] == [False] * len(TOPIC_BASES)


def test_replication_above_the_broker_count_names_the_setting(
    kafka_broker: LocalKafka, kafka_topics: TopicFactory
) -> None:
    settings = _settings(
        kafka_bootstrap_servers=kafka_broker.bootstrap_servers,
        kafka_topic_prefix=kafka_topics.prefix(),
        kafka_replication=3,
    )
    with pytest.raises(KafkaTopicError, match="INSIGHTLITE_KAFKA_REPLICATION is 3"):
        create_topics(settings)


def test_unreachable_broker_is_a_clear_error() -> None:
    settings = _settings(kafka_bootstrap_servers=f"127.0.0.1:{free_port()}")
    with pytest.raises(KafkaTopicError, match=r"cannot reach Kafka at 127\.0\.0\.1"):
        create_topics(settings, timeout=1)


def _run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="insightlite")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["kafka", *argv])
    return cmd_kafka(args, kafka_settings(args))


def test_cli_init_and_topics(
    kafka_broker: LocalKafka,
    kafka_topics: TopicFactory,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = kafka_topics.prefix()
    monkeypatch.setenv("INSIGHTLITE_KAFKA_TOPIC_PREFIX", prefix)
    monkeypatch.setenv("INSIGHTLITE_KAFKA_PARTITIONS", "2")
    bootstrap = ["--bootstrap-servers", kafka_broker.bootstrap_servers]
    assert _run_cli("init", *bootstrap) == 0
    assert capsys.readouterr().out.count("created ") == 5
    assert _run_cli("init", *bootstrap) == 0
    assert capsys.readouterr().out.count("exists ") == 5
    assert _run_cli("topics", *bootstrap) == 0
    listing = capsys.readouterr().out
    assert f"{prefix}raw_events" in listing and "7 d" in listing


def test_cli_without_a_broker_setting_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS", raising=False)
    assert _run_cli("topics") == 2
    assert "INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS" in capsys.readouterr().err


# --- client_config ------------------------------------------------------------


def test_client_config_plaintext() -> None:
    config = client_config(_settings(kafka_bootstrap_servers=" 127.0.0.1:9092, [::1]:9093 "))
    assert config["bootstrap.servers"] == "127.0.0.1:9092,[::1]:9093"
    assert config["security.protocol"] == "PLAINTEXT"
    assert "sasl.username" not in config


def test_client_config_without_bootstrap_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS"):
        client_config(_settings(kafka_bootstrap_servers=""))


@pytest.mark.parametrize("bad", ["localhost", "host:port", "127.0.0.1:99999", "a b:1"])
def test_client_config_rejects_malformed_servers(bad: str) -> None:
    with pytest.raises(ConfigError, match="is not host:port"):
        client_config(_settings(kafka_bootstrap_servers=bad))


def test_client_config_sasl() -> None:
    settings = _settings(
        kafka_bootstrap_servers="broker.internal:9096",
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="collector",
        kafka_sasl_password=SecretStr("s3cret-s3cret"),
    )
    config = client_config(settings)
    assert config["sasl.mechanism"] == "SCRAM-SHA-512"
    assert (config["sasl.username"], config["sasl.password"]) == ("collector", "s3cret-s3cret")


def test_client_config_sasl_without_credentials_names_what_is_missing() -> None:
    settings = _settings(kafka_bootstrap_servers="b:9096", kafka_security_protocol="SASL_SSL")
    with pytest.raises(ConfigError) as info:
        client_config(settings)
    message = str(info.value)
    assert "INSIGHTLITE_KAFKA_SASL_MECHANISM" in message
    assert "INSIGHTLITE_KAFKA_SASL_USERNAME" in message
    assert "INSIGHTLITE_KAFKA_SASL_PASSWORD" in message


def test_client_config_credentials_without_sasl_protocol_are_an_error() -> None:
    settings = _settings(kafka_bootstrap_servers="b:9092", kafka_sasl_username="collector")
    with pytest.raises(ConfigError, match="SASL_SSL"):
        client_config(settings)
