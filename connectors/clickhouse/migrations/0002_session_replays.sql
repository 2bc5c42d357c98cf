-- Session replay: one row per stored chunk, and one aggregate row per recording.
--
-- session_replay_chunks: the replay step writes a row per chunk it stores (the blob is in
-- the archive under blob_name). ReplacingMergeTree keyed by the chunk: a chunk stored
-- twice (a resend, a replay after a crash) is one row after a merge or with FINAL.
--
-- session_replays: what the list of recordings reads, fed by the materialized view below
-- on every insert into the chunks table. Every column is an idempotent aggregate (min,
-- max, uniqExact and groupUniqArray over ids), so a chunk inserted twice counts once
-- even before any merge: chunk count, events and bytes are summed at read time over
-- the distinct (chunk_id, event_count, blob_bytes) tuples. Read it with the -Merge
-- combinators and GROUP BY (site_id, session_id).
--
-- Both TTLs start at INSIGHTLITE_REPLAY_RETENTION_DAYS' default; the setting is applied
-- with ALTER TABLE ... MODIFY TTL when it differs (connectors.clickhouse.retention).
CREATE TABLE IF NOT EXISTS {database}.session_replay_chunks (
    site_id LowCardinality(String),
    session_id UUID,
    chunk_id UUID,
    seq UInt32,
    start_time DateTime64(3, 'UTC'),
    end_time DateTime64(3, 'UTC'),
    event_count UInt32,
    blob_bytes UInt32,
    blob_name String,
    active_seconds Array(UInt32),
    click_ids Array(UInt64),
    rage_click_ids Array(UInt64),
    error_ids Array(UInt64),
    pages Array(String),
    device_type LowCardinality(String),
    country_code LowCardinality(String),
    received_at DateTime64(3, 'UTC')
) ENGINE = ReplacingMergeTree
ORDER BY (site_id, session_id, chunk_id)
TTL toDateTime(end_time) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE TABLE IF NOT EXISTS {database}.session_replays (
    site_id LowCardinality(String),
    session_id UUID,
    start_time SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
    end_time SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
    chunks AggregateFunction(groupUniqArray, Tuple(UUID, UInt32, UInt32)),
    active_seconds AggregateFunction(uniqExact, UInt32),
    clicks AggregateFunction(uniqExact, UInt64),
    rage_clicks AggregateFunction(uniqExact, UInt64),
    errors AggregateFunction(uniqExact, UInt64),
    pages AggregateFunction(groupUniqArray, String),
    device_type SimpleAggregateFunction(anyLast, LowCardinality(String)),
    country_code SimpleAggregateFunction(anyLast, LowCardinality(String))
) ENGINE = AggregatingMergeTree
ORDER BY (site_id, session_id)
TTL toDateTime(end_time) + INTERVAL 30 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.session_replays_from_chunks
TO {database}.session_replays AS
SELECT
    site_id,
    session_id,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    groupUniqArrayState(tuple(chunk_id, event_count, blob_bytes)) AS chunks,
    uniqExactArrayState(active_seconds) AS active_seconds,
    uniqExactArrayState(click_ids) AS clicks,
    uniqExactArrayState(rage_click_ids) AS rage_clicks,
    uniqExactArrayState(error_ids) AS errors,
    groupUniqArrayArrayState(pages) AS pages,
    anyLast(device_type) AS device_type,
    anyLast(country_code) AS country_code
FROM {database}.session_replay_chunks
GROUP BY site_id, session_id;
