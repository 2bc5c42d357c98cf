-- Retention of the heatmap counts: heatmap_aggregates had no TTL, so a day's counts
-- were kept forever. They are anonymous aggregates (no session or visitor id), kept
-- 25 months by default, the CNIL audience-measurement exemption's limit for collected
-- data. INSIGHTLITE_HEATMAP_RETENTION_MONTHS is applied afterwards with ALTER TABLE
-- ... MODIFY TTL when it differs (connectors.clickhouse.retention), like every table's.
ALTER TABLE {database}.heatmap_aggregates MODIFY TTL date_bucket + INTERVAL 25 MONTH;
