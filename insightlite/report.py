"""Printing summaries and query results for people (rich) and programs (JSON, CSV)."""

from __future__ import annotations

import csv
import sys
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

from connectors.clickhouse import QueryResult


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return str(value)


def print_result(result: QueryResult, fmt: str = "table", console: Console | None = None) -> None:
    if fmt == "json":
        for row in result.rows:
            print(orjson.dumps(dict(zip(result.columns, row, strict=True)), default=str).decode())
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows([[_cell(value) for value in row] for row in result.rows])
        return
    table = Table(show_lines=False)
    for name in result.columns:
        table.add_column(name, overflow="fold")
    for row in result.rows:
        table.add_row(*[_cell(value) for value in row])
    (console or Console()).print(table)


def print_summary(summary: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title="Run summary", show_header=False)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("events in", f"{summary['events_in']:,}")
    table.add_row("accepted", f"{summary['accepted']:,}")
    table.add_row("filtered (bots)", f"{summary['filtered_total']:,}")
    for reason, count in summary["filtered"].items():
        table.add_row(f"  {reason}", f"{count:,}")
    table.add_row("rejected (dead letters)", f"{summary['rejected_total']:,}")
    for reason, count in summary["rejected"].items():
        table.add_row(f"  {reason}", f"{count:,}")
    replay = summary.get("replay") or {}
    if replay.get("chunks_in"):
        table.add_row("recording chunks in", f"{replay['chunks_in']:,}")
        table.add_row("  stored", f"{replay['stored']:,}")
        for reason, count in replay["rejected"].items():
            table.add_row(f"  rejected: {reason}", f"{count:,}")
    for sink, rows in summary["rows_written"].items():
        table.add_row(f"rows written: {sink}", f"{rows:,}")
    table.add_row("seconds", f"{summary['seconds']:.2f}")
    table.add_row("events/s", f"{summary['events_per_second']:,}")
    console.print(table)
