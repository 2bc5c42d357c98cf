// The live stream's wire protocol (docs/api.md, "Live stream"): the messages the API
// sends, read defensively (a message that is not what the protocol says is skipped,
// never trusted), and what each close code means to the dashboard.

/** One anonymized event of the site, as stored: the dashboard shows these fields and no others. */
export interface LiveEvent {
  event_id: string;
  session_id: string;
  /** UTC, "2026-11-25T12:00:00.123Z". */
  timestamp: string;
  event_type: string;
  url_path: string;
  referrer: string;
  device_type: string;
  /** Two letters, or '' when unknown. */
  country_code: string;
  error_class: string;
  /** The visitor's viewport in px (0 when the event has none). */
  viewport_width: number;
  viewport_height: number;
  /** Pointer position in px: document coordinates, or viewport ones when `fixed` is true. */
  x?: number;
  y?: number;
  fixed?: boolean;
  scroll_y?: number;
}

export interface LiveSummary {
  /** Epoch milliseconds of the API's tick. */
  at: number;
  /** Distinct visitors with an event in the last 5 minutes. */
  active_visitors: number;
  active_sessions: number;
  events_per_second: number;
  /** This connection's events the API dropped since the previous summary (the client read too slowly). */
  dropped: number;
  /** Fewer active sessions than the minimum crowd: the API sent the figures as 0. */
  suppressed: boolean;
}

export type LiveMessage =
  | { type: 'ready'; site: string }
  | { type: 'event'; event: LiveEvent }
  | { type: 'summary'; summary: LiveSummary }
  | { type: 'ping' };

/** The path of a site's stream, on the API's own origin. */
export function livePath(site: string): string {
  return `/v1/sites/${encodeURIComponent(site)}/live`;
}

/** ws: or wss: as the page is http: or https:, on the page's own host (which serves the API). */
export function liveUrl(site: string, location: Pick<Location, 'protocol' | 'host'>): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}${livePath(site)}`;
}

/** The first message of every connection: the token goes here, never in the URL. */
export function authMessage(token: string): string {
  return JSON.stringify({ type: 'auth', token });
}

type Fields = Record<string, unknown>;

function isObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

/** Text fields an event may lack ('' then, as the API sends them when empty). */
const OPTIONAL_TEXT = ['event_type', 'url_path', 'referrer', 'device_type', 'country_code', 'error_class'] as const;

function readEvent(value: unknown): LiveEvent | null {
  if (!isObject(value)) return null;
  // Without these an event cannot be told apart or placed in time.
  const { event_id, session_id, timestamp } = value;
  if (typeof event_id !== 'string' || typeof session_id !== 'string' || typeof timestamp !== 'string') return null;
  if (event_id === '' || Number.isNaN(Date.parse(timestamp))) return null;
  const text: Partial<Record<(typeof OPTIONAL_TEXT)[number], string>> = {};
  for (const name of OPTIONAL_TEXT) {
    const field = value[name] ?? '';
    if (typeof field !== 'string') return null;
    text[name] = field;
  }
  const event: LiveEvent = {
    event_id,
    session_id,
    timestamp,
    ...(text as Record<(typeof OPTIONAL_TEXT)[number], string>),
    viewport_width: isCount(value.viewport_width) ? value.viewport_width : 0,
    viewport_height: isCount(value.viewport_height) ? value.viewport_height : 0,
  };
  // Optional fields are kept only when they are what the protocol says.
  for (const name of ['x', 'y', 'scroll_y'] as const) {
    if (isCount(value[name])) event[name] = value[name] as number;
  }
  if (typeof value.fixed === 'boolean') event.fixed = value.fixed;
  return event;
}

function readSummary(value: Fields): LiveSummary | null {
  const at = typeof value.at === 'string' ? Date.parse(value.at) : Number.NaN;
  const { active_visitors, active_sessions, events_per_second, dropped } = value;
  if (Number.isNaN(at) || !isCount(active_visitors) || !isCount(active_sessions) || !isCount(events_per_second)) {
    return null;
  }
  return {
    at,
    active_visitors,
    active_sessions,
    events_per_second,
    dropped: isCount(dropped) ? dropped : 0,
    suppressed: value.suppressed === true,
  };
}

/** The message in a text frame, or null for anything the protocol does not define. */
export function parseLiveMessage(data: unknown): LiveMessage | null {
  if (typeof data !== 'string') return null;
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (!isObject(body)) return null;
  switch (body.type) {
    case 'ready':
      return typeof body.site === 'string' ? { type: 'ready', site: body.site } : null;
    case 'event': {
      const event = readEvent(body.event);
      return event === null ? null : { type: 'event', event };
    }
    case 'summary': {
      const summary = readSummary(body);
      return summary === null ? null : { type: 'summary', summary };
    }
    case 'ping':
      return { type: 'ping' };
    default:
      return null;
  }
}

export const CLOSE_NORMAL = 1000;
export const CLOSE_MALFORMED = 4400;
export const CLOSE_UNAUTHORIZED = 4401;
export const CLOSE_FORBIDDEN = 4403;
export const CLOSE_NOT_READING = 4408;
export const CLOSE_TOO_MANY = 4429;

/** What the dashboard does after a close: try again later, stop and show why, or sign out. */
export type CloseOutcome =
  | { action: 'retry'; reason: string; minDelayMs: number }
  | { action: 'refused'; reason: string }
  | { action: 'sign-out'; reason: string };

/** Waiting less than this after a 4429 only meets the same limit again. */
export const TOO_MANY_WAIT_MS = 30_000;

export function closeOutcome(code: number, reason: string): CloseOutcome {
  const said = reason.trim();
  switch (code) {
    case CLOSE_UNAUTHORIZED:
      return { action: 'sign-out', reason: said || 'token refused' };
    // The same request would be refused again: retrying cannot help.
    case CLOSE_MALFORMED:
    case CLOSE_FORBIDDEN:
      return { action: 'refused', reason: said || 'refused' };
    case CLOSE_TOO_MANY:
      return { action: 'retry', reason: said || 'too many connections', minDelayMs: TOO_MANY_WAIT_MS };
    case CLOSE_NOT_READING:
      return { action: 'retry', reason: 'the dashboard fell behind the stream', minDelayMs: 0 };
    case 1001:
    case 1012:
      return { action: 'retry', reason: 'the API restarted', minDelayMs: 0 };
    case 1006:
      return { action: 'retry', reason: 'connection lost', minDelayMs: 0 };
    default:
      return { action: 'retry', reason: said || `connection closed (${code})`, minDelayMs: 0 };
  }
}
