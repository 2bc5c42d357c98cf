// The overview's key figures and their change against the previous period of the same
// length. Counts change in percent of the previous value; the bounce rate, itself a
// percentage, in percentage points. A rate of a period without sessions is no figure
// at all (not 0), so it is compared with nothing.
import type { StatsSummary } from '../../api/types';
import { formatCount, formatDuration, formatPercent, formatRatio } from '../../lib/format';

export type ChangeKind = 'relative' | 'points';

export interface Kpi {
  key: string;
  label: string;
  value(stats: StatsSummary): number | null;
  format(value: number): string;
  change: ChangeKind;
  higherIsBetter: boolean;
}

/** Page views per session: the API's figure, or page views over sessions until it sends one. */
export function pagesPerSession(stats: StatsSummary): number | null {
  if (stats.pages_per_session !== undefined) return stats.sessions > 0 ? stats.pages_per_session : null;
  return stats.sessions > 0 ? stats.pageviews / stats.sessions : null;
}

const perSession = (read: (stats: StatsSummary) => number) => (stats: StatsSummary) =>
  stats.sessions > 0 ? read(stats) : null;

export const KPIS: Kpi[] = [
  {
    key: 'visitors',
    label: 'Visitors',
    value: (s) => s.visitors,
    format: formatCount,
    change: 'relative',
    higherIsBetter: true,
  },
  {
    key: 'pageviews',
    label: 'Page views',
    value: (s) => s.pageviews,
    format: formatCount,
    change: 'relative',
    higherIsBetter: true,
  },
  {
    key: 'sessions',
    label: 'Sessions',
    value: (s) => s.sessions,
    format: formatCount,
    change: 'relative',
    higherIsBetter: true,
  },
  {
    key: 'bounce_rate',
    label: 'Bounce rate',
    value: perSession((s) => s.bounce_rate),
    format: formatPercent,
    change: 'points',
    higherIsBetter: false,
  },
  {
    key: 'pages_per_session',
    label: 'Pages per session',
    value: pagesPerSession,
    format: formatRatio,
    change: 'relative',
    higherIsBetter: true,
  },
  {
    key: 'avg_duration',
    label: 'Average duration',
    value: perSession((s) => s.avg_duration_seconds),
    format: formatDuration,
    change: 'relative',
    higherIsBetter: true,
  },
];

export type Change =
  /** 0.125 is 12.5 % more than before. */
  | { kind: 'relative'; ratio: number }
  /** Percentage points: 2.5 is a share 0.025 higher. */
  | { kind: 'points'; points: number }
  /** Something where there was nothing: no percentage of zero. */
  | { kind: 'new' }
  /** A period without the figure. */
  | { kind: 'unknown' };

export function compare(current: number | null, previous: number | null, kind: ChangeKind): Change {
  if (current === null || previous === null) return { kind: 'unknown' };
  if (kind === 'points') return { kind: 'points', points: (current - previous) * 100 };
  if (previous === 0) return current === 0 ? { kind: 'relative', ratio: 0 } : { kind: 'new' };
  return { kind: 'relative', ratio: (current - previous) / previous };
}

const MINUS = '\u2212';

/** The change as shown: "+12.5%", "−2.1 pp", "no change", "new", "no figure". */
export function describeChange(change: Change): string {
  switch (change.kind) {
    case 'unknown':
      return 'no figure';
    case 'new':
      return 'new';
    case 'relative':
    case 'points': {
      const amount = change.kind === 'relative' ? change.ratio * 100 : change.points;
      const rounded = Math.abs(amount).toFixed(1);
      if (rounded === '0.0') return 'no change';
      const sign = amount > 0 ? '+' : MINUS;
      return change.kind === 'relative' ? `${sign}${rounded}%` : `${sign}${rounded} pp`;
    }
  }
}

export type Tone = 'better' | 'worse' | 'neutral';

/** Whether the change is good news for the site (shown in colour and with an arrow). */
export function changeTone(change: Change, higherIsBetter: boolean): Tone {
  if (describeChange(change) === 'no change') return 'neutral';
  let direction = 0;
  if (change.kind === 'relative') direction = Math.sign(change.ratio);
  else if (change.kind === 'points') direction = Math.sign(change.points);
  else if (change.kind === 'new') direction = 1;
  if (direction === 0) return 'neutral';
  return direction > 0 === higherIsBetter ? 'better' : 'worse';
}
