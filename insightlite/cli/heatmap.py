"""The `insightlite heatmap` command: one page's heatmap (or scroll depth) as a PNG.

    insightlite heatmap --site S --path P [--type click] [--device desktop]
                        [--from YYYY-MM-DD] [--to YYYY-MM-DD] --out FILE.png

Cells (and scroll depths) seen by fewer than ``INSIGHTLITE_MIN_CROWD`` distinct
sessions are held back, as in the API; the command says how many on stderr.

Exit codes: 0 written, 1 no data for the filter or a query/write failure (no file is
written), 2 bad arguments or settings.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from api.query.heatmap_cells import (
    DEVICE_TYPES,
    INTERACTION_TYPES,
    HeatmapFilter,
    fetch_cells_and_suppressed,
    fetch_scroll_depth_and_suppressed,
)
from foundation.settings import ConfigError, Settings
from insightlite.cli.options import add_common_flags, set_command, settings_from_args

if TYPE_CHECKING:
    from api.query.crowd import Suppressed
    from connectors.clickhouse import ClickHouseClient

# ClickHouse's UNKNOWN_TABLE and UNKNOWN_DATABASE: nothing has been written here yet.
_MISSING_SCHEMA_CODES = frozenset({60, 81})


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (expected YYYY-MM-DD)") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def add_parser(subparsers: Any) -> None:
    """Add the ``heatmap`` subcommand to ``subparsers`` (from ``add_subparsers``)."""
    heatmap = subparsers.add_parser(
        "heatmap",
        help="render one page's click, move or scroll heatmap as a PNG",
        description="Render the heatmap of one page (or, with --type scroll, how far its "
        "views scrolled) from heatmap_aggregates as a PNG image.",
    )
    heatmap.add_argument("--site", required=True, help="site id")
    heatmap.add_argument("--path", required=True, help="page path, e.g. /pricing")
    heatmap.add_argument(
        "--type",
        dest="interaction_type",
        default="click",
        choices=INTERACTION_TYPES,
        help="interaction type (default: click); scroll draws the scroll-depth curve",
    )
    heatmap.add_argument("--device", choices=DEVICE_TYPES, help="one device class (default: all)")
    heatmap.add_argument(
        "--from",
        dest="date_from",
        type=_iso_date,
        metavar="YYYY-MM-DD",
        help="first UTC day, inclusive",
    )
    heatmap.add_argument(
        "--to", dest="date_to", type=_iso_date, metavar="YYYY-MM-DD", help="last UTC day, inclusive"
    )
    heatmap.add_argument(
        "--cell-height",
        type=_positive_int,
        default=None,
        metavar="PX",
        help="page pixels per grid row the pipeline used, for the y-axis labels "
        "(default: INSIGHTLITE_HEATMAP_CELL_HEIGHT_PX)",
    )
    heatmap.add_argument("--out", required=True, help="PNG file to write")
    add_common_flags(heatmap)
    set_command(
        heatmap, cmd_heatmap, load_settings=heatmap_settings, error_prefix="insightlite heatmap"
    )


def heatmap_filter(args: argparse.Namespace) -> HeatmapFilter:
    """The filter the arguments ask for; ValueError names what is wrong."""
    return HeatmapFilter(
        site_id=args.site,
        url_path=args.path,
        interaction_type=args.interaction_type,
        device_type=args.device,
        date_from=args.date_from,
        date_to=args.date_to,
    )


def _bad_filter(exc: ValueError) -> str:
    prefix = "" if isinstance(exc, ConfigError) else "bad arguments: "
    return f"{prefix}{exc}"


def heatmap_settings(args: argparse.Namespace) -> Settings:
    """The settings, once the filter is known to be valid (a bad filter is named first)."""
    try:
        heatmap_filter(args)
    except ValueError as exc:
        raise ConfigError(_bad_filter(exc)) from None
    return settings_from_args(args)


def _fail(message: str, code: int) -> int:
    print(f"insightlite heatmap: {message}", file=sys.stderr)
    return code


def _total_and_png(
    client: ClickHouseClient, flt: HeatmapFilter, title: str, cell_height_px: int, min_crowd: int
) -> tuple[int, bytes | None, Suppressed]:
    """The filter's total count (page views for scroll), its PNG (None without data) and
    what was held back for being backed by fewer than ``min_crowd`` sessions."""
    from api.query.heatmap_png import render_heatmap_png, render_scroll_depth_png

    if flt.interaction_type == "scroll":
        points, held = fetch_scroll_depth_and_suppressed(client, flt, min_crowd)
        if not points:
            return 0, None, held
        png = render_scroll_depth_png(points, title=title, cell_height_px=cell_height_px)
        return points[0].views_reaching, png, held
    cells, held = fetch_cells_and_suppressed(client, flt, min_crowd)
    total = sum(cell.count for cell in cells)
    if total == 0:
        return 0, None, held
    return total, render_heatmap_png(cells, title=title, cell_height_px=cell_height_px), held


def cmd_heatmap(args: argparse.Namespace, settings: Settings) -> int:
    """Fetch the filter's cells (or scroll curve), write the PNG, print where and the total."""
    from api.query.heatmap_png import describe_filter
    from connectors.clickhouse import ClickHouseError
    from insightlite.cli.storage import StorageUnavailable, open_for_reading

    try:
        flt = heatmap_filter(args)
    except ValueError as exc:  # ConfigError is a ValueError too
        return _fail(_bad_filter(exc), 2)

    title = describe_filter(flt)
    try:
        client = open_for_reading(settings)
    except ValueError as exc:  # a ConfigError naming the setting, or a bad URL
        return _fail(str(exc), 2)
    except StorageUnavailable as exc:  # no database yet, or ClickHouse not usable now
        return _fail(str(exc), 1)
    try:
        cell_height = args.cell_height or settings.heatmap_cell_height_px
        total, png, held = _total_and_png(
            client, flt, title, cell_height, settings.min_crowd_for(flt.site_id)
        )
    except ClickHouseError as exc:
        hint = ""
        if getattr(exc, "code", None) in _MISSING_SCHEMA_CODES:
            hint = " (no heatmap table yet: run the pipeline or `insightlite schema apply`)"
        return _fail(f"query failed: {exc}{hint}", 1)
    finally:
        client.close()
    if held.rows:
        print(
            f"held back: {held.rows:,} {'depths' if flt.interaction_type == 'scroll' else 'cells'}"
            f" ({held.interactions:,} {flt.interaction_type}s) seen by fewer than "
            f"{held.min_crowd} sessions each (INSIGHTLITE_MIN_CROWD)",
            file=sys.stderr,
        )
    if png is None:
        return _fail(f"no {flt.interaction_type} data for {title}; nothing written", 1)

    out = Path(args.out)
    try:
        out.write_bytes(png)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}", 1)
    unit = "page views" if flt.interaction_type == "scroll" else "interactions"
    print(f"wrote {out}")
    print(f"total: {total:,} {unit} ({title})")
    return 0
