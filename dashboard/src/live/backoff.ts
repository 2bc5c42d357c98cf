// How long to wait before connecting again: doubling from a second up to 30 s, with
// jitter, so that every dashboard that lost the API at the same moment does not come
// back at the same moment.

export const FIRST_DELAY_MS = 1_000;
export const MAX_DELAY_MS = 30_000;

/**
 * The wait before attempt `attempt + 1` (0 for the first retry): between half and all
 * of `min(MAX_DELAY_MS, FIRST_DELAY_MS * 2^attempt)`, and never under `minDelayMs`.
 * `random` is in [0, 1), like Math.random.
 */
export function reconnectDelay(attempt: number, random: () => number, minDelayMs = 0): number {
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** Math.max(0, attempt));
  const jittered = ceiling / 2 + (random() * ceiling) / 2;
  // A floor is jittered as well: the clients a 4429 refused should not all return together.
  const floor = minDelayMs > 0 ? minDelayMs * (1 + random() / 2) : 0;
  return Math.round(Math.max(jittered, floor));
}
