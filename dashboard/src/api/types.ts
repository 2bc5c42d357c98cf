// The query API's answers (docs/api.md, api/query/models.py). Days are "YYYY-MM-DD"
// (UTC), instants ISO 8601 strings. Fields marked optional are newer than some API
// versions: the dashboard works without them.

export interface StatsSummary {
  date_from: string;
  date_to: string;
  pageviews: number;
  sessions: number;
  visitors: number;
  /** Share of sessions with at most one page view, 0..1. */
  bounce_rate: number;
  avg_duration_seconds: number;
  pages_per_session?: number;
}

export type Interval = 'hour' | 'day' | 'week';

export interface StatsPoint {
  start: string;
  pageviews: number;
  sessions: number;
  visitors: number;
  bounce_rate: number;
  avg_duration_seconds: number;
}

export interface Timeseries {
  interval: Interval;
  date_from: string;
  date_to: string;
  points: StatsPoint[];
}

/** `entry_page`, `exit_page` and `referrer` are newer than some API versions. */
export type BreakdownDimension = 'page' | 'entry_page' | 'exit_page' | 'referrer' | 'device' | 'country';

export interface BreakdownRow {
  /** The page path, referrer, device class or country code ('' = unknown). */
  value: string;
  pageviews: number;
  visitors: number;
  sessions: number;
  bounce_rate: number;
  avg_duration_seconds: number;
}

/** What the API held back because fewer than min_crowd distinct sessions were behind it. */
export interface Suppressed {
  /** The k that applied (1: the minimum crowd is off). */
  min_crowd: number;
  /** Rows (cells, groups) held back. */
  rows: number;
  /** Sessions behind them (a session behind two rows counts twice). */
  sessions: number;
  /** Interactions (page views, occurrences, clicks) in them. */
  interactions: number;
}

export interface Breakdown {
  by: BreakdownDimension;
  date_from: string;
  date_to: string;
  rows: BreakdownRow[];
  /** Absent from an API without a minimum crowd. */
  suppressed?: Suppressed;
}

export interface ErrorGroup {
  error_class: string;
  message: string;
  occurrences: number;
  sessions: number;
  first_seen: string;
  last_seen: string;
  example_path: string;
  /** A session that hit the error, to watch or inspect; absent or null when none. */
  example_session_id?: string | null;
}

export interface ErrorsAnswer {
  date_from: string;
  date_to: string;
  groups: ErrorGroup[];
  /** Absent from an API without a minimum crowd. */
  suppressed?: Suppressed;
}

/** Every error answer of the API. */
export interface ErrorBody {
  error: string;
  message: string;
  detail?: Array<Record<string, unknown>> | null;
}
