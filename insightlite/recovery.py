"""The recovery store of a run: where it is, and creating it once."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from bytewax.recovery import RecoveryConfig, init_db_dir

from foundation.settings import Settings

log = logging.getLogger("insightlite.run")

# Where a Kafka run keeps its recovery store when none is configured.
DEFAULT_RECOVERY_DIR_NAME = "recovery"


def with_kafka_recovery(settings: Settings, input_kind: str) -> Settings:
    """Kafka input always runs with a recovery store, by default `recovery/` under
    the data directory; `INSIGHTLITE_RECOVERY_DIR` (or `--recovery-dir`) wins.

    The offsets read live only in the store (nothing is committed to the broker):
    without one, a second run would read the topic from the start again and add
    every heatmap count a second time.
    """
    if input_kind != "kafka" or settings.recovery_dir:
        return settings
    return settings.with_overrides(recovery_dir=str(settings.data_dir / DEFAULT_RECOVERY_DIR_NAME))


def recovery_config(
    settings: Settings, partitions: int, *, create: bool = True
) -> RecoveryConfig | None:
    """The recovery store, created on first use (by one process only) with
    `INSIGHTLITE_RECOVERY_PARTITIONS` partitions, or one per process."""
    if not settings.recovery_dir:
        return None
    directory = Path(settings.recovery_dir)
    partitions = settings.recovery_partitions or partitions
    if create and (not directory.exists() or not any(directory.glob("part-*.sqlite3"))):
        directory.mkdir(parents=True, exist_ok=True)
        init_db_dir(directory, partitions)
        log.info("created a recovery store of %d partitions in %s", partitions, directory)
    elif not create:
        # The other processes of a multi-machine cluster hold no partition, but
        # Bytewax needs the directory to exist on each of them.
        directory.mkdir(parents=True, exist_ok=True)
    return RecoveryConfig(directory, backup_interval=timedelta(seconds=settings.backup_seconds))


def existing_recovery_config(directory: str, backup_seconds: float) -> RecoveryConfig | None:
    """The store made by `recovery_config`, for worker processes (a picklable factory)."""
    if not directory:
        return None
    return RecoveryConfig(Path(directory), backup_interval=timedelta(seconds=backup_seconds))
