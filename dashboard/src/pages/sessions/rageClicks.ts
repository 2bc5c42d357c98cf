// Rage clicks as the pipeline finds them (operators/session_state.py, docs/replay.md):
// 3 or more clicks, each at most 1000 ms after the previous one and less than 30 px
// from it (|dx| + |dy|), in the same coordinate space (page or fixed element). The
// session timeline and the recording's markers both use this rule.

export interface RageRule {
  clicks: number;
  intervalMs: number;
  distancePx: number;
}

export const RAGE_RULE: RageRule = { clicks: 3, intervalMs: 1000, distancePx: 30 };

export interface ClickPoint {
  /** Epoch or offset milliseconds; only differences matter. */
  time: number;
  x: number;
  y: number;
  /** On a fixed or sticky element (viewport coordinates); never continues a page click's burst. */
  fixed?: boolean;
}

/** The bursts among `clicks` (in time order), each as the indices of its clicks. */
export function rageBursts(clicks: readonly ClickPoint[], rule: RageRule = RAGE_RULE): number[][] {
  const bursts: number[][] = [];
  let runStart = 0;
  for (let index = 1; index <= clicks.length; index += 1) {
    const previous = clicks[index - 1];
    const click = clicks[index];
    const continues =
      previous !== undefined &&
      click !== undefined &&
      Boolean(click.fixed) === Boolean(previous.fixed) &&
      click.time - previous.time <= rule.intervalMs &&
      Math.abs(click.x - previous.x) + Math.abs(click.y - previous.y) < rule.distancePx;
    if (!continues) {
      if (index - runStart >= rule.clicks) {
        bursts.push(Array.from({ length: index - runStart }, (_, offset) => runStart + offset));
      }
      runStart = index;
    }
  }
  return bursts;
}
