import type { Deps } from './types';

/** A version 4 UUID from the platform's cryptographic generator. */
export function uuid4(): string {
  // Not crypto.randomUUID: it exists only in secure contexts, getRandomValues everywhere.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  let hex = '';
  for (let i = 0; i < 16; i++) hex += (b[i] + 0x100).toString(16).slice(1);
  return hex.replace(/(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
}

export const defaultDeps: Deps = { now: () => Date.now(), random: Math.random, uuid: uuid4 };

/** FNV-1a of a string as a fraction in [0, 1): the same session always gets the same draw. */
export function unitHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x100000000;
}

type StoreName = 'localStorage' | 'sessionStorage';

/** Reads a key; storage can be missing or throw (private mode, blocked cookies). */
export function load(store: StoreName, key: string): string | null {
  try {
    return window[store].getItem(key);
  } catch {
    return null;
  }
}

/** Writes (or, with null, removes) a key; a full or blocked storage is not an error. */
export function save(store: StoreName, key: string, value: string | null): void {
  try {
    if (value === null) window[store].removeItem(key);
    else window[store].setItem(key, value);
  } catch {
    /* quota exceeded or storage disabled: the data stays in memory only */
  }
}

/** Runs work when the main thread is idle (or soon, where idle callbacks are missing). */
export function whenIdle(work: () => void): void {
  const w = window as Window & { requestIdleCallback?: (cb: () => void, o?: { timeout: number }) => number };
  if (w.requestIdleCallback) w.requestIdleCallback(work, { timeout: 1000 });
  else setTimeout(work, 1);
}
