// A session's events as the session page lists them: one group per page view, holding
// what happened on that page in time order. Clicks that form a rage burst become one
// rage-click item, consecutive scrolls one "scrolled" item, and pointer moves are only
// counted (a session has hundreds; the heatmaps show them).
import type { SessionEvent } from '../../api/sessions';
import { type ClickPoint, rageBursts } from './rageClicks';

interface Timed {
  /** The event's instant, ISO 8601 as the API sent it. */
  at: string;
  /** Milliseconds since the session started. */
  offsetMs: number;
}

export type TimelineItem =
  | (Timed & { kind: 'click'; target: string })
  | (Timed & { kind: 'rage_click'; target: string; clicks: number; untilOffsetMs: number })
  | (Timed & { kind: 'error'; errorClass: string; message: string })
  | (Timed & { kind: 'scrolls'; count: number; deepestPx: number | null; untilOffsetMs: number })
  | (Timed & { kind: 'custom'; name: string });

export interface TimelineGroup extends Timed {
  /** The page viewed, or the page of the first event when the session has none before it. */
  path: string;
  referrer: string;
  /** False for events before the session's first page view. */
  pageview: boolean;
  items: TimelineItem[];
  moves: number;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function number(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function errorMessage(event: SessionEvent): string {
  const error = event.data.error;
  return typeof error === 'object' && error !== null ? text((error as Record<string, unknown>).message) : '';
}

/** The deepest point a scroll showed: the viewport's bottom, in page pixels. */
function scrollBottom(event: SessionEvent): number | null {
  const top = number(event.data.scroll_y);
  return top === null ? null : top + Math.max(0, event.viewport_height);
}

/** Indices of the events that are clicks in a rage burst, by the burst's first click. */
function rageClickIndex(events: readonly SessionEvent[], times: readonly number[]): Map<number, number[]> {
  const clickIndices: number[] = [];
  const points: ClickPoint[] = [];
  events.forEach((event, index) => {
    const x = number(event.data.x);
    const y = number(event.data.y);
    if (event.type !== 'click' || x === null || y === null) return;
    clickIndices.push(index);
    points.push({ time: times[index] as number, x, y, fixed: event.data.fixed === true });
  });
  const bursts = new Map<number, number[]>();
  for (const burst of rageBursts(points)) {
    const indices = burst.map((position) => clickIndices[position] as number);
    bursts.set(indices[0] as number, indices);
  }
  return bursts;
}

/** The session's timeline: `events` in time order (as the API sends them), `start` the session's start. */
export function buildTimeline(events: readonly SessionEvent[], start: string): TimelineGroup[] {
  const startMs = Date.parse(start);
  const times = events.map((event) => Date.parse(event.timestamp));
  const bursts = rageClickIndex(events, times);
  const inBurst = new Set([...bursts.values()].flat());
  const groups: TimelineGroup[] = [];

  const timed = (index: number): Timed => ({
    at: (events[index] as SessionEvent).timestamp,
    offsetMs: Math.max(0, (times[index] as number) - startMs),
  });

  events.forEach((event, index) => {
    if (event.type === 'pageview' || groups.length === 0) {
      groups.push({
        ...timed(index),
        path: event.path,
        referrer: event.type === 'pageview' ? event.referrer : '',
        pageview: event.type === 'pageview',
        items: [],
        moves: 0,
      });
      if (event.type === 'pageview') return;
    }
    const group = groups[groups.length - 1] as TimelineGroup;
    const last = group.items[group.items.length - 1];
    switch (event.type) {
      case 'move':
        group.moves += 1;
        return;
      case 'scroll': {
        const bottom = scrollBottom(event);
        if (last?.kind === 'scrolls') {
          last.count += 1;
          last.untilOffsetMs = timed(index).offsetMs;
          if (bottom !== null) last.deepestPx = Math.max(last.deepestPx ?? 0, bottom);
        } else {
          group.items.push({
            ...timed(index),
            kind: 'scrolls',
            count: 1,
            deepestPx: bottom,
            untilOffsetMs: timed(index).offsetMs,
          });
        }
        return;
      }
      case 'click': {
        const burst = bursts.get(index);
        if (burst !== undefined) {
          group.items.push({
            ...timed(index),
            kind: 'rage_click',
            target: text(event.data.target),
            clicks: burst.length,
            untilOffsetMs: timed(burst[burst.length - 1] as number).offsetMs,
          });
        } else if (!inBurst.has(index)) {
          group.items.push({ ...timed(index), kind: 'click', target: text(event.data.target) });
        }
        return;
      }
      case 'error':
        group.items.push({
          ...timed(index),
          kind: 'error',
          errorClass: event.error_class,
          message: errorMessage(event),
        });
        return;
      case 'custom':
        group.items.push({ ...timed(index), kind: 'custom', name: text(event.data.name) });
        return;
      default:
        return;
    }
  });
  return groups;
}
