// The site's active visitors, active sessions and events per second, from the API's
// summary of every second, each with a sparkline of the last minutes.
import type { LiveSummary } from '../../live/protocol';
import { formatCount } from '../../lib/format';
import { Sparkline } from './Sparkline';

interface Figure {
  label: string;
  detail: string;
  value(summary: LiveSummary): number;
  format(value: number): string;
}

const FIGURES: Figure[] = [
  {
    label: 'Active visitors',
    detail: 'in the last 5 minutes',
    value: (summary) => summary.active_visitors,
    format: formatCount,
  },
  {
    label: 'Active sessions',
    detail: 'in the last 5 minutes',
    value: (summary) => summary.active_sessions,
    format: formatCount,
  },
  {
    label: 'Events per second',
    detail: 'over the last 10 seconds',
    value: (summary) => summary.events_per_second,
    format: (value) => value.toFixed(1),
  },
];

export interface LiveFiguresProps {
  /** Oldest first. */
  summaries: LiveSummary[];
  /** Events the API dropped for this page since it opened. */
  dropped: number;
  /** The dashboard's filters are set (they do not apply to these figures). */
  filtered: boolean;
}

export function LiveFigures({ summaries, dropped, filtered }: LiveFiguresProps) {
  const latest = summaries.at(-1);
  return (
    <section aria-labelledby="live-figures-title" className="flex flex-col gap-2">
      <h2 id="live-figures-title" className="text-lg font-semibold">
        Right now
      </h2>
      <dl className="grid gap-4 sm:grid-cols-3">
        {FIGURES.map((figure) => (
          <div key={figure.label} className="rounded-lg border border-slate-300 bg-white p-4">
            <dt className="text-sm text-slate-700">
              {figure.label} <span className="text-slate-600">{figure.detail}</span>
            </dt>
            <dd className="mt-1 text-2xl font-semibold tabular-nums">
              {latest === undefined || latest.suppressed ? '–' : figure.format(figure.value(latest))}
            </dd>
            <dd className="mt-2">
              <Sparkline
                label={`${figure.label}, last minutes`}
                points={summaries.map((summary) => ({ at: summary.at, value: figure.value(summary) }))}
                format={figure.format}
              />
            </dd>
          </div>
        ))}
      </dl>
      <p className="text-sm text-slate-700">
        {latest === undefined ? 'Waiting for the first figures. ' : ''}
        {filtered ? 'These figures are the whole site’s: the filters apply to the feed and the clicks only.' : ''}
      </p>
      {latest?.suppressed ? (
        <p className="text-sm text-slate-700" data-testid="suppressed-note">
          Too few visitors are active right now to show these figures without singling anyone out.
        </p>
      ) : null}
      {dropped > 0 ? (
        <p className="text-sm text-amber-900">
          {formatCount(dropped)} events did not reach this page (it fell behind the stream); the feed misses them.
        </p>
      ) : null}
    </section>
  );
}
