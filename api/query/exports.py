"""Exports: a site's events, sessions or heatmap counts as Parquet or CSV files.

An export runs on a background thread of the API process. It reads one UTC day at a
time (memory stays bounded by a day of one site) and writes one file per day with data
through fsspec, reusing the archive's destinations (a local path, ``s3://``, ...):

    <export location>/<site>/<export id>/<kind>-YYYY-MM-DD.parquet | .csv
    <export location>/<site>/<export id>/state.json

``state.json`` is the export's state (queued, running, done with files and row counts,
failed with a reason, and the webhook deliveries). It lives next to the files rather
than in the process, so any API worker or replica can answer ``GET .../exports/{id}``.
Stopping the API finishes the running export and marks queued ones failed; an export
whose process is killed stays ``running``: submit it again.

Exports leave out ``ip_hash`` and ``user_agent_hash``: they are pseudonyms meant for
counting inside InsightLite, not for joining a visitor's events elsewhere.
"""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit

import orjson
import pyarrow as pa
import pyarrow.csv as pa_csv

from api.query.client_pool import ClientPool
from api.query.filters import DayRange, resolve_days
from api.query.heatmap_cells import crowd_param
from api.query.models import ExportFile, ExportRequest, ExportState, WebhookDelivery
from api.query.webhooks import WebhookSender
from connectors.archive import FsspecDestination, ParquetFormat
from connectors.clickhouse import ClickHouseClient
from foundation.settings.privacy import PrivacySettings

log = logging.getLogger("insightlite.api.exports")

Clock = Callable[[], float]

STATE_FILE: Final = "state.json"
DEFAULT_MIN_CROWD: Final = PrivacySettings().min_crowd

_DAY_QUERIES: Final = {
    "events": (
        "SELECT toString(event_id) AS event_id, toString(session_id) AS session_id, site_id, "
        "timestamp, event_type, url_path, referrer, device_type, country_code, error_class, "
        "viewport_width, viewport_height, event_data, received_at "
        "FROM {database}.events FINAL "
        "WHERE site_id = {site:String} AND toDate(timestamp) = {day:Date} "
        "ORDER BY timestamp, event_id"
    ),
    "sessions": (
        "SELECT toString(session_id) AS session_id, site_id, start_time, end_time, "
        "duration_seconds, page_count, event_count, device_type, country_code, has_errors, "
        "has_rage_clicks, entry_path, exit_path, rage_click_count, error_count "
        "FROM {database}.sessions FINAL "
        "WHERE site_id = {site:String} AND toDate(start_time) = {day:Date} "
        "ORDER BY start_time, session_id"
    ),
    "heatmap": (
        "SELECT site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y, "
        "sum(interaction_count) AS interaction_count "
        "FROM {database}.heatmap_aggregates "
        "WHERE site_id = {site:String} AND date_bucket = {day:Date} "
        "GROUP BY site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y "
        # The minimum crowd: a cell from fewer than k distinct sessions is not exported
        # (min_crowd is 0 when it is off, so cells written before sessions were kept show).
        "HAVING interaction_count > 0 AND uniqExactMerge(sessions) >= {min_crowd:UInt32} "
        "ORDER BY url_path, device_type, interaction_type, grid_y, grid_x"
    ),
}


class ExportNotFound(LookupError):
    """No export of that id for that site."""


def shown_url(url: str) -> str:
    """A webhook URL without user info, query or fragment, which may carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _plain_columns(table: pa.Table) -> pa.Table:
    """Dictionary-encoded columns (LowCardinality) as their plain values, for CSV."""
    for index, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            plain = table.column(index).cast(field.type.value_type)
            table = table.set_column(index, pa.field(field.name, field.type.value_type), plain)
    return table


def encode_csv(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pa_csv.write_csv(_plain_columns(table), buffer)
    return buffer.getvalue()


class ExportManager:
    """Queues exports, runs them on one background thread, keeps their state files."""

    def __init__(
        self,
        destination: FsspecDestination,
        pool: ClientPool,
        *,
        webhook_urls: dict[str, str] | None = None,
        webhook_sender: WebhookSender | None = None,
        max_range_days: int = 366,
        min_crowd: Callable[[str], int] = lambda _site: DEFAULT_MIN_CROWD,
        clock: Clock = time.time,
        on_finished: Callable[[str, str], None] | None = None,
    ) -> None:
        self._destination = destination
        self._pool = pool
        self._webhook_urls = dict(webhook_urls or {})
        self._webhook_sender = webhook_sender
        self._max_range_days = max_range_days
        self._min_crowd = min_crowd
        self._clock = clock
        self._on_finished = on_finished
        self._parquet = ParquetFormat("zstd")
        # One export at a time per process: an export reads a whole range, and queries
        # of the interactive API must not wait behind several of them.
        self._executor: ThreadPoolExecutor | None = None
        self._state_lock = threading.Lock()
        # Submitted exports not finished yet, to mark those a shutdown cancels.
        self._pending: dict[str, tuple[Future[None], ExportState]] = {}

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    @staticmethod
    def _state_path(site: str, export_id: str) -> str:
        return f"{site}/{export_id}/{STATE_FILE}"

    def _save(self, state: ExportState) -> None:
        with self._state_lock:
            self._destination.write_bytes(
                self._state_path(state.site, state.id), state.model_dump_json(indent=2).encode()
            )

    def check(self, request: ExportRequest) -> DayRange:
        """The request's days; InvalidQuery when the range is out of bounds."""
        today = self._now().date()
        return resolve_days(request.date_from, request.date_to, today, self._max_range_days)

    def submit(self, site: str, request: ExportRequest) -> ExportState:
        """Record a queued export and start it in the background."""
        self.check(request)
        state = ExportState(
            id=uuid.uuid4().hex,
            site=site,
            kind=request.kind,
            format=request.format,
            date_from=request.date_from,
            date_to=request.date_to,
            state="queued",
            created_at=self._now(),
        )
        self._save(state)
        with self._state_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="insightlite-export"
                )
            work = state.model_copy(deep=True)
            future = self._executor.submit(self._run, work)
            self._pending[state.id] = (future, work)
            future.add_done_callback(lambda _: self._pending.pop(state.id, None))
        return state

    def get(self, site: str, export_id: str) -> ExportState:
        """The export's current state; ExportNotFound when the site has no such export."""
        try:
            data = self._destination.read_bytes(self._state_path(site, export_id))
        except (FileNotFoundError, ValueError):
            raise ExportNotFound(export_id) from None
        return ExportState.model_validate_json(data)

    def close(self) -> None:
        """Stop the background thread after the running export (if any) finishes.

        Exports still queued are not started: they are marked failed ("submit it
        again"), so no client polls a queued export forever.
        """
        with self._state_lock:
            executor, self._executor = self._executor, None
            pending = list(self._pending.values())
        if executor is None:
            return
        executor.shutdown(wait=True, cancel_futures=True)
        for future, state in pending:
            if future.cancelled():
                state.state = "failed"
                state.error = "the API stopped before the export started; submit it again"
                state.finished_at = self._now()
                self._save(state)

    def _run(self, state: ExportState) -> None:
        state.state = "running"
        state.started_at = self._now()
        self._save(state)
        try:
            self._write_files(state)
        except Exception as exc:
            # The reason shown to the client is generic; the details go to the log.
            log.exception("export %s of %s failed", state.id, state.site)
            state.state = "failed"
            state.error = f"the export could not be completed ({type(exc).__name__})"
        else:
            state.state = "done"
        state.finished_at = self._now()
        url = self._webhook_urls.get(state.site)
        if url is not None and self._webhook_sender is not None:
            # Part of the final state, so a client polling for "done" knows a notice
            # is still on its way.
            state.webhook = WebhookDelivery(url=shown_url(url), state="pending")
        self._save(state)
        if self._on_finished is not None:
            self._on_finished(state.kind, state.state)
        self._notify(state)

    def _write_files(self, state: ExportState) -> None:
        sql = _DAY_QUERIES[state.kind]
        day: date = state.date_from
        extension = ".parquet" if state.format == "parquet" else ".csv"
        params: dict[str, Any] = {"site": state.site}
        if state.kind == "heatmap":
            params["min_crowd"] = crowd_param(self._min_crowd(state.site))
        while day <= state.date_to:
            with self._pool.client() as client:
                table = self._read_day(client, sql, {**params, "day": day})
            if table.num_rows:
                data = (
                    self._parquet.encode_table(table)
                    if state.format == "parquet"
                    else encode_csv(table)
                )
                relative = f"{state.site}/{state.id}/{state.kind}-{day.isoformat()}{extension}"
                written = self._destination.write_bytes(relative, data)
                state.files.append(ExportFile(path=written, rows=table.num_rows, bytes=len(data)))
                state.rows += table.num_rows
                self._save(state)
            day += timedelta(days=1)

    @staticmethod
    def _read_day(client: ClickHouseClient, sql: str, params: dict[str, Any]) -> pa.Table:
        return client.query_arrow(sql.replace("{database}", client.database), params)

    def _notify(self, state: ExportState) -> None:
        url = self._webhook_urls.get(state.site)
        if url is None or self._webhook_sender is None:
            return
        notice: dict[str, Any] = {
            "type": f"export.{state.state}",
            "export": state.model_dump(mode="json", exclude={"webhook"}),
        }
        body = orjson.dumps(notice)

        def progress(delivery: WebhookDelivery) -> None:
            state.webhook = delivery.model_copy(update={"url": shown_url(url)}, deep=True)
            self._save(state)

        try:
            self._webhook_sender.deliver(url, body, delivery_id=state.id, on_progress=progress)
        except Exception:
            log.exception("webhook delivery of export %s failed", state.id)
