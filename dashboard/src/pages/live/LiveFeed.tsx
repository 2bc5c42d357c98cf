// The site's events as they come, newest first, as the API sends them (masked as
// stored): time, type, page, device, country, and the error class or referrer. Pausing
// keeps the rows still to read them; the events that arrive meanwhile are counted.
import { useState } from 'react';
import type { ReceivedEvent } from '../../live/liveStream';
import type { LiveEvent } from '../../live/protocol';
import { formatCount } from '../../lib/format';
import { EventIcon } from './EventIcon';
import { arrivedSince } from './feedPause';

/** Rows shown; the stream keeps more (the click dots and page list use them). */
export const FEED_ROWS = 100;
/** Types that come many a second while a visitor reads: hidden unless asked for. */
const FREQUENT_TYPES = new Set(['move', 'scroll']);

const TYPE_NAMES: Record<string, string> = {
  pageview: 'Page view',
  click: 'Click',
  move: 'Move',
  scroll: 'Scroll',
  error: 'Error',
  custom: 'Custom',
};

/** "12:00:01" (UTC) of the event's own time. */
export function eventTime(timestamp: string): string {
  const instant = new Date(timestamp);
  return Number.isNaN(instant.getTime()) ? timestamp : instant.toISOString().slice(11, 19);
}

function detail(event: LiveEvent): string {
  if (event.event_type === 'error') return event.error_class;
  if (event.event_type === 'pageview' && event.referrer !== '') return `from ${event.referrer}`;
  return '';
}

export interface LiveFeedProps {
  /** Newest first, already filtered. */
  events: ReceivedEvent[];
}

export function LiveFeed({ events }: LiveFeedProps) {
  const [frozen, setFrozen] = useState<ReceivedEvent[] | null>(null);
  const [showFrequent, setShowFrequent] = useState(false);
  const paused = frozen !== null;
  const visible = (list: readonly ReceivedEvent[]) =>
    showFrequent ? list : list.filter((item) => !FREQUENT_TYPES.has(item.event.event_type));
  const current = visible(events);
  const rows = (paused ? visible(frozen) : current).slice(0, FEED_ROWS);
  const arrived = paused ? arrivedSince(current, visible(frozen)) : null;

  return (
    <section aria-labelledby="live-feed-title" className="flex min-w-0 flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="live-feed-title" className="text-lg font-semibold">
          Events
        </h2>
        <button
          type="button"
          className="rounded-md border border-slate-400 px-2.5 py-1 text-sm font-medium"
          onClick={() => setFrozen(paused ? null : events)}
        >
          {paused ? 'Resume the feed' : 'Pause the feed'}
        </button>
        <label className="flex items-center gap-1.5 text-sm">
          <input type="checkbox" checked={showFrequent} onChange={(event) => setShowFrequent(event.target.checked)} />
          Show moves and scrolls
        </label>
        {arrived !== null ? (
          <span className="text-sm text-slate-700">
            Paused; {arrived.atLeast ? 'more than ' : ''}
            {formatCount(arrived.count)} new {arrived.count === 1 && !arrived.atLeast ? 'event' : 'events'} since.
          </span>
        ) : null}
      </div>
      {rows.length === 0 ? (
        <p className="text-sm text-slate-700">
          {paused ? 'No events were shown when the feed was paused.' : 'No events yet: they appear here as they come.'}
        </p>
      ) : (
        <div
          // Scrolls on its own: reachable by keyboard to scroll it.
          tabIndex={0}
          role="region"
          aria-label="The latest events"
          className="max-h-[40rem] overflow-auto rounded-lg border border-slate-300 bg-white"
        >
          <table className="w-full text-left text-sm">
            <caption className="sr-only">The latest events, newest first (times in UTC)</caption>
            <thead className="sticky top-0 border-b border-slate-300 bg-white whitespace-nowrap text-slate-700">
              <tr>
                <th scope="col" className="px-3 py-2 font-medium">Time (UTC)</th>
                <th scope="col" className="px-3 py-2 font-medium">Event</th>
                <th scope="col" className="px-3 py-2 font-medium">Page</th>
                <th scope="col" className="px-3 py-2 font-medium">Device</th>
                <th scope="col" className="px-3 py-2 font-medium">Country</th>
                <th scope="col" className="px-3 py-2 font-medium">Detail</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ event }) => (
                <tr key={event.event_id} className="border-b border-slate-200 last:border-b-0">
                  <td className="px-3 py-1.5 tabular-nums text-slate-700">{eventTime(event.timestamp)}</td>
                  <td className="px-3 py-1.5">
                    <span className="flex items-center gap-1.5 whitespace-nowrap">
                      <EventIcon type={event.event_type} />
                      {TYPE_NAMES[event.event_type] ?? event.event_type}
                    </span>
                  </td>
                  <td className="max-w-56 truncate px-3 py-1.5 font-mono text-xs" title={event.url_path}>
                    {event.url_path}
                  </td>
                  <td className="px-3 py-1.5">{event.device_type}</td>
                  <td className="px-3 py-1.5">{event.country_code === '' ? 'Unknown' : event.country_code}</td>
                  <td className="max-w-56 truncate px-3 py-1.5 text-slate-700" title={detail(event)}>
                    {detail(event)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
