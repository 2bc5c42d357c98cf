/** Wire format: one event of contract v1 (see the pipeline's event-v1 schema). */
export type EventType = 'pageview' | 'click' | 'move' | 'scroll' | 'error' | 'custom';

export type PrivacyMode = 'strict' | 'balanced' | 'permissive';

export type Props = Record<string, unknown>;

export interface ErrorDetails {
  message?: string;
  source?: string;
  line?: number;
  col?: number;
  stack?: string;
}

export interface TrackedEvent {
  v: 1;
  event_id: string;
  site_id: string;
  session_id: string;
  type: EventType;
  ts: number;
  url: string;
  sent_at?: number;
  referrer?: string;
  x?: number;
  y?: number;
  vw?: number;
  vh?: number;
  scroll_y?: number;
  dh?: number;
  target?: string;
  fixed?: boolean;
  error?: ErrorDetails;
  name?: string;
  props?: Props;
}

/** The fields a capture module fills in; the tracker adds ids, site, session, time and URL. */
export type EventFields = Omit<
  Partial<TrackedEvent>,
  'v' | 'event_id' | 'site_id' | 'session_id' | 'type' | 'ts' | 'url' | 'sent_at'
>;

/** Clock and randomness, passed in so tests (and replays) are deterministic. */
export interface Deps {
  now: () => number;
  random: () => number;
  uuid: () => string;
}
