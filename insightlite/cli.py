"""The `insightlite` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from devtools.load import add_load_options, run_generate_to, wants_load_source
from foundation.logs import configure_logging
from foundation.settings import ConfigError, Settings, load_settings
from foundation.units import parse_utc_time
from insightlite.api_cli import add_api_parsers, cmd_api, cmd_token
from insightlite.collector_cli import add_collector_parser, cmd_collector
from insightlite.heatmap_cli import add_heatmap_parser, cmd_heatmap
from insightlite.kafka_cli import add_kafka_parser, cmd_kafka

log = logging.getLogger("insightlite")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="working directory (INSIGHTLITE_DATA_DIR)")
    parser.add_argument(
        "--clickhouse", help="chdb:PATH or clickhouse://... (INSIGHTLITE_CLICKHOUSE_URL)"
    )
    parser.add_argument("--database", help="ClickHouse database (INSIGHTLITE_CLICKHOUSE_DATABASE)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (INSIGHTLITE_LOG_LEVEL)")
    parser.add_argument("--log-format", help="console or json (INSIGHTLITE_LOG_FORMAT)")


def _settings(args: argparse.Namespace, **extra: Any) -> Settings:
    return load_settings(
        data_dir=getattr(args, "data_dir", None),
        clickhouse_url=getattr(args, "clickhouse", None),
        clickhouse_database=getattr(args, "database", None),
        log_level=getattr(args, "log_level", None),
        log_format=getattr(args, "log_format", None),
        **extra,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="insightlite",
        description="Privacy-first web analytics pipeline. Settings come from INSIGHTLITE_* "
        "environment variables; flags override them.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write synthetic raw records as JSON lines")
    gen.add_argument("--events", type=int, required=True, help="how many raw records to write")
    gen.add_argument("--out", required=True, help="output file ('-' for standard output)")
    gen.add_argument(
        "--seed", type=int, default=0, help="random seed: the same seed gives the same records"
    )
    gen.add_argument("--now", help="ISO time the traffic ends at (default: now, UTC)")
    add_load_options(gen)

    run = sub.add_parser("run", help="run the pipeline until the input ends")
    run.add_argument("--input", required=True, help="generate:N, file:PATH or kafka")
    run.add_argument("--seed", type=int, default=0, help="seed of generate:N")
    run.add_argument(
        "--stop-at-end",
        action="store_true",
        help="kafka: stop once every partition is read to its current end",
    )
    run.add_argument(
        "-p", "--processes", type=int, default=1, help="worker processes on this machine"
    )
    run.add_argument(
        "-i", "--process-id", type=int, help="this process's index in a multi-machine cluster"
    )
    run.add_argument(
        "-a",
        "--addresses",
        help="host:port of every process of the cluster, separated by ';' (with -i)",
    )
    run.add_argument("--recovery-dir", help="recovery store (INSIGHTLITE_RECOVERY_DIR)")
    run.add_argument("--bootstrap-servers", help="Kafka (INSIGHTLITE_KAFKA_BOOTSTRAP_SERVERS)")
    run.add_argument("--archive", help="local path, file:// or s3:// (INSIGHTLITE_ARCHIVE_URL)")
    run.add_argument("--geoip-db", help="MaxMind database path (INSIGHTLITE_GEOIP_DB)")
    run.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    _common(run)

    demo = sub.add_parser("demo", help="generate traffic and run it all embedded")
    demo.add_argument(
        "--events", type=int, default=200_000, help="events to generate (default 200,000)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the generated traffic")
    demo.add_argument(
        "--serve", action="store_true", help="then serve the query API over the demo's data"
    )
    _common(demo)

    query = sub.add_parser("query", help="run a read-only SQL query and print a table")
    query.add_argument("sql", help="the SQL to run; ClickHouse refuses anything but reads")
    query.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (one object per line) or csv (with a header)",
    )
    _common(query)

    schema = sub.add_parser("schema", help="database schema migrations")
    schema_sub = schema.add_subparsers(dest="schema_command", required=True)
    apply = schema_sub.add_parser("apply", help="apply pending migrations")
    _common(apply)
    status = schema_sub.add_parser("status", help="list applied and pending migrations")
    _common(status)
    add_heatmap_parser(sub)
    add_kafka_parser(sub)
    add_collector_parser(sub)
    add_api_parsers(sub)
    return parser


def _parse_now(value: str | None) -> datetime:
    try:
        return parse_utc_time(value, "--now")
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def cmd_generate(args: argparse.Namespace) -> int:
    from devtools.generator import generate_records, write_jsonl

    if wants_load_source(args):
        settings = _settings(args)
        configure_logging(settings.log_level, settings.log_format)
        return run_generate_to(args, settings)
    if not args.out:
        raise ConfigError("give --out FILE, --to-collector URL or --to-kafka")

    now_ms = int(_parse_now(args.now).timestamp() * 1000)
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


def cmd_run(args: argparse.Namespace) -> int:
    from insightlite.clickhouse_cli import check_embedded_free
    from insightlite.runner import parse_input, run_pipeline

    settings = _settings(
        args,
        archive_url=args.archive,
        geoip_db=args.geoip_db,
        recovery_dir=args.recovery_dir,
        kafka_bootstrap_servers=args.bootstrap_servers,
    )
    configure_logging(settings.log_level, settings.log_format)
    spec = parse_input(args.input, seed=args.seed, stop_at_end=args.stop_at_end)
    if args.processes < 1:
        raise ConfigError("--processes must be at least 1")
    addresses = (
        [a.strip() for a in args.addresses.split(";") if a.strip()] if args.addresses else None
    )
    if (args.process_id is None) != (addresses is None):
        raise ConfigError("--process-id and --addresses go together")
    if addresses and args.processes > 1:
        raise ConfigError("use either --processes or --process-id/--addresses")
    if addresses and not 0 <= args.process_id < len(addresses):
        raise ConfigError("--process-id must index --addresses")
    check_embedded_free(settings)
    summary = run_pipeline(
        settings,
        spec,
        processes=args.processes,
        process_id=args.process_id,
        addresses=addresses,
    )
    if args.json:
        print(orjson.dumps(summary).decode())
    else:
        from insightlite.report import print_summary

        print_summary(summary)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from insightlite.demo import run_demo

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    return run_demo(settings, events=args.events, seed=args.seed, serve=args.serve)


def cmd_query(args: argparse.Namespace) -> int:
    from connectors.clickhouse import QueryError, readonly_query
    from insightlite.clickhouse_cli import open_for_reading
    from insightlite.report import print_result

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    client = open_for_reading(settings)
    try:
        result = readonly_query(client, args.sql)
    except QueryError as exc:
        print(f"query failed: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    print_result(result, args.format)
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from connectors.clickhouse import apply_migrations, connect, pending_migrations
    from insightlite.clickhouse_cli import check_embedded_free, open_for_reading

    settings = _settings(args)
    configure_logging(settings.log_level, settings.log_format)
    if args.schema_command == "apply":
        check_embedded_free(settings)
        client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
        try:
            applied = apply_migrations(client)
        finally:
            client.close()
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    else:
        client = open_for_reading(settings)
        try:
            pending = pending_migrations(client)
        finally:
            client.close()
        print("pending: " + (", ".join(pending) if pending else "none"))
    return 0


COMMANDS = {
    "generate": cmd_generate,
    "run": cmd_run,
    "demo": cmd_demo,
    "query": cmd_query,
    "schema": cmd_schema,
    "heatmap": cmd_heatmap,
    "kafka": cmd_kafka,
    "collector": cmd_collector,
    "api": cmd_api,
    "token": cmd_token,
}


def _unavailable(exc: Exception) -> str | None:
    """One line naming the problem and the fix, for a service that cannot be used."""
    from connectors.clickhouse import ClickHouseUnavailable
    from connectors.kafka.raw_source import KafkaUnavailable
    from insightlite.clickhouse_cli import StorageUnavailable

    if isinstance(exc, KafkaUnavailable | StorageUnavailable):
        return str(exc)
    if isinstance(exc, ClickHouseUnavailable):
        detail = " ".join(str(exc).split())
        return (
            f"ClickHouse is unavailable ({detail}): start the server, stop any other process "
            "using the data directory, or fix INSIGHTLITE_CLICKHOUSE_URL / INSIGHTLITE_DATA_DIR"
        )
    return None


def main(argv: Sequence[str] | None = None) -> int:
    from insightlite.clickhouse_cli import quiet_driver_logs

    args = build_parser().parse_args(argv)
    quiet_driver_logs()
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"insightlite: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        message = _unavailable(exc)
        if message is None:
            raise
        # The traceback only helps when debugging InsightLite itself.
        log.debug("traceback of the failure below", exc_info=True)
        print(f"insightlite: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
