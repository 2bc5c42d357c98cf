-- Minimum crowd (k-anonymity) for heatmaps: the distinct sessions behind each cell.
--
-- The heatmap step inserts, with every row, the ids of the sessions behind it in the
-- EPHEMERAL column session_ids (never stored); the sessions column keeps their
-- uniqExact state, which SummingMergeTree merges like AggregatingMergeTree does. A
-- set inserted twice (a window rewritten after a crash, a replayed batch) is the same
-- set, so a session can never be counted twice. Read it with
-- uniqExactMerge(sessions) ... GROUP BY the cell. Rows written before this migration
-- have an empty state (0 sessions): with a minimum crowd above 1 they are suppressed.
ALTER TABLE {database}.heatmap_aggregates
    ADD COLUMN IF NOT EXISTS session_ids Array(UUID) EPHEMERAL;

ALTER TABLE {database}.heatmap_aggregates
    ADD COLUMN IF NOT EXISTS sessions AggregateFunction(uniqExact, UUID)
    DEFAULT arrayReduce('uniqExactState', session_ids);
