"""The `insightlite run` command: run the pipeline until the input ends."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_common_flags, set_command, settings_from_args


def add_parser(subparsers: Any) -> None:
    """Add ``run`` to ``subparsers`` (from ``add_subparsers``)."""
    run = subparsers.add_parser("run", help="run the pipeline until the input ends")
    run.add_argument("--input", required=True, help="generate:N, file:PATH or kafka")
    run.add_argument("--seed", type=int, default=0, help="seed of generate:N")
    run.add_argument(
        "--replay-input",
        help="file:PATH of session-replay chunks, one per line (a Kafka run reads replay_events)",
    )
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
    add_common_flags(run)
    set_command(run, cmd_run, load_settings=run_settings)


def run_settings(args: argparse.Namespace) -> Settings:
    """The settings with the pipeline's own flags applied."""
    return settings_from_args(
        args,
        archive_url=args.archive,
        geoip_db=args.geoip_db,
        recovery_dir=args.recovery_dir,
        kafka_bootstrap_servers=args.bootstrap_servers,
    )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from insightlite.cli.storage import check_embedded_free
    from insightlite.runner import parse_input, run_pipeline

    spec = parse_input(args.input, seed=args.seed, stop_at_end=args.stop_at_end)
    if args.replay_input:
        from dataclasses import replace

        from insightlite.replay_wiring import parse_replay_input

        spec = replace(spec, replay_file=parse_replay_input(args.replay_input))
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
