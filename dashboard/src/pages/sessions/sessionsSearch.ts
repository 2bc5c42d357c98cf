// The session list's own view in the URL, beside the dashboard's site, days and its
// path, device and country filters (state/dashboardSearch.ts):
//   has_errors=true, has_rage_clicks=true   only sessions with errors / rage clicks
//   has_recording=true|false                only sessions with / without a recording
//   min_duration=<seconds>                  only sessions at least this long
//   cursor (repeated)                       the cursors of the pages opened, oldest
//                                           first: the last is the page shown
//   paging=<signature>                      the view those cursors were made for
// The names are the API's. A keyset cursor only means something for the view it was
// made in: a link whose signature is not the view's (a filter changed since, in the
// filter bar above the page) opens the first page. Values the API would refuse are
// ignored, as for the dashboard's other params.
import type { SessionListFilters } from '../../api/sessions';

/** The API's longest minimum duration (10 days, in seconds). */
export const MAX_MIN_DURATION = 10 * 86_400;
/** Pages kept in the URL to go back through; older ones are reached from the first page. */
export const MAX_CURSOR_TRAIL = 50;

const PARAMS = ['has_errors', 'has_rage_clicks', 'has_recording', 'min_duration'] as const;
const PAGING = ['cursor', 'paging'] as const;
/** The params whose change makes another list: the dashboard's and the list's own. */
const VIEW_KEYS = ['site', 'range', 'from', 'to', 'path', 'device', 'country', ...PARAMS] as const;

export const NO_LIST_FILTERS: SessionListFilters = {
  hasErrors: false,
  hasRageClicks: false,
  recording: 'any',
  minDuration: 0,
};

export function readListFilters(params: URLSearchParams): SessionListFilters {
  const recording = params.get('has_recording');
  const minDuration = params.get('min_duration') ?? '';
  const seconds = /^\d{1,7}$/.test(minDuration) ? Number(minDuration) : 0;
  return {
    hasErrors: params.get('has_errors') === 'true',
    hasRageClicks: params.get('has_rage_clicks') === 'true',
    recording: recording === 'true' ? 'with' : recording === 'false' ? 'without' : 'any',
    minDuration: seconds <= MAX_MIN_DURATION ? seconds : 0,
  };
}

function withoutPaging(params: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of PAGING) next.delete(key);
  return next;
}

/** The list's filters set to `filters` (unset ones removed), from the first page. */
export function withListFilters(params: URLSearchParams, filters: SessionListFilters): URLSearchParams {
  const next = withoutPaging(params);
  for (const key of PARAMS) next.delete(key);
  if (filters.hasErrors) next.set('has_errors', 'true');
  if (filters.hasRageClicks) next.set('has_rage_clicks', 'true');
  if (filters.recording !== 'any') next.set('has_recording', String(filters.recording === 'with'));
  if (filters.minDuration > 0 && filters.minDuration <= MAX_MIN_DURATION) {
    next.set('min_duration', String(Math.floor(filters.minDuration)));
  }
  return next;
}

/** A short fingerprint of the view (site, days, filters) a page of sessions belongs to. */
export function viewSignature(params: URLSearchParams): string {
  const view = VIEW_KEYS.map((key) => `${key}=${params.get(key) ?? ''}`).join('&');
  // FNV-1a, 32 bits: tells views apart in a link, nothing more.
  let hash = 0x811c9dc5;
  for (let index = 0; index < view.length; index += 1) {
    hash ^= view.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/** The cursors of the pages opened in this view, oldest first ([] on the first page). */
export function cursorTrail(params: URLSearchParams): string[] {
  if (params.get('paging') !== viewSignature(params)) return [];
  return params.getAll('cursor').filter((cursor) => cursor !== '');
}

/** True when the URL carries cursors of another view, which the page then drops. */
export function hasStalePaging(params: URLSearchParams): boolean {
  return (params.has('cursor') || params.has('paging')) && cursorTrail(params).length === 0;
}

function withTrail(params: URLSearchParams, trail: readonly string[]): URLSearchParams {
  const next = withoutPaging(params);
  if (trail.length === 0) return next;
  for (const cursor of trail.slice(-MAX_CURSOR_TRAIL)) next.append('cursor', cursor);
  next.set('paging', viewSignature(params));
  return next;
}

/** The next page: the one after the page shown, whose `next_cursor` is `cursor`. */
export function withNextPage(params: URLSearchParams, cursor: string): URLSearchParams {
  return withTrail(params, [...cursorTrail(params), cursor]);
}

/** The page before the one shown (the first page from the second). */
export function withPreviousPage(params: URLSearchParams): URLSearchParams {
  return withTrail(params, cursorTrail(params).slice(0, -1));
}

export function withFirstPage(params: URLSearchParams): URLSearchParams {
  return withoutPaging(params);
}
