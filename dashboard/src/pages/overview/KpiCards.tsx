// The key figures of the days shown, each with its change against the previous period
// of the same length (a second summary read).
import type { UseQueryResult } from '@tanstack/react-query';
import type { StatsSummary } from '../../api/types';
import { ApiErrorMessage } from '../../components/ApiErrorMessage';
import { QueryState } from '../../components/QueryState';
import { daysInRange } from '../../lib/dates';
import type { DayRange } from '../../state/dashboardSearch';
import { type Change, KPIS, type Kpi, changeTone, compare, describeChange } from './kpis';

const TONE_CLASS = { better: 'text-emerald-800', worse: 'text-red-800', neutral: 'text-slate-700' } as const;

function ChangeLine({
  kpi,
  current,
  previous,
  period,
}: {
  kpi: Kpi;
  current: StatsSummary;
  previous: StatsSummary;
  period: string;
}) {
  const now = kpi.value(current);
  const before = kpi.value(previous);
  const change = compare(now, before, kpi.change);
  const tone = changeTone(change, kpi.higherIsBetter);
  const text = describeChange(change);
  const arrow = text === 'no change' ? '' : changeArrow(change);
  return (
    <dd className={`mt-1 text-sm ${TONE_CLASS[tone]}`}>
      {arrow ? <span aria-hidden="true">{arrow} </span> : null}
      <span className="font-medium">{text}</span>{' '}
      <span className="text-slate-700">
        vs {period}
        {before === null ? '' : ` (${kpi.format(before)})`}
      </span>
    </dd>
  );
}

function changeArrow(change: Change): string {
  if (change.kind === 'new') return '▲';
  if (change.kind === 'relative') return change.ratio > 0 ? '▲' : '▼';
  if (change.kind === 'points') return change.points > 0 ? '▲' : '▼';
  return '';
}

export interface KpiCardsProps {
  current: UseQueryResult<StatsSummary>;
  previous: UseQueryResult<StatsSummary>;
  previousRange: DayRange;
}

export function KpiCards({ current, previous, previousRange }: KpiCardsProps) {
  const days = daysInRange(previousRange.from, previousRange.to);
  const period = days === 1 ? 'the day before' : `the ${days} days before`;
  return (
    <QueryState query={current} what="the key figures">
      {(stats) => (
        <>
          <dl className="grid grid-cols-2 gap-4 lg:grid-cols-3 xl:grid-cols-6">
            {KPIS.map((kpi) => {
              const value = kpi.value(stats);
              return (
                <div key={kpi.key} className="rounded-lg border border-slate-300 bg-white px-4 py-3">
                  <dt className="text-sm font-medium text-slate-700">{kpi.label}</dt>
                  <dd className="mt-1 text-2xl font-semibold tabular-nums">
                    {value === null ? '–' : kpi.format(value)}
                  </dd>
                  {previous.data ? (
                    <ChangeLine kpi={kpi} current={stats} previous={previous.data} period={period} />
                  ) : (
                    <dd className="mt-1 text-sm text-slate-700">{previous.isError ? 'no comparison' : 'comparing…'}</dd>
                  )}
                </div>
              );
            })}
          </dl>
          <p className="mt-2 text-sm text-slate-700">
            Changes compare with the same number of days just before: {previousRange.from} to {previousRange.to} (UTC).
          </p>
          {previous.isError ? <ApiErrorMessage what="the previous period" error={previous.error} /> : null}
        </>
      )}
    </QueryState>
  );
}
