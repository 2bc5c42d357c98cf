// The query API's sessions and recordings (docs/api.md: sessions, Pagination,
// Recordings): answer types, one hook per read, and the check that turns a recording's
// events into what rrweb's Replayer can take.
import { type UseQueryResult, keepPreviousData, useQuery } from '@tanstack/react-query';
import { useApi } from './ApiProvider';
import type { SiteRead } from './hooks';

export interface Session {
  id: string;
  start_time: string;
  end_time: string;
  duration_seconds: number;
  page_count: number;
  event_count: number;
  device: string;
  /** ISO code; '' when unknown. */
  country: string;
  has_errors: boolean;
  has_rage_clicks: boolean;
  entry_path: string;
  exit_path: string;
  rage_click_count: number;
  error_count: number;
  /** A recording of this session id is kept; absent from APIs older than recordings. */
  has_recording?: boolean;
}

export interface SessionsPage {
  date_from: string;
  date_to: string;
  sessions: Session[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

/** One event of a session as the pipeline kept it (masked). */
export interface SessionEvent {
  id: string;
  timestamp: string;
  /** pageview, click, move, scroll, error or custom. */
  type: string;
  path: string;
  referrer: string;
  device: string;
  country: string;
  viewport_width: number;
  viewport_height: number;
  error_class: string;
  /** The event's kept optional fields: x, y, scroll_y, dh, fixed, target, name, error, props. */
  data: Record<string, unknown>;
}

export interface SessionDetail {
  session: Session;
  events: SessionEvent[];
  events_truncated: boolean;
}

/** One recording's summary. */
export interface Replay {
  session_id: string;
  start_time: string;
  end_time: string;
  duration_seconds: number;
  active_seconds: number;
  chunk_count: number;
  event_count: number;
  bytes: number;
  pages: string[];
  click_count: number;
  rage_click_count: number;
  error_count: number;
  device_type: string;
  country_code: string;
}

/** An rrweb event: its type (rrweb's EventType), time (epoch ms) and data. */
export interface RrwebEvent {
  type: number;
  timestamp: number;
  data?: unknown;
  [key: string]: unknown;
}

/** The session list's own filters, beside the dashboard's path, device and country. */
export interface SessionListFilters {
  hasErrors: boolean;
  hasRageClicks: boolean;
  /** Sessions with a kept recording, without one, or both. */
  recording: 'any' | 'with' | 'without';
  /** Seconds; 0 is no minimum. */
  minDuration: number;
}

/** A page of the session list: the dashboard's read, the list's filters and a cursor. */
export interface SessionsRead extends SiteRead {
  filters: SessionListFilters;
  /** The previous page's `next_cursor`; null for the first page. */
  cursor: string | null;
  limit: number;
}

/** The query the API takes for a page of sessions; unset filters are left out. */
export function sessionsQuery(read: SessionsRead) {
  const { filters } = read;
  return {
    from: read.from,
    to: read.to,
    path: read.path,
    device: read.device,
    country: read.country,
    has_errors: filters.hasErrors ? true : undefined,
    has_rage_clicks: filters.hasRageClicks ? true : undefined,
    has_recording: filters.recording === 'any' ? undefined : filters.recording === 'with',
    min_duration: filters.minDuration > 0 ? filters.minDuration : undefined,
    limit: read.limit,
    cursor: read.cursor ?? undefined,
  };
}

function sitePath(site: string, rest: string): string {
  return `/v1/sites/${encodeURIComponent(site)}${rest}`;
}

export const sessionQueryKeys = {
  sessions: (read: SessionsRead) => ['sessions', read.site, sessionsQuery(read)] as const,
  session: (site: string | null, id: string) => ['session', site, id] as const,
  replay: (site: string | null, id: string) => ['replay', site, id] as const,
  replayEvents: (site: string | null, id: string) => ['replay-events', site, id] as const,
};

export function useSessions(read: SessionsRead): UseQueryResult<SessionsPage> {
  const api = useApi();
  return useQuery({
    queryKey: sessionQueryKeys.sessions(read),
    queryFn: () => api.get<SessionsPage>(sitePath(read.site as string, '/sessions'), sessionsQuery(read)),
    enabled: read.site !== null,
    // The rows of the page left stay until the next page is there.
    placeholderData: keepPreviousData,
  });
}

/** Most events of a session the page asks for (the API's largest `limit`). */
export const SESSION_EVENTS_LIMIT = 10_000;

export function useSession(site: string | null, id: string, enabled = true): UseQueryResult<SessionDetail> {
  const api = useApi();
  return useQuery({
    queryKey: sessionQueryKeys.session(site, id),
    queryFn: () =>
      api.get<SessionDetail>(sitePath(site as string, `/sessions/${encodeURIComponent(id)}`), {
        limit: SESSION_EVENTS_LIMIT,
      }),
    enabled: enabled && site !== null,
  });
}

export function useReplay(site: string | null, id: string, enabled: boolean): UseQueryResult<Replay> {
  const api = useApi();
  return useQuery({
    queryKey: sessionQueryKeys.replay(site, id),
    queryFn: () => api.get<Replay>(sitePath(site as string, `/replays/${encodeURIComponent(id)}`)),
    enabled: enabled && site !== null,
  });
}

export function useReplayEvents(site: string | null, id: string, enabled: boolean): UseQueryResult<RrwebEvent[]> {
  const api = useApi();
  return useQuery({
    queryKey: sessionQueryKeys.replayEvents(site, id),
    queryFn: async () =>
      recordingEvents(await api.get<unknown>(sitePath(site as string, `/replays/${encodeURIComponent(id)}/events`))),
    enabled: enabled && site !== null,
    // A recording is large and never changes: read it once, and let it go soon after
    // the page is left.
    staleTime: Number.POSITIVE_INFINITY,
    gcTime: 60_000,
  });
}

function isRrwebEvent(value: unknown): value is RrwebEvent {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const { type, timestamp } = value as Record<string, unknown>;
  return Number.isInteger(type) && typeof timestamp === 'number' && Number.isFinite(timestamp);
}

/**
 * The recording's events as the Replayer takes them: objects with an integer type and a
 * finite timestamp, in time order (the API sends them so; a stable sort keeps the order
 * of events of the same millisecond). Anything else in the array is left out.
 */
export function recordingEvents(answer: unknown): RrwebEvent[] {
  if (!Array.isArray(answer)) return [];
  const events = answer.filter(isRrwebEvent);
  return events.every((event, index) => index === 0 || (events[index - 1] as RrwebEvent).timestamp <= event.timestamp)
    ? events
    : [...events].sort((a, b) => a.timestamp - b.timestamp);
}
