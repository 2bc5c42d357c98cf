"""The `insightlite kafka` command: a local broker and the pipeline's topics.

    insightlite kafka broker [--port P] [--init]   run a local broker until Ctrl-C
    insightlite kafka init   [--bootstrap-servers HOST:PORT]   create the topics (idempotent)
    insightlite kafka topics [--bootstrap-servers HOST:PORT]   list them

Exit codes: 0 done, 1 Kafka unreachable or refused, 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_logging_flags, set_command, settings_from_args

# How long a command waits for an unreachable broker before saying so.
CLI_TIMEOUT_S = 10.0


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1-65535, got {value}")
    return value


def _bootstrap_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help="Kafka brokers (INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS)",
    )


def add_parser(subparsers: Any) -> None:
    """Add the ``kafka`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    kafka = subparsers.add_parser(
        "kafka",
        help="run a local Kafka broker; create and list the pipeline's topics",
        description="A local development broker and the pipeline's Kafka topics "
        "(raw_events, processed_events, heatmap_updates, dead_letter, replay_events).",
    )
    kafka_sub = kafka.add_subparsers(dest="kafka_command", required=True)

    broker = kafka_sub.add_parser(
        "broker",
        help="run a single-node Kafka broker on 127.0.0.1 until Ctrl-C",
        description="Run a real Apache Kafka broker (KRaft, one node) on 127.0.0.1 in the "
        "foreground. Needs Java 17+; the first run fetches its jars with Maven. Its data "
        "is deleted on exit unless --kafka-data-dir is given.",
    )
    broker.add_argument(
        "--port", type=_port, help="client port (default: a free port; a port in use is refused)"
    )
    broker.add_argument(
        "--kafka-data-dir", type=Path, help="keep the broker's data here (default: temporary)"
    )
    broker.add_argument(
        "--init", action="store_true", help="create the pipeline's topics once it is up"
    )
    add_logging_flags(broker)

    init = kafka_sub.add_parser(
        "init",
        help="create the pipeline's topics (idempotent)",
        description="Create the missing topics with INSIGHTLITE_KAFKA_PARTITIONS, "
        "_REPLICATION and _RETENTION_HOURS; existing topics are left unchanged.",
    )
    _bootstrap_flag(init)
    add_logging_flags(init)

    topics = kafka_sub.add_parser("topics", help="list the pipeline's topics")
    _bootstrap_flag(topics)
    add_logging_flags(topics)
    set_command(kafka, cmd_kafka, load_settings=kafka_settings, error_prefix="insightlite kafka")


def _fail(message: str, code: int) -> int:
    print(f"insightlite kafka: {message}", file=sys.stderr)
    return code


def kafka_settings(args: argparse.Namespace) -> Settings:
    """The settings with ``--bootstrap-servers`` applied."""
    return settings_from_args(
        args, kafka_bootstrap_servers=getattr(args, "bootstrap_servers", None)
    )


def cmd_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.kafka.topics import ADMIN_LOGGER

    if settings.log_level != "DEBUG":
        # The command prints its own outcome; the admin client's retries and per-topic log
        # lines would only repeat it (or bury it under one line per refused connection).
        logging.getLogger("insightlite.kafka").setLevel(logging.WARNING)
        logging.getLogger(ADMIN_LOGGER).setLevel(logging.CRITICAL)
    if args.kafka_command == "broker":
        return _run_broker(args, settings)
    if args.kafka_command == "init":
        return _init(settings)
    return _list(settings)


def _init(settings: Settings) -> int:
    from connectors.kafka.topics import KafkaTopicError, create_topics, describe_topics

    try:
        created = create_topics(settings, timeout=CLI_TIMEOUT_S)
        infos = describe_topics(settings, timeout=CLI_TIMEOUT_S)
        deadline = time.monotonic() + CLI_TIMEOUT_S
        # The broker lists a topic a moment after creating it.
        while not all(info.exists for info in infos) and time.monotonic() < deadline:
            time.sleep(0.1)
            infos = describe_topics(settings, timeout=CLI_TIMEOUT_S)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except KafkaTopicError as exc:
        return _fail(str(exc), 1)
    for info in infos:
        state = "created" if info.name in created else "exists"
        note = ""
        if info.partitions != settings.kafka_partitions:
            note = f"  (INSIGHTLITE_KAFKA_PARTITIONS is {settings.kafka_partitions}: unchanged)"
        print(f"{state:8} {info.name}  {info.partitions} partitions{note}")
    return 0


def _list(settings: Settings) -> int:
    from connectors.kafka.topics import KafkaTopicError, describe_topics

    try:
        infos = describe_topics(settings, timeout=CLI_TIMEOUT_S)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except KafkaTopicError as exc:
        return _fail(str(exc), 1)
    width = max(len("topic"), *(len(info.name) for info in infos))
    print(f"{'topic':{width}}  partitions  replication  retention")
    for info in infos:
        if not info.exists:
            print(
                f"{info.name:{width}}  {'-':>10}  {'-':>11}  missing (run `insightlite kafka init`)"
            )
            continue
        retention = "-" if info.retention_ms is None else _duration(info.retention_ms)
        print(f"{info.name:{width}}  {info.partitions:>10}  {info.replication:>11}  {retention}")
    return 0


def _duration(ms: int) -> str:
    if ms < 0:
        return "forever"
    hours = ms / 3_600_000
    if hours >= 24 and hours % 24 == 0:
        return f"{hours / 24:g} d"
    return f"{hours:g} h"


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _run_broker(args: argparse.Namespace, settings: Settings) -> int:
    from devtools.local_kafka import KafkaLocalError, LocalKafka

    broker = LocalKafka(data_dir=args.kafka_data_dir, port=args.port)
    # Explicit handlers: a shell starting us in the background may have left SIGINT
    # ignored, and SIGTERM (from a process manager) should stop the broker in order too.
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        print("starting a local Kafka broker ...", file=sys.stderr)
        broker.start()
        print(f"Kafka broker ready: bootstrap servers {broker.bootstrap_servers}")
        print(f"  export INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS={broker.bootstrap_servers}")
        print(f"  broker log: {broker.log_path}")
        if args.init:
            code = _init(settings.with_overrides(kafka_bootstrap_servers=broker.bootstrap_servers))
            if code:
                return code
        print("press Ctrl-C to stop", flush=True)
        while broker.running:
            time.sleep(0.5)
        return _fail(f"the broker exited:\n{broker.log_tail()}", 1)
    except KafkaLocalError as exc:
        return _fail(str(exc), 1)
    except _Stop:
        print("\nstopping the broker ...", file=sys.stderr)
        return 0
    finally:
        broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
