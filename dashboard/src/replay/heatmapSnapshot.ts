// A heatmap's page picture before it is rebuilt: the checks on what the API's
// `heatmap/snapshot` sent, kept out of the rrweb chunk so the page can tell what is
// wrong without loading rrweb. The rebuild itself is in replayHeatmapSnapshot.ts,
// loaded only when there is a picture to draw.

/** rrweb's EventType values used here. */
export const RRWEB_FULL_SNAPSHOT = 2;
export const RRWEB_META = 4;

export interface RrwebEventLike {
  type: number;
  timestamp: number;
  data: Record<string, unknown>;
}

export interface PictureEvents {
  /** The Meta and FullSnapshot events, as rrweb's Replayer takes them. */
  events: RrwebEventLike[];
  /**
   * The player time (ms after the first event) at which both have been applied: the
   * Replayer applies at once the events before the time it pauses at.
   */
  pauseAt: number;
  /** The viewport of the Meta event, px (0 when it has none). */
  width: number;
  height: number;
}

function isEvent(value: unknown): value is RrwebEventLike {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Partial<RrwebEventLike>;
  return (
    Number.isInteger(event.type) &&
    typeof event.timestamp === 'number' &&
    Number.isFinite(event.timestamp) &&
    typeof event.data === 'object' &&
    event.data !== null
  );
}

const pixels = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0;

/** The picture's events, or why they cannot make one. */
export function pictureEvents(events: unknown): PictureEvents | { problem: string } {
  if (!Array.isArray(events)) return { problem: 'the API sent no events' };
  const usable = events.filter(isEvent);
  const meta = usable.find((event) => event.type === RRWEB_META);
  const full = usable.find((event) => event.type === RRWEB_FULL_SNAPSHOT);
  if (meta === undefined) return { problem: 'the recording has no page size (no Meta event)' };
  if (full === undefined || typeof full.data.node !== 'object' || full.data.node === null) {
    return { problem: 'the recording has no full snapshot of the page' };
  }
  const first = Math.min(meta.timestamp, full.timestamp);
  const last = Math.max(meta.timestamp, full.timestamp);
  return {
    events: [meta, full],
    pauseAt: last - first + 1,
    width: pixels(meta.data.width),
    height: pixels(meta.data.height),
  };
}
