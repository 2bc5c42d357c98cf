"""The chunks a heatmap's page picture can come from (:mod:`api.query.page_snapshot`).

They are the site's stored chunks (``session_replay_chunks``, a chunk stored twice
once, with ``FINAL``) whose ``pages`` hold the path, of the device class asked for,
of recordings still kept (the rule of :mod:`api.query.replay_reads`), newest first, at
most :data:`~api.query.page_snapshot.MAX_SNAPSHOT_CHUNKS`: the work of one request is
bounded whatever the number of recordings. Never cached, like the recordings' reads
(a deleted recording is gone at once).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from api.query.filters import KEPT_RECORDINGS, check_site
from api.query.layer_core import LayerCore, rows, where
from api.query.models import HeatmapSnapshotQuery
from api.query.page_snapshot import MAX_SNAPSHOT_CHUNKS, SnapshotChunk
from connectors.clickhouse import ClickHouseClient

_CHUNK_CONDITIONS: Final = (
    "site_id = {site:String}",
    "has(pages, {path:String})",
    f"session_id IN ({KEPT_RECORDINGS})",
)
_DEVICE: Final = "device_type = {device:String}"


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class SnapshotReads(LayerCore):
    async def snapshot_chunks(self, site: str, query: HeatmapSnapshotQuery) -> list[SnapshotChunk]:
        """The newest kept chunks of the site's recordings that visited ``query.path``
        (on ``query.device`` when given), at most ``MAX_SNAPSHOT_CHUNKS``."""
        check_site(site)
        conditions = list(_CHUNK_CONDITIONS)
        params: dict[str, Any] = {
            "site": site,
            "path": query.path,
            "kept_after": self._kept_after(),
            "limit": MAX_SNAPSHOT_CHUNKS,
        }
        if query.device is not None:
            conditions.append(_DEVICE)
            params["device"] = query.device
        sql = (
            "SELECT toString(session_id), blob_name, start_time "
            f"FROM {{database}}.session_replay_chunks FINAL WHERE {where(conditions)} "
            "ORDER BY start_time DESC, blob_name DESC LIMIT {limit:UInt32}"
        )

        def work(client: ClickHouseClient) -> list[SnapshotChunk]:
            return [
                SnapshotChunk(str(row[0]), str(row[1]), _utc(row[2]))
                for row in rows(client, sql, params)
            ]

        return await self._run(work)
