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

export interface Breakdown {
  by: BreakdownDimension;
  date_from: string;
  date_to: string;
  rows: BreakdownRow[];
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
}

/** Every error answer of the API. */
export interface ErrorBody {
  error: string;
  message: string;
  detail?: Array<Record<string, unknown>> | null;
}
