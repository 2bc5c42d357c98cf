"""`insightlite demo`: synthetic traffic through the whole pipeline, embedded.

No servers: ClickHouse is the embedded chdb engine and the archive a local
folder, both under the data directory. The demo builds a small GeoIP database
for the demo traffic's networks so that countries show out of the box.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from api.query.heatmap_cells import HeatmapFilter, busiest_page, fetch_cells
from api.query.heatmap_png import describe_filter, render_heatmap_png
from connectors.clickhouse import ClickHouseClient, connect, readonly_query
from devtools.demo_geoip import ensure_demo_mmdb
from devtools.generator import generate_records
from devtools.generator.replay import generate_replay_records
from foundation.settings import Settings
from insightlite.report import print_result, print_summary
from insightlite.runner import InputSpec, run_pipeline
from operators.columnar.batch import ColumnBatch

SHOWCASE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Page views by site and page (top 10)",
        "SELECT site_id, url_path, count() AS views FROM events FINAL "
        "WHERE event_type = 'pageview' GROUP BY site_id, url_path ORDER BY views DESC LIMIT 10",
    ),
    (
        "Events by device and country (top 10)",
        "SELECT device_type, country_code, count() AS events FROM events FINAL "
        "GROUP BY device_type, country_code ORDER BY events DESC LIMIT 10",
    ),
    (
        "Sessions: count, pages per session, bounce rate, rage clicks",
        "SELECT count() AS sessions, round(avg(page_count), 2) AS pages_per_session, "
        "round(countIf(page_count <= 1) / count(), 3) AS bounce_rate, "
        "countIf(has_rage_clicks) AS with_rage_clicks, round(avg(duration_seconds)) AS avg_seconds "
        "FROM sessions FINAL",
    ),
    (
        "Errors by class",
        "SELECT error_class, count() AS errors, uniqExact(session_id) AS sessions FROM events "
        "FINAL WHERE event_type = 'error' GROUP BY error_class ORDER BY errors DESC",
    ),
    (
        "Session recordings: the five longest",
        "SELECT session_id, dateDiff('second', min(start_time), max(end_time)) AS seconds, "
        "length(groupUniqArrayMerge(chunks)) AS chunks, uniqExactMerge(clicks) AS clicks, "
        "uniqExactMerge(errors) AS errors, length(groupUniqArrayMerge(pages)) AS pages "
        "FROM session_replays GROUP BY site_id, session_id ORDER BY seconds DESC LIMIT 5",
    ),
)


def write_busiest_heatmap(
    client: ClickHouseClient, settings: Settings, data_dir: Path
) -> Path | None:
    """Render the click heatmap of the page with the most clicks (without the cells
    too few sessions saw, as the API serves it)."""
    page = busiest_page(client)
    if page is None:
        return None
    flt = HeatmapFilter(site_id=page[0], url_path=page[1], interaction_type="click")
    cells = fetch_cells(client, flt, min_crowd=settings.min_crowd_for(flt.site_id))
    path = data_dir / "heatmap-busiest-page.png"
    path.write_bytes(
        render_heatmap_png(
            cells, title=describe_filter(flt), cell_height_px=settings.heatmap_cell_height_px
        )
    )
    return path


def _reset(settings: Settings, console: Console) -> None:
    """The demo owns its data directory's results: start each run from empty."""
    for name in ("clickhouse", "archive"):
        path = Path(settings.data_dir) / name
        if path.exists():
            shutil.rmtree(path)
            console.print(f"[dim]removed the previous demo's {name} data ({path})[/dim]")


def run_demo(settings: Settings, *, events: int, seed: int, serve: bool = False) -> int:
    console = Console()
    data_dir = Path(settings.data_dir)
    uses_embedded = not settings.clickhouse_url
    if uses_embedded and not settings.archive_url:
        _reset(settings, console)
    if not settings.geoip_db:
        mmdb = ensure_demo_mmdb(data_dir / "geoip" / "demo-country.mmdb")
        settings = settings.with_overrides(geoip_db=str(mmdb))
    console.print(
        f"[bold]InsightLite demo[/bold]: {events:,} synthetic events "
        f"(seed {seed}) → {settings.resolved_clickhouse_url} and "
        f"{settings.resolved_archive_url}"
    )
    now = datetime.now(UTC)
    # Recordings of 30 % of the demo's sessions, as their replay module would have sent.
    replay_file = data_dir / "replay-chunks.jsonl"
    traffic = generate_records(events, seed=seed, now_ms=int(now.timestamp() * 1000))
    replay_file.parent.mkdir(parents=True, exist_ok=True)
    replay_file.write_bytes(
        b"".join(chunk + b"\n" for chunk in generate_replay_records(traffic, seed=seed))
    )
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("processing events", total=events)

        def advance(batch: ColumnBatch) -> None:
            progress.advance(task, batch.events_in)

        summary = run_pipeline(
            settings,
            InputSpec("generate", events=events, seed=seed, replay_file=str(replay_file)),
            now=now,
            on_batch=advance,
        )
    print_summary(summary, console)
    client = connect(settings.resolved_clickhouse_url, database=settings.clickhouse_database)
    for title, sql in SHOWCASE_QUERIES:
        console.print(f"\n[bold]{title}[/bold]\n[dim]{sql}[/dim]")
        print_result(readonly_query(client, sql), console=console)
    heatmap_png = write_busiest_heatmap(client, settings, data_dir)
    if heatmap_png is not None:
        console.print(f"\n[bold]Click heatmap of the busiest page[/bold]: {heatmap_png}")
    archive = settings.resolved_archive_url
    console.print(
        "\n[bold]Where the results are[/bold]\n"
        f"  ClickHouse: {settings.resolved_clickhouse_url} (database "
        f"{settings.clickhouse_database}; tables events, sessions, heatmap_aggregates, "
        "session_replays)\n"
        f"  Parquet archive: {archive}/events/year=YYYY/month=MM/day=DD/\n"
        f"  Dead letters: {archive}/dead_letter/ (JSON lines: stage, reasons, site and "
        "session in clear; the masked payload encrypted with the site's data key)\n"
        f"  Session recordings: {archive}/replays/site=SITE/session=ID/ (gzip rrweb chunks)\n"
        "\n[bold]Query them[/bold]\n"
        f"  insightlite query --data-dir {data_dir} "
        '"SELECT event_type, count() FROM events FINAL GROUP BY event_type"\n'
        f"  insightlite query --data-dir {data_dir} --format json "
        "\"SELECT url_path, count() AS clicks FROM events FINAL WHERE event_type = 'click' "
        'GROUP BY url_path ORDER BY clicks DESC LIMIT 5"\n'
        f"  insightlite heatmap --data-dir {data_dir} --site SITE --path /PATH --type click "
        "--out heatmap.png\n"
        f"  jq -c '{{stage, reasons}}' {archive}/dead_letter/*/*/*/*.jsonl | head\n",
        soft_wrap=True,
    )
    if serve:
        from insightlite.demo_server import serve_demo

        client.close()  # the API opens the embedded engine in this same process
        serve_demo(settings, console)
    return 0
