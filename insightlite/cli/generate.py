"""The `insightlite generate` command: synthetic raw records to a file, to a collector,
or straight to Kafka's ``raw_events``.

    insightlite generate --events N --out FILE [--seed S] [--now ISO]
    insightlite generate --events 100000 --to-collector http://127.0.0.1:8080/ingest \\
        --rate 2000 [--batch 20] [--duration 30] [--concurrency 32] [--forwarded-for]
    insightlite generate --events 100000 --to-kafka [--rate 5000] [--bootstrap-servers B]

With a load source: exit codes 0 every request answered 202 (every record
acknowledged), 1 otherwise, 2 bad arguments or settings. See ``devtools.load`` for how
the traffic is made live and grouped into requests.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devtools.load import (
    DEFAULT_BATCH,
    DEFAULT_CONCURRENCY,
    MAX_COLLECTOR_EVENTS,
    CollectorLoadSummary,
    LoadError,
    Unsendable,
    collector_batches,
    post_to_collector,
    produce_to_kafka,
    run_loop,
)
from foundation.settings import ConfigError, Settings
from insightlite.cli.options import parse_now, set_command, settings_from_args

# --- arguments -------------------------------------------------------------------


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than 0, got {text}")
    return value


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be {low}-{high}, got {value}")
        return value

    return parse


def _collector_url(text: str) -> str:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL, e.g. http://127.0.0.1:8080/ingest"
        )
    if parts.path in ("", "/"):
        return text.rstrip("/") + "/ingest"
    return text


def add_parser(subparsers: Any) -> None:
    """Add ``generate`` to ``subparsers`` (from ``add_subparsers``)."""
    gen = subparsers.add_parser("generate", help="write synthetic raw records as JSON lines")
    gen.add_argument("--events", type=int, required=True, help="how many raw records to write")
    gen.add_argument("--out", required=True, help="output file ('-' for standard output)")
    gen.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed gives the same records"
    )
    gen.add_argument("--now", help="ISO time the traffic ends at (default: now, UTC)")
    add_load_options(gen)
    set_command(gen, cmd_generate, load_settings=generate_settings)


def add_load_options(generate_parser: argparse.ArgumentParser) -> None:
    """Add the load-source flags to the ``generate`` subcommand's parser.

    ``--out`` stops being required there: with a load source the records go to the
    collector or to Kafka instead of a file (``run_generate_to`` checks the choice).
    """
    for action in generate_parser._actions:
        if action.dest == "out":
            action.required = False
    group = generate_parser.add_argument_group("load sources (instead of --out)")
    target = group.add_mutually_exclusive_group()
    target.add_argument(
        "--to-collector",
        metavar="URL",
        type=_collector_url,
        help="POST the records to a collector, e.g. http://127.0.0.1:8080/ingest",
    )
    target.add_argument(
        "--to-kafka",
        action="store_true",
        help="produce the raw records straight to raw_events (INSIGHTLITE_KAFKA_*)",
    )
    group.add_argument(
        "--rate",
        type=_positive_float,
        metavar="EVENTS_PER_S",
        help="events per second (required with --to-collector; default for --to-kafka: "
        "as fast as the broker takes them)",
    )
    group.add_argument(
        "--batch",
        type=_int_between(1, MAX_COLLECTOR_EVENTS),
        default=DEFAULT_BATCH,
        metavar="N",
        help=f"events per request at most (default {DEFAULT_BATCH}, at most 500)",
    )
    group.add_argument("--duration", type=_positive_float, metavar="S", help="stop after S seconds")
    group.add_argument(
        "--concurrency",
        type=_int_between(1, 1024),
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"requests in flight at most (default {DEFAULT_CONCURRENCY})",
    )
    group.add_argument(
        "--forwarded-for",
        action="store_true",
        help="send each record's IP as X-Forwarded-For (for a collector that trusts "
        "this host as a proxy: INSIGHTLITE_COLLECTOR_TRUSTED_PROXIES)",
    )
    group.add_argument("--gzip", action="store_true", help="gzip the request bodies")
    group.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help="Kafka brokers for --to-kafka (INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS)",
    )


def wants_load_source(args: argparse.Namespace) -> bool:
    """True when ``generate`` was asked to send its records rather than write them."""
    return bool(getattr(args, "to_collector", None) or getattr(args, "to_kafka", False))


def generate_settings(args: argparse.Namespace) -> Settings | None:
    """Settings only for a load source: writing a file reads no INSIGHTLITE_* setting."""
    return settings_from_args(args) if wants_load_source(args) else None


# --- the command ------------------------------------------------------------------


def _records_from_args(args: argparse.Namespace) -> Iterator[bytes]:
    from devtools.generator import generate_records

    if args.events < 0:
        raise ConfigError("--events must not be negative")
    now_ms = int(parse_now(getattr(args, "now", None)).timestamp() * 1000)
    return generate_records(args.events, seed=args.seed, now_ms=now_ms)


def cmd_generate(args: argparse.Namespace, settings: Settings | None) -> int:
    from devtools.generator import generate_records, write_jsonl

    if wants_load_source(args):
        return run_generate_to(args, settings or settings_from_args(args))
    if not args.out:
        raise ConfigError("give --out FILE, --to-collector URL or --to-kafka")

    now_ms = int(parse_now(args.now).timestamp() * 1000)
    if args.events < 0:
        raise ConfigError("--events must not be negative")
    records = generate_records(args.events, seed=args.seed, now_ms=now_ms)
    if args.out == "-":
        out = sys.stdout.buffer
        for record in records:
            out.write(record + b"\n")
        out.flush()
        return 0
    count = write_jsonl(Path(args.out), records)
    print(f"wrote {count} raw records to {args.out}", file=sys.stderr)
    return 0


def run_generate_to(args: argparse.Namespace, settings: Settings) -> int:
    """Run the load source chosen by ``--to-collector`` or ``--to-kafka``; print a summary."""
    if getattr(args, "out", None):
        raise ConfigError("--out writes a file: leave it out with --to-collector/--to-kafka")
    if args.to_collector:
        return _post_to_collector(args)
    if args.to_kafka:
        return _produce_to_kafka(args, settings)
    raise ConfigError("give --out FILE, --to-collector URL or --to-kafka")


def _post_to_collector(args: argparse.Namespace) -> int:
    if args.rate is None:
        raise ConfigError("--to-collector needs --rate (events per second)")
    unsendable = Unsendable()
    batches = collector_batches(_records_from_args(args), args.batch, unsendable)
    print(
        f"posting to {args.to_collector} at {args.rate:,.0f} events/s "
        f"(batches of at most {args.batch}, {args.concurrency} in flight)",
        file=sys.stderr,
    )
    summary: CollectorLoadSummary = run_loop(
        post_to_collector(
            batches,
            url=args.to_collector,
            rate=args.rate,
            duration_s=args.duration,
            concurrency=args.concurrency,
            forwarded_for=args.forwarded_for,
            gzip_bodies=args.gzip,
            progress=lambda s: print(
                f"  {s.elapsed_s:5.1f} s: {s.events_sent:,} events sent, "
                f"{s.events_accepted:,} accepted",
                file=sys.stderr,
            ),
        )
    )
    summary.unsendable = unsendable.count
    print(summary.report())
    return 0 if summary.ok else 1


def _produce_to_kafka(args: argparse.Namespace, settings: Settings) -> int:
    from connectors.kafka.config import client_config

    if getattr(args, "bootstrap_servers", None):
        settings = settings.with_overrides(kafka_bootstrap_servers=args.bootstrap_servers)
    client_config(settings)  # a missing or malformed broker setting fails here, clearly
    try:
        summary = produce_to_kafka(
            _records_from_args(args),
            settings,
            rate=args.rate,
            duration_s=args.duration,
            progress=lambda s: print(
                f"  {s.elapsed_s:5.1f} s: {s.produced:,} records produced, "
                f"{s.acknowledged:,} acknowledged",
                file=sys.stderr,
            ),
        )
    except LoadError as exc:
        print(f"insightlite generate: {exc}", file=sys.stderr)
        return 1
    print(summary.report())
    return 0 if summary.ok else 1
