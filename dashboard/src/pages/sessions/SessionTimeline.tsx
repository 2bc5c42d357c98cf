// The session's events as a list per page view (see timeline.ts for the grouping).
import { useMemo } from 'react';
import type { SessionDetail } from '../../api/sessions';
import { formatCount } from '../../lib/format';
import { type TimelineGroup, type TimelineItem, buildTimeline } from './timeline';

/** Milliseconds since the start as "+1:05" (or "+1:02:05" past an hour). */
export function formatOffset(ms: number): string {
  const total = Math.floor(ms / 1000);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `+${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `+${minutes}:${seconds}`;
}

const KIND_STYLE: Record<TimelineItem['kind'], { label: string; className: string }> = {
  click: { label: 'Click', className: 'bg-slate-200 text-slate-900' },
  rage_click: { label: 'Rage click', className: 'bg-amber-100 text-amber-950' },
  error: { label: 'Error', className: 'bg-red-100 text-red-900' },
  scrolls: { label: 'Scroll', className: 'bg-sky-100 text-sky-950' },
  custom: { label: 'Event', className: 'bg-violet-100 text-violet-950' },
};

function describe(item: TimelineItem): string {
  switch (item.kind) {
    case 'click':
      return item.target ? `on ${item.target}` : 'on the page';
    case 'rage_click':
      return `${formatCount(item.clicks)} clicks within ${formatOffset(item.untilOffsetMs - item.offsetMs).slice(1)}${
        item.target ? ` on ${item.target}` : ''
      }`;
    case 'error':
      return `${item.errorClass || 'unclassified'}: ${item.message || '(no message)'}`;
    case 'scrolls':
      return `${formatCount(item.count)} scroll${item.count === 1 ? '' : 's'}${
        item.deepestPx === null ? '' : `, down to ${formatCount(Math.round(item.deepestPx))} px`
      }`;
    case 'custom':
      return item.name || '(no name)';
  }
}

function Item({ item }: { item: TimelineItem }) {
  const style = KIND_STYLE[item.kind];
  return (
    <li className="flex items-baseline gap-3 py-1 text-sm">
      <span className="w-16 shrink-0 text-right font-mono text-xs text-slate-700 tabular-nums">
        <time dateTime={item.at}>{formatOffset(item.offsetMs)}</time>
      </span>
      <span className={`shrink-0 rounded px-1.5 py-0.5 text-xs font-medium ${style.className}`}>{style.label}</span>
      <span className="min-w-0 break-words">{describe(item)}</span>
    </li>
  );
}

function Group({ group }: { group: TimelineGroup }) {
  return (
    <li className="border-l-2 border-indigo-300 pl-4">
      <h3 className="flex flex-wrap items-baseline gap-x-3 text-sm font-semibold">
        <span className="font-mono text-xs font-normal text-slate-700">
          <time dateTime={group.at}>{formatOffset(group.offsetMs)}</time>
        </span>
        <span className="break-all">
          {group.pageview ? 'Viewed ' : 'Before the first page view, on '}
          {group.path || '(no path)'}
        </span>
        {group.referrer ? <span className="font-normal text-slate-700">from {group.referrer}</span> : null}
      </h3>
      {group.items.length > 0 ? (
        <ol className="mt-1">
          {group.items.map((item, index) => (
            // The list is derived once from the events and never reordered.
            <Item key={index} item={item} />
          ))}
        </ol>
      ) : null}
      {group.moves > 0 ? (
        <p className="py-1 text-xs text-slate-700">
          {formatCount(group.moves)} pointer move{group.moves === 1 ? '' : 's'} (not listed)
        </p>
      ) : null}
    </li>
  );
}

export function SessionTimeline({ detail }: { detail: SessionDetail }) {
  const groups = useMemo(() => buildTimeline(detail.events, detail.session.start_time), [detail]);
  return (
    <section aria-labelledby="session-timeline" className="rounded-lg border border-slate-300 bg-white p-4">
      <h2 id="session-timeline" className="mb-1 text-lg font-semibold">
        Timeline
      </h2>
      <p className="mb-3 text-sm text-slate-700">
        Times from the session's start; scrolls in a row are folded into one line.
        {detail.events_truncated ? ` Only the first ${formatCount(detail.events.length)} events are shown.` : ''}
      </p>
      {groups.length === 0 ? (
        <p className="text-sm text-slate-700">No events are kept for this session.</p>
      ) : (
        <ol className="flex flex-col gap-3">
          {groups.map((group, index) => (
            <Group key={index} group={group} />
          ))}
        </ol>
      )}
    </section>
  );
}
