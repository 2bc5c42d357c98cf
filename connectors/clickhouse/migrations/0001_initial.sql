-- InsightLite initial schema: the architecture's three tables with the fixes noted below.
-- {database} is replaced by the client's (validated) database name.
--
-- Every table sets non_replicated_deduplication_window: a plain (non-replicated)
-- MergeTree only remembers inserted blocks, and so drops a retried batch carrying the
-- same insert_deduplication_token, when this window is above zero. Sinks retry a batch
-- with the same token; without it a retry would count twice (SummingMergeTree).
--
-- ReplacingMergeTree and SummingMergeTree collapse rows only when parts merge, at an
-- unknown later time: readers use FINAL, argMax(..., version) or sum(...) ... GROUP BY.

-- Raw events.
-- Deviations from the architecture:
--   * ENGINE = ReplacingMergeTree with event_id in the sorting key, so an event
--     delivered twice (client retry, replayed Kafka offsets) collapses to one row.
--   * The key holds toDate(timestamp), not timestamp: a retried event arrives with a
--     slightly different, server-corrected timestamp, and a key holding the exact time
--     would keep both copies apart. The day keeps time-range pruning; duplicates of an
--     event retried across midnight can stay apart (rare, and FINAL readers see both).
CREATE TABLE IF NOT EXISTS {database}.events (
    event_id UUID,
    session_id UUID,
    site_id LowCardinality(String),
    timestamp DateTime64(3, 'UTC'),
    event_type LowCardinality(String),
    event_data String,            -- JSON of the kept optional fields, PII-masked
    url_path String,
    referrer String,
    device_type LowCardinality(String),
    viewport_width UInt16,
    viewport_height UInt16,
    user_agent_hash UInt64,
    ip_hash UInt64,
    country_code LowCardinality(String),
    error_class LowCardinality(String),
    received_at DateTime64(3, 'UTC'),
    created_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (site_id, toDate(timestamp), session_id, event_id)
TTL toDateTime(timestamp) + INTERVAL 13 MONTH
SETTINGS non_replicated_deduplication_window = 1000;

-- Click/move/scroll counts per page cell and day.
-- Deviations from the architecture:
--   * interaction_count UInt64 (was UInt32): SummingMergeTree adds counts on every
--     merge, and a busy page's cell can pass 2^32 - 1 over a day of merges and wrap.
--   * interaction_type is in the sorting key: SummingMergeTree sums rows with equal
--     keys, so without it click counts would be added to move counts.
-- last_updated is neither summed nor in the key: after a merge it holds the value of
-- one of the merged rows, so readers wanting the latest take max(last_updated).
CREATE TABLE IF NOT EXISTS {database}.heatmap_aggregates (
    site_id LowCardinality(String),
    url_path String,
    device_type LowCardinality(String),
    date_bucket Date,
    interaction_type LowCardinality(String),
    grid_x UInt16,
    grid_y UInt16,
    interaction_count UInt64,
    last_updated DateTime
) ENGINE = SummingMergeTree(interaction_count)
PARTITION BY toYYYYMM(date_bucket)
ORDER BY (site_id, url_path, device_type, date_bucket, interaction_type, grid_x, grid_y)
SETTINGS non_replicated_deduplication_window = 1000;

-- One row per session; the sessionizer writes a new row with a higher version whenever
-- the session changes, and ReplacingMergeTree(version) keeps the highest.
-- Deviations from the architecture:
--   * Added entry_path, exit_path, rage_click_count, error_count (the sessionizer's
--     output) and version (the replacing version).
--   * ORDER BY (site_id, session_id), not a key holding start_time: a late, out-of-order
--     event can move start_time earlier, and a key containing start_time would then keep
--     two rows for one session (replacement happens only between equal keys).
--   * No PARTITION BY start_time, for the same reason: replacement happens only inside
--     one partition, and a late event can move start_time into the previous month. With
--     one partition FINAL is always exact; old rows still leave through the TTL.
CREATE TABLE IF NOT EXISTS {database}.sessions (
    session_id UUID,
    site_id LowCardinality(String),
    start_time DateTime64(3, 'UTC'),
    end_time DateTime64(3, 'UTC'),
    page_count UInt16,
    event_count UInt32,
    device_type LowCardinality(String),
    country_code LowCardinality(String),
    duration_seconds UInt32,
    has_errors Bool,
    has_rage_clicks Bool,
    entry_path String,
    exit_path String,
    rage_click_count UInt32,
    error_count UInt32,
    version UInt64
) ENGINE = ReplacingMergeTree(version)
ORDER BY (site_id, session_id)
TTL toDateTime(end_time) + INTERVAL 13 MONTH
SETTINGS non_replicated_deduplication_window = 1000;
