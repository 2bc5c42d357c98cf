// The overview's tables, one per breakdown of the API, and the filter a row sets:
//   pages, entry pages, exit pages  -> path (the API's path filter keeps that page's
//                                      page views and the sessions that entered on it)
//   devices -> device; countries -> country
//   referrers -> none: a referrer is another site's address, and the API has no
//                referrer filter.
// Rows of unknown values ('' country) set nothing either.
import type { BreakdownDimension, BreakdownRow } from '../../api/types';
import { formatCount, formatDuration, formatPercent } from '../../lib/format';
import type { FilterKey } from '../../state/dashboardSearch';

export interface BreakdownColumn {
  key: string;
  label: string;
  value(row: BreakdownRow): number | null;
  format(value: number): string;
}

export interface BreakdownTableDefinition {
  by: BreakdownDimension;
  title: string;
  valueLabel: string;
  /** What the API ranks the rows by, drawn as a bar behind each row (its share of the first). */
  bar: 'pageviews' | 'sessions';
  columns: BreakdownColumn[];
  filter: FilterKey | null;
  /** Newer than some API versions: a refusal of the dimension reads "not offered yet". */
  newer?: boolean;
}

const VISITORS: BreakdownColumn = {
  key: 'visitors',
  label: 'Visitors',
  value: (row) => row.visitors,
  format: formatCount,
};
const PAGEVIEWS: BreakdownColumn = {
  key: 'pageviews',
  label: 'Page views',
  value: (row) => row.pageviews,
  format: formatCount,
};
const SESSIONS: BreakdownColumn = {
  key: 'sessions',
  label: 'Sessions',
  value: (row) => row.sessions,
  format: formatCount,
};
const BOUNCE: BreakdownColumn = {
  key: 'bounce_rate',
  label: 'Bounce rate',
  value: (row) => (row.sessions > 0 ? row.bounce_rate : null),
  format: formatPercent,
};
const DURATION: BreakdownColumn = {
  key: 'avg_duration_seconds',
  label: 'Avg. duration',
  value: (row) => (row.sessions > 0 ? row.avg_duration_seconds : null),
  format: formatDuration,
};
/** Of an exit page's views, the share that ended a session. */
const EXIT_RATE: BreakdownColumn = {
  key: 'exit_rate',
  label: 'Exit rate',
  value: (row) => (row.pageviews > 0 ? Math.min(1, row.sessions / row.pageviews) : null),
  format: formatPercent,
};

export const BREAKDOWN_TABLES: BreakdownTableDefinition[] = [
  {
    by: 'page',
    title: 'Top pages',
    valueLabel: 'Page',
    bar: 'pageviews',
    columns: [VISITORS, PAGEVIEWS],
    filter: 'path',
  },
  {
    by: 'entry_page',
    title: 'Entry pages',
    valueLabel: 'Page',
    bar: 'sessions',
    columns: [SESSIONS, BOUNCE],
    filter: 'path',
    newer: true,
  },
  {
    by: 'exit_page',
    title: 'Exit pages',
    valueLabel: 'Page',
    bar: 'sessions',
    columns: [SESSIONS, EXIT_RATE],
    filter: 'path',
    newer: true,
  },
  {
    by: 'referrer',
    title: 'Referrers',
    valueLabel: 'Referrer',
    bar: 'sessions',
    columns: [SESSIONS, VISITORS],
    filter: null,
    newer: true,
  },
  {
    by: 'device',
    title: 'Devices',
    valueLabel: 'Device',
    bar: 'pageviews',
    columns: [VISITORS, PAGEVIEWS, DURATION],
    filter: 'device',
  },
  {
    by: 'country',
    title: 'Countries',
    valueLabel: 'Country',
    bar: 'pageviews',
    columns: [VISITORS, PAGEVIEWS],
    filter: 'country',
  },
];

/** The value as shown: unknown values get words instead of an empty cell. */
export function displayValue(table: BreakdownTableDefinition, value: string): string {
  if (value !== '') return value;
  return table.by === 'referrer' ? 'Direct or none' : 'Unknown';
}

/** The filter a click on the row sets, or null when the row sets none. */
export function rowFilter(
  table: BreakdownTableDefinition,
  row: BreakdownRow,
): { key: FilterKey; value: string } | null {
  if (table.filter === null || row.value === '') return null;
  return { key: table.filter, value: row.value };
}
