// Pausing the feed: the rows shown stay as they were while events keep arriving (and
// keep being buffered, bounded); resuming shows the newest again.
import type { ReceivedEvent } from '../../live/liveStream';

export interface Arrived {
  count: number;
  /** The paused rows have left the buffer: at least `count` arrived. */
  atLeast: boolean;
}

/** How many of `current` (newest first) arrived after `frozen`'s newest row. */
export function arrivedSince(current: readonly ReceivedEvent[], frozen: readonly ReceivedEvent[]): Arrived {
  const newest = frozen[0];
  if (newest === undefined) return { count: current.length, atLeast: false };
  const index = current.findIndex((item) => item.event.event_id === newest.event.event_id);
  return index < 0 ? { count: current.length, atLeast: true } : { count: index, atLeast: false };
}
