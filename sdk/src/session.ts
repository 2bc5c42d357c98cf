import { load, save, unitHash } from './util';

export const SESSION_KEY = 'insightlite.session';
/** A session ends after 30 minutes without events, or 24 hours after it began. */
export const IDLE_MS = 30 * 60_000;
export const MAX_MS = 24 * 3_600_000;

export interface Session {
  id: string;
  start: number;
  last: number;
}

/**
 * The browser session: a random UUID in sessionStorage (one per tab, no cookies),
 * renewed after 30 minutes of inactivity or 24 hours.
 */
export class SessionStore {
  private _current: Session | null = null;

  constructor(private readonly _uuid: () => string) {}

  /** The session for an event at `now`, touching it; renews an expired one. */
  touch(now: number): Session {
    let s = this._current || parse(load('sessionStorage', SESSION_KEY));
    if (!s || now - s.last > IDLE_MS || now - s.start > MAX_MS || now < s.start - IDLE_MS) {
      s = { id: this._uuid(), start: now, last: now };
    }
    s.last = Math.max(s.last, now);
    this._current = s;
    save('sessionStorage', SESSION_KEY, `${s.id} ${s.start} ${s.last}`);
    return s;
  }
}

function parse(text: string | null): Session | null {
  const [id, start, last] = (text || '').split(' ');
  const s = { id, start: Number(start), last: Number(last) };
  return id && s.start > 0 && s.last > 0 ? s : null;
}

/** Per-session sampling: the draw depends only on the session id (and is below 1, so rate 1 keeps all). */
export function sampled(sessionId: string, rate: number): boolean {
  return unitHash(sessionId) < rate;
}

/**
 * Per-session sampling of recordings: as `sampled`, but the id is salted, so
 * which sessions are recorded does not follow which are tracked.
 */
export function replaySampled(sessionId: string, rate: number): boolean {
  return sampled(`${sessionId}/replay`, rate);
}
