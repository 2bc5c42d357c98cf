// What the API held back to protect small crowds, under a list of rows: rows backed by
// fewer than k distinct visits are never sent, and the answer counts them.
import type { Suppressed } from '../api/types';
import { formatCount } from '../lib/format';

/** 'N rows from fewer than k visitors hidden', or null when nothing was held back. */
export function suppressedText(suppressed: Suppressed | undefined, noun = 'row'): string | null {
  if (!suppressed || !(suppressed.rows > 0)) return null;
  const rows = `${formatCount(suppressed.rows)} ${suppressed.rows === 1 ? noun : `${noun}s`}`;
  return `${rows} from fewer than ${formatCount(suppressed.min_crowd)} visitors hidden`;
}

export function SuppressedNote({ suppressed, noun }: { suppressed: Suppressed | undefined; noun?: string }) {
  const text = suppressedText(suppressed, noun);
  if (text === null) return null;
  return (
    <p className="pt-2 text-sm text-slate-700" data-testid="suppressed-note">
      {text}
    </p>
  );
}
