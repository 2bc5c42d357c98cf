// What the player marks on its progress bar, found in the recording's rrweb events
// (docs/replay.md): clicks (rrweb's mouse interactions of type click), rage clicks (the
// pipeline's rule, over the whole recording), errors (`insightlite:error` custom events)
// and page views (Meta events at each page load and `insightlite:pageview` custom events
// at each view, single-page-app navigations included). Times are milliseconds from the
// recording's first event, the Replayer's own time.
import type { RrwebEvent } from '../../api/sessions';
import { type ClickPoint, rageBursts } from './rageClicks';

// rrweb's numbers (@rrweb/types): EventType, IncrementalSource, MouseInteractions.
export const EVENT_META = 4;
export const EVENT_INCREMENTAL = 3;
export const EVENT_CUSTOM = 5;
export const SOURCE_MOUSE_INTERACTION = 2;
export const MOUSE_CLICK = 2;

export const PAGEVIEW_TAG = 'insightlite:pageview';
export const ERROR_TAG = 'insightlite:error';

/**
 * A page load writes both a Meta event and an `insightlite:pageview` mark: a page mark
 * of the same path this soon after the previous one is the same view.
 */
export const SAME_PAGE_WITHIN_MS = 2000;

export type MarkerKind = 'click' | 'rage_click' | 'error' | 'page';

export interface Marker {
  kind: MarkerKind;
  /** Milliseconds from the recording's first event. */
  timeMs: number;
  /** What the marker is, for its tooltip and for screen readers. */
  label: string;
}

export interface RecordingMarkers {
  /** Length of the recording: first to last event, ms. */
  durationMs: number;
  clicks: Marker[];
  rageClicks: Marker[];
  errors: Marker[];
  pages: Marker[];
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function finite(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** The path of a page address as the recording carries it (absolute, or already a path). */
export function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    const path = url.split(/[?#]/, 1)[0] ?? '';
    return path.startsWith('/') ? path : url;
  }
}

function pageUrl(event: RrwebEvent): string | null {
  const data = record(event.data);
  if (event.type === EVENT_META) return typeof data.href === 'string' ? data.href : null;
  if (event.type === EVENT_CUSTOM && data.tag === PAGEVIEW_TAG) {
    const payload = record(data.payload);
    for (const key of ['url', 'href']) {
      if (typeof payload[key] === 'string') return payload[key] as string;
    }
  }
  return null;
}

/** The markers of a recording whose events are in time order. */
export function extractMarkers(events: readonly RrwebEvent[]): RecordingMarkers {
  const first = events[0]?.timestamp ?? 0;
  const last = events[events.length - 1]?.timestamp ?? first;
  const clicks: Marker[] = [];
  const clickPoints: ClickPoint[] = [];
  const errors: Marker[] = [];
  const pages: Marker[] = [];
  for (const event of events) {
    const timeMs = event.timestamp - first;
    const data = record(event.data);
    if (event.type === EVENT_INCREMENTAL && data.source === SOURCE_MOUSE_INTERACTION && data.type === MOUSE_CLICK) {
      clicks.push({ kind: 'click', timeMs, label: 'Click' });
      const x = finite(data.x);
      const y = finite(data.y);
      // A click without a position still counts as a click, but cannot be part of a burst.
      clickPoints.push({ time: timeMs, x: x ?? Number.NaN, y: y ?? Number.NaN });
    } else if (event.type === EVENT_CUSTOM && data.tag === ERROR_TAG) {
      const message = record(data.payload).message;
      errors.push({
        kind: 'error',
        timeMs,
        label: typeof message === 'string' && message ? `Error: ${message}` : 'Error',
      });
    } else {
      const url = pageUrl(event);
      if (url === null) continue;
      const path = pathOf(url);
      const previous = pages[pages.length - 1];
      if (previous && previous.label === path && timeMs - previous.timeMs <= SAME_PAGE_WITHIN_MS) continue;
      pages.push({ kind: 'page', timeMs, label: path });
    }
  }
  const rageClicks = rageBursts(clickPoints).map((burst) => ({
    kind: 'rage_click' as const,
    timeMs: (clickPoints[burst[0] as number] as ClickPoint).time,
    label: `Rage click (${burst.length} clicks)`,
  }));
  return { durationMs: Math.max(0, last - first), clicks, rageClicks, errors, pages };
}

/** The first marker strictly after `timeMs`, or null when there is none. */
export function nextMarker(markers: readonly Marker[], timeMs: number): Marker | null {
  return markers.find((marker) => marker.timeMs > timeMs) ?? null;
}

/** The path of the page shown at `timeMs`: the last page mark at or before it. */
export function pageAt(pages: readonly Marker[], timeMs: number): string | null {
  let path: string | null = null;
  for (const page of pages) {
    if (page.timeMs > timeMs) break;
    path = page.label;
  }
  return path ?? pages[0]?.label ?? null;
}
