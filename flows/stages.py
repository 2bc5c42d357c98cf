"""Build the stateless stages from settings, in their fixed order.

1. validate  2. bot_filter  3. enrich  4. anonymize (always last)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from connectors.visitor_keys import DailyKeys, VisitorKeyStore
from connectors.visitor_keys.stores import open_key_store
from flows.sessions import SessionsSpec
from foundation.settings import Settings
from foundation.units import DAY_MS, HOUR_MS, MINUTE_MS, SECOND_MS
from operators.bot_filter import BotFilterConfig
from operators.columnar.anonymize import ColumnarAnonymizer
from operators.columnar.batch import ColumnBatch
from operators.columnar.decode import ColumnarDecoder
from operators.columnar.visitors import ColumnarBotFilter, ColumnarEnricher
from operators.enrich import EnrichConfig
from operators.heatmap import GridConfig
from operators.model import (
    STAGE_ANONYMIZE,
    STAGE_BOT_FILTER,
    STAGE_ENRICH,
    RawBatch,
)
from operators.session_state import RageRule
from operators.sessionize import SessionConfig
from operators.user_agent import UserAgentClassifier
from operators.validate import ValidationConfig
from operators.visitor import VisitorDeriver, VisitorResolver

log = logging.getLogger("insightlite.stages")
SWEEP_INTERVAL_MS = HOUR_MS
OLD_SECRET_FILE = "ip-hash.secret"


@dataclass(frozen=True)
class StageConfigs:
    """Every stage's settings, built from the one settings model in one place."""

    validation: ValidationConfig
    bot_filter: BotFilterConfig
    enrich: EnrichConfig
    sessions: SessionConfig
    grid: GridConfig


def stage_configs(settings: Settings) -> StageConfigs:
    return StageConfigs(
        validation=ValidationConfig(
            max_event_bytes=settings.max_event_bytes,
            max_future_ms=int(settings.max_future_hours * HOUR_MS),
            max_age_ms=int(settings.max_age_days * DAY_MS),
            site_allowlist=frozenset(settings.site_allowlist),
        ),
        bot_filter=BotFilterConfig(tuple(settings.bot_patterns)),
        enrich=EnrichConfig(settings.geoip_db),
        sessions=SessionConfig(
            inactivity_gap_ms=int(settings.session_gap_minutes * MINUTE_MS),
            max_length_ms=int(settings.session_max_hours * HOUR_MS),
            allowed_lateness_ms=int(settings.session_lateness_seconds * SECOND_MS),
            dedup_retention_ms=int(settings.dedup_retention_minutes * MINUTE_MS),
            live_update_ms=int(settings.session_live_update_seconds * SECOND_MS),
            rage=RageRule(
                clicks=settings.rage_click_count,
                interval_ms=settings.rage_click_interval_ms,
                distance_px=settings.rage_click_distance_px,
            ),
        ),
        grid=GridConfig(
            cell_height_px=settings.heatmap_cell_height_px,
            window_ms=int(settings.heatmap_window_seconds * SECOND_MS),
            allowed_lateness_ms=int(settings.session_lateness_seconds * SECOND_MS),
        ),
    )


@dataclass
class Stages:
    validate: Callable[[RawBatch], ColumnBatch]
    later: list[tuple[str, Callable[[ColumnBatch], ColumnBatch]]]


class PipelineKeys:
    """The day keys the pipeline's stages ask for, with a sweep of expired keys at most
    once per ``SWEEP_INTERVAL_MS`` of the clock passed in.

    A key store that cannot be reached raises KeyStoreUnavailable out of the stage: an
    infrastructure failure, so the batch is retried, never dead-lettered or hashed
    without its key.
    """

    def __init__(self, keys: DailyKeys) -> None:
        self.keys = keys
        self._last_sweep_ms: int | None = None

    def __call__(self, days: set[int]) -> dict[int, bytes]:
        now = self.keys.now_ms()
        if self._last_sweep_ms is None or now - self._last_sweep_ms >= SWEEP_INTERVAL_MS:
            destroyed = self.keys.sweep()
            self._last_sweep_ms = now
            if destroyed:
                log.info("destroyed the visitor keys of %d day(s)", len(destroyed))
        return self.keys.keys(days)


def remove_old_secret_file(settings: Settings) -> None:
    """Delete the secret earlier versions derived every day's IP-hash key from: while it
    exists, the hashes stored with it can be recomputed."""
    path = Path(settings.data_dir) / OLD_SECRET_FILE
    if path.exists():
        path.unlink()
        log.warning("deleted the old IP-hash secret file %s: visitor keys are random now", path)


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def build_stages(
    settings: Settings,
    *,
    key_store: VisitorKeyStore | None = None,
    now_ms: Callable[[], int] = wall_clock_ms,
) -> Stages:
    """The stateless stages on columns (operators/columnar/); the visitor keys come from
    ``key_store`` (by default the store the settings name, with new keys from
    ``os.urandom``)."""
    configs = stage_configs(settings)
    decoder = ColumnarDecoder(configs.validation)
    countries = configs.enrich.country_lookup()
    if countries is None:
        log.info("country lookup is off: INSIGHTLITE_GEOIP_DB is empty")
    else:
        log.info("country lookup from %s (%s)", settings.geoip_db, countries.database_type)
    deriver = VisitorDeriver(UserAgentClassifier(configs.bot_filter.patterns), countries)
    remove_old_secret_file(settings)
    store = key_store if key_store is not None else open_key_store(settings, os.urandom)
    resolver = VisitorResolver(deriver, PipelineKeys(DailyKeys(store, now_ms)))
    bot_filter = ColumnarBotFilter(resolver)
    enricher = ColumnarEnricher()
    anonymizer = ColumnarAnonymizer(settings.allowed_trait_keys)
    return Stages(
        validate=decoder.apply,
        later=[
            (STAGE_BOT_FILTER, bot_filter.apply),
            (STAGE_ENRICH, enricher.apply),
            (STAGE_ANONYMIZE, anonymizer.apply),
        ],
    )


def build_sessions_spec(settings: Settings, *, keep_snapshots: bool = False) -> SessionsSpec:
    """The session and heatmap stages' settings."""
    configs = stage_configs(settings)
    return SessionsSpec(
        sessions=configs.sessions,
        grid=configs.grid,
        shards=settings.session_shards,
        keep_snapshots=keep_snapshots,
    )
