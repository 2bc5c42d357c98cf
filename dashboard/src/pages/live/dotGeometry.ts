// Where a live click is drawn: in the heatmap's cell that the pipeline counts it in
// (docs/api.md: column min(99, floor(100 x / viewport_width)), row floor(y / 16 px)),
// at the cell's centre, on the same page frame the Heatmaps page draws (its geometry
// module). Columns are percents of the page's width and rows page pixels; points on
// fixed or sticky elements are in viewport pixels, drawn over the page's first
// viewport. Pure functions of the events and the time passed in.
import type { ReceivedEvent } from '../../live/liveStream';
import type { LiveEvent } from '../../live/protocol';
import {
  DEFAULT_CELL_HEIGHT_PX,
  GRID_COLUMNS,
  NOMINAL_VIEWPORTS,
  type PageFrame,
  type PictureSize,
} from '../heatmaps/geometry';

/** How long a click's dot stays (its fade in live.css lasts as long). */
export const DOT_LIFETIME_MS = 4_000;

export interface ClickDot {
  id: string;
  layer: 'document' | 'fixed';
  /** The heatmap cell. */
  column: number;
  row: number;
  /** The cell's centre: percent of the page's width, and px from the top of the page (or viewport). */
  leftPercent: number;
  topPx: number;
  receivedAt: number;
}

/** The dot of a click, or null when it has no position the grid can place. */
export function clickDot(item: ReceivedEvent, cellHeightPx = DEFAULT_CELL_HEIGHT_PX): ClickDot | null {
  const { event } = item;
  const { x, y, viewport_width: width } = event;
  if (x === undefined || y === undefined || width <= 0) return null;
  const column = Math.min(GRID_COLUMNS - 1, Math.floor((GRID_COLUMNS * x) / width));
  const row = Math.floor(y / cellHeightPx);
  return {
    id: event.event_id,
    layer: event.fixed === true ? 'fixed' : 'document',
    column,
    row,
    leftPercent: ((column + 0.5) * 100) / GRID_COLUMNS,
    topPx: (row + 0.5) * cellHeightPx,
    receivedAt: item.receivedAt,
  };
}

/** The clicks of one page on one device (a page's layout, so its rows, differ by device). */
export function clicksOn(clicks: readonly ReceivedEvent[], path: string, device: string): ReceivedEvent[] {
  return clicks.filter((item) => item.event.url_path === path && item.event.device_type === device);
}

/** The dots still showing at `now`: clicks received less than `lifetimeMs` ago. */
export function liveDots(clicks: readonly ReceivedEvent[], now: number, lifetimeMs = DOT_LIFETIME_MS): ClickDot[] {
  const dots: ClickDot[] = [];
  for (const item of clicks) {
    const age = now - item.receivedAt;
    if (age < 0 || age >= lifetimeMs) continue;
    const dot = clickDot(item);
    if (dot !== null) dots.push(dot);
  }
  return dots;
}

/**
 * Whether a dot falls on the frame drawn: a fixed point from a taller screen lies below
 * the first screen, a document point below the deepest page px the heatmap draws.
 */
export function onFrame(dot: ClickDot, frame: PageFrame): boolean {
  return dot.topPx < (dot.layer === 'fixed' ? frame.viewportHeight : frame.height);
}

function mostCommon<T>(values: readonly T[]): T | null {
  const counts = new Map<T, number>();
  let best: T | null = null;
  let bestCount = 0;
  for (const value of values) {
    const count = (counts.get(value) ?? 0) + 1;
    counts.set(value, count);
    // The first to reach a count keeps it: the newest, as the lists are newest first.
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

/** The device drawn: the one most of the page's recent events came from. */
export function usualDevice(events: readonly LiveEvent[], path: string, fallback: string): string {
  return mostCommon(events.filter((event) => event.url_path === path).map((event) => event.device_type)) ?? fallback;
}

/**
 * The page's size without a picture of it: the viewport most of its clicks had (a usual
 * one of the device without clicks), and no measured depth (the frame reaches down to
 * the deepest click).
 */
export function estimatedPageSize(clicks: readonly ReceivedEvent[], device: string): PictureSize {
  const nominal = NOMINAL_VIEWPORTS[device] ?? { width: 1280, height: 800 };
  const events = clicks.map((item) => item.event);
  const width = mostCommon(events.map((event) => event.viewport_width).filter((value) => value > 0));
  const height = mostCommon(events.map((event) => event.viewport_height).filter((value) => value > 0));
  return { width: width ?? nominal.width, viewportHeight: height ?? nominal.height, pageHeight: 0 };
}

/** The deepest heatmap row of the page's recent clicks on the document, -1 without any. */
export function deepestClickRow(clicks: readonly ReceivedEvent[], cellHeightPx = DEFAULT_CELL_HEIGHT_PX): number {
  let deepest = -1;
  for (const item of clicks) {
    const dot = clickDot(item, cellHeightPx);
    if (dot !== null && dot.layer === 'document' && dot.row > deepest) deepest = dot.row;
  }
  return deepest;
}

export interface PageActivity {
  path: string;
  events: number;
}

/** The pages of the recent events, busiest first (then by path, so the order is stable). */
export function pagesByActivity(events: readonly LiveEvent[]): PageActivity[] {
  const counts = new Map<string, number>();
  for (const event of events) {
    if (event.url_path !== '') counts.set(event.url_path, (counts.get(event.url_path) ?? 0) + 1);
  }
  return Array.from(counts, ([path, count]) => ({ path, events: count })).sort(
    (a, b) => b.events - a.events || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
  );
}
