// Page views and visitors over the days shown, per hour, day or week (the interval is
// kept in the URL; hours are offered for ranges up to 31 days, as the API allows).
import { useMemo } from 'react';
import { useTimeseries } from '../../api/hooks';
import type { Interval, Timeseries } from '../../api/types';
import { QueryState } from '../../components/QueryState';
import { TimeChart } from '../../components/TimeChart';
import { TOGGLE_BUTTON } from '../../components/styles';
import { daysInRange, formatUtc } from '../../lib/dates';
import { formatCount } from '../../lib/format';
import { useDashboard, useSiteRead } from '../../state/useDashboard';

export const MAX_HOURLY_DAYS = 31;
const INTERVALS: Interval[] = ['hour', 'day', 'week'];
const INTERVAL_LABELS: Record<Interval, string> = { hour: 'Hours', day: 'Days', week: 'Weeks' };
const INTERVAL_SECONDS: Record<Interval, number> = { hour: 3600, day: 86_400, week: 7 * 86_400 };

/** The interval a link asks for when the range allows it; else hours for one day, days otherwise. */
export function chartInterval(requested: string | null, days: number): Interval {
  if (requested === 'day' || requested === 'week') return requested;
  if (requested === 'hour' && days <= MAX_HOURLY_DAYS) return 'hour';
  return days === 1 ? 'hour' : 'day';
}

function Chart({ answer }: { answer: Timeseries }) {
  const times = useMemo(() => answer.points.map((point) => Date.parse(point.start) / 1000), [answer]);
  const series = useMemo(
    () => [
      { label: 'Page views', color: '#4338ca', values: answer.points.map((point) => point.pageviews) },
      { label: 'Visitors', color: '#047857', values: answer.points.map((point) => point.visitors) },
    ],
    [answer],
  );
  return (
    <>
      <TimeChart
        label={`Page views and visitors per ${answer.interval}, ${answer.date_from} to ${answer.date_to} (UTC)`}
        times={times}
        series={series}
        step={INTERVAL_SECONDS[answer.interval] ?? 3600}
      />
      <details className="mt-3 text-sm">
        <summary className="cursor-pointer font-medium text-indigo-800">The figures as a table</summary>
        <table className="mt-2 w-full max-w-xl text-left">
          <thead>
            <tr className="border-b border-slate-300">
              <th scope="col" className="py-1 font-medium">
                Start
              </th>
              <th scope="col" className="py-1 text-right font-medium">
                Page views
              </th>
              <th scope="col" className="py-1 text-right font-medium">
                Visitors
              </th>
            </tr>
          </thead>
          <tbody>
            {answer.points.map((point) => (
              <tr key={point.start} className="border-b border-slate-200">
                <td className="py-1">{formatUtc(point.start)}</td>
                <td className="py-1 text-right tabular-nums">{formatCount(point.pageviews)}</td>
                <td className="py-1 text-right tabular-nums">{formatCount(point.visitors)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

export function TrafficChart() {
  const dashboard = useDashboard();
  const read = useSiteRead();
  const days = daysInRange(read.from, read.to);
  const interval = chartInterval(dashboard.params.get('interval'), days);
  const query = useTimeseries(read, interval);
  return (
    <section aria-labelledby="traffic-title" className="rounded-lg border border-slate-300 bg-white p-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 id="traffic-title" className="text-lg font-semibold">
          Page views and visitors
        </h2>
        <fieldset className="flex items-center gap-1">
          <legend className="sr-only">Interval</legend>
          {INTERVALS.map((choice) => {
            const disabled = choice === 'hour' && days > MAX_HOURLY_DAYS;
            return (
              <button
                key={choice}
                type="button"
                disabled={disabled}
                title={disabled ? `Hours are offered for up to ${MAX_HOURLY_DAYS} days` : undefined}
                aria-pressed={interval === choice}
                className={TOGGLE_BUTTON}
                onClick={() => dashboard.setParam('interval', choice)}
              >
                {INTERVAL_LABELS[choice]}
              </button>
            );
          })}
        </fieldset>
      </div>
      <div className="mt-3">
        <QueryState query={query} what="the traffic over time">
          {(answer) => <Chart answer={answer} />}
        </QueryState>
      </div>
    </section>
  );
}
