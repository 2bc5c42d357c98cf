"""The heatmap reads: a page's cells, its scroll depth, and either drawn as a PNG.

``heatmap_aggregates`` is always read through ``sum(interaction_count) ... GROUP BY``
(the heatmap module's conditions, the optional device added only when given).
"""

from __future__ import annotations

from typing import Final

from api.query.crowd import Suppressed, shown_sql, suppressed_from, suppressed_sql
from api.query.filters import Filter, InvalidQuery
from api.query.heatmap_cells import (
    GRID_COLUMNS,
    HeatmapFilter,
    crowd_param,
    fetch_cells,
    fetch_scroll_depth_and_suppressed,
)
from api.query.layer_core import BYTES_CODEC, LayerCore, model_codec, rows, where
from api.query.models import (
    HeatmapAnswer,
    HeatmapCells,
    HeatmapImageQuery,
    HeatmapQuery,
    ScrollDepthAnswer,
    ScrollDepthPoint,
    ScrollDepthQuery,
)
from connectors.clickhouse import ClickHouseClient

_HEATMAP_CONDITIONS: Final = (
    "site_id = {site_id:String}",
    "url_path = {url_path:String}",
    "interaction_type = {interaction_type:String}",
    "date_bucket >= {date_from:Date}",
    "date_bucket <= {date_to:Date}",
)


def _heatmap_filter(flt: Filter, path: str, interaction_type: str) -> HeatmapFilter:
    """The heatmap module's filter of a read; InvalidQuery when it refuses the values."""
    try:
        return HeatmapFilter(
            site_id=flt.site,
            url_path=path,
            interaction_type=interaction_type,
            device_type=flt.device,
            date_from=flt.days.first,
            date_to=flt.days.last,
        )
    except ValueError as exc:
        raise InvalidQuery(str(exc)) from None


class HeatmapReads(LayerCore):
    async def heatmap(self, site: str, query: HeatmapQuery) -> HeatmapAnswer:
        """The page's cells of one interaction type, summed over devices and days."""
        flt = self._filter(site, query)
        heatmap_filter = _heatmap_filter(flt, query.path, query.type)

        conditions = list(_HEATMAP_CONDITIONS)
        if query.device is not None:
            conditions.append("device_type = {device_type:String}")
        grouped = (
            "SELECT grid_x, grid_y, sum(interaction_count) AS total, "
            "uniqExactMerge(sessions) AS crowd "
            f"FROM {{database}}.heatmap_aggregates WHERE {where(conditions)} "
            "GROUP BY grid_x, grid_y HAVING total > 0"
        )
        sql = shown_sql(grouped, "ORDER BY grid_y, grid_x")
        held_sql = suppressed_sql(grouped, "total")
        min_crowd = self._min_crowd(site)
        params = {**heatmap_filter.query_params(), "min_crowd": crowd_param(min_crowd)}

        def work(client: ClickHouseClient) -> HeatmapAnswer:
            # Arrow, not row tuples: a busy page has tens of thousands of cells, and
            # columns convert to lists at C speed.
            table = client.query_arrow(sql.replace("{database}", client.database), params)
            columns: list[list[int]] = [[], [], []]
            if table.num_rows:
                columns = [table.column(name).to_pylist() for name in ("grid_x", "grid_y", "total")]
            suppressed = Suppressed(min_crowd=min_crowd)
            if min_crowd > 1:
                held = rows(client, held_sql, params)
                suppressed = suppressed_from(min_crowd, held[0] if held else None)
            return HeatmapAnswer(
                site=site,
                path=query.path,
                type=query.type,
                device=query.device,
                date_from=flt.days.first,
                date_to=flt.days.last,
                cell_height_px=self._cell_height_px,
                columns=GRID_COLUMNS,
                total=sum(columns[2]),
                cells=HeatmapCells(x=columns[0], y=columns[1], count=columns[2]),
                suppressed=suppressed,
            )

        return await self._cached(flt, "heatmap", query, work, model_codec(HeatmapAnswer))

    async def scroll_depth(self, site: str, query: ScrollDepthQuery) -> ScrollDepthAnswer:
        """The share of page views that reached each row of the page."""
        flt = self._filter(site, query)
        heatmap_filter = _heatmap_filter(flt, query.path, "scroll")
        min_crowd = self._min_crowd(site)

        def work(client: ClickHouseClient) -> ScrollDepthAnswer:
            points, suppressed = fetch_scroll_depth_and_suppressed(
                client, heatmap_filter, min_crowd
            )
            return ScrollDepthAnswer(
                site=site,
                path=query.path,
                device=query.device,
                date_from=flt.days.first,
                date_to=flt.days.last,
                cell_height_px=self._cell_height_px,
                total_views=points[0].views_reaching if points else 0,
                points=[
                    ScrollDepthPoint(
                        row=point.grid_y,
                        depth_px=point.grid_y * self._cell_height_px,
                        views_reaching=point.views_reaching,
                        share=round(point.share, 6),
                    )
                    for point in points
                ],
                suppressed=suppressed,
            )

        return await self._cached(flt, "scroll_depth", query, work, model_codec(ScrollDepthAnswer))

    async def heatmap_png(self, site: str, query: HeatmapImageQuery) -> bytes:
        """The heatmap (or, for ``scroll``, the depth curve) drawn as a PNG."""
        from api.query.heatmap_png import (
            describe_filter,
            render_heatmap_png,
            render_scroll_depth_png,
        )

        flt = self._filter(site, query)
        heatmap_filter = _heatmap_filter(flt, query.path, query.type)
        title = describe_filter(heatmap_filter)
        min_crowd = self._min_crowd(site)

        def work(client: ClickHouseClient) -> bytes:
            # Only what reaches the minimum crowd is drawn: a held-back cell stays
            # background, a held-back depth row is not on the curve.
            if heatmap_filter.interaction_type == "scroll":
                points, _held = fetch_scroll_depth_and_suppressed(client, heatmap_filter, min_crowd)
                return render_scroll_depth_png(
                    points, title=title, cell_height_px=self._cell_height_px
                )
            cells = fetch_cells(client, heatmap_filter, min_crowd=min_crowd)
            return render_heatmap_png(cells, title=title, cell_height_px=self._cell_height_px)

        return await self._cached(flt, "heatmap_png", query, work, BYTES_CODEC)
