import type { Deps, EventFields, PrivacyMode, TrackedEvent } from './types';

/** A capture module: installs its listeners on a tracker and returns their teardown. */
export type Plugin = (tracker: PluginHost) => (() => void) | void;

/** What a capture module may use of the tracker. */
export interface PluginHost {
  readonly config: ResolvedConfig;
  /** Queues one event of the given type (dropped when opted out, not sampled or stopped). */
  emit(type: 'click' | 'move' | 'scroll' | 'error', fields: EventFields): void;
  /** Counts page views (SPA navigations included), so modules can reset per-view state. */
  readonly pageviews: number;
  /** Clock, randomness and ids the tracker was given. */
  readonly deps: Deps;
  /** The id of the tracker's current session (touching it, as an event would). */
  session(): string;
  /** Set by the replay plugin; the tracker drives it (startReplay, stopReplay, opt-out, every event). */
  replay?: ReplayHooks;
}

/** Tags of the rrweb custom events that tie a recording to the analytics. */
export const PAGEVIEW_TAG = 'insightlite:pageview';
export const ERROR_TAG = 'insightlite:error';

/** What the tracker and its modules ask of the session recorder. */
export interface ReplayHooks {
  /** Records from now on (whatever the sampling said). */
  start(): void;
  /** Stops recording; what was recorded still goes, unless `forget` (opt-out). */
  stop(forget?: boolean): void;
  /** Every event the tracker records, sampled or not: page views mark the recording, a new session id starts a new one. */
  event(event: TrackedEvent): void;
  /** An rrweb custom event in the recording, e.g. `insightlite:error`. */
  mark(tag: string, payload: Record<string, unknown>): void;
  /** Sends the recorded chunks now (once the recording is long enough). */
  flush(): Promise<void>;
  /** Undefined until the recorder has loaded. */
  stats(): ReplayStats | undefined;
  /** Stops, beacons what is left and removes the recorder's listeners (tracker shutdown). */
  destroy(): void;
}

/** Counters of the session recorder, in chunks (recordings for `short`). */
export interface ReplayStats {
  recording: boolean;
  /** Chunks delivered (or handed to sendBeacon). */
  sent: number;
  /** Chunks refused by the collector as invalid or too large; resending would not help. */
  rejected: number;
  /** Chunks lost: retries ran out, or the browser refused them at page hide. */
  dropped: number;
  retries: number;
  /** Recordings discarded at page hide for being shorter than replayMinDurationMs. */
  short: number;
}

export interface Config {
  /** The site the events belong to: 1-64 of A-Z a-z 0-9 . _ - */
  siteId: string;
  /** The collector's ingest URL, e.g. https://collect.example.com/ingest */
  endpoint: string;
  /** Share of sessions tracked, 0..1 (default 1); decided once per session. */
  sampleRate?: number;
  /** Milliseconds between sends of a partial batch (default 5000). */
  flushInterval?: number;
  /** Events that trigger a send at once (default 20, at most 500). */
  flushSize?: number;
  /** Retries of a failed send, with exponential backoff and jitter (default 5). */
  maxRetries?: number;
  /** Clicks, mouse moves and scroll depth (default true; needs the heatmap module). */
  enableHeatmaps?: boolean;
  /** window errors and unhandled rejections (default true; needs the errors module). */
  enableErrors?: boolean;
  /** What leaves the browser (default 'balanced'); see the README. */
  privacyMode?: PrivacyMode;
  /** Send nothing when Do Not Track or Global Privacy Control is on (default true). */
  respectDoNotTrack?: boolean;
  /** Property keys that strict mode keeps on custom events (default none). */
  propsAllowList?: string[];
  /** Events kept on the device while the collector cannot be reached (default 1000). */
  maxQueueSize?: number;
  /** Record sessions with rrweb (default false; needs the replay plugin, which the full bundle installs). */
  enableReplay?: boolean;
  /** Share of sessions recorded, 0..1 (default 1); decided once per session, apart from sampleRate. */
  replaySampleRate?: number;
  /** A recording is sent only once it spans this many milliseconds (default 2000, at most 60000). */
  replayMinDurationMs?: number;
  /** Where recording chunks go (default: endpoint with its last path segment replaced by `replay`). */
  replayEndpoint?: string;
  /** Capture modules to install (the full bundle installs heatmap, errors and replay). */
  plugins?: Plugin[];
}

export type ResolvedConfig = Required<Omit<Config, 'plugins'>> & { plugins: Plugin[] };

export class ConfigError extends Error {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super(`insightlite: ${setting}: ${message}`);
    this.name = 'ConfigError';
  }
}

const SITE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const MODES: PrivacyMode[] = ['strict', 'balanced', 'permissive'];

// The numeric settings: default, least, greatest, and whether fractions are allowed.
const NUMBERS: Array<[keyof Config, number, number, number, boolean?]> = [
  ['sampleRate', 1, 0, 1, true],
  ['flushInterval', 5000, 100, 3_600_000],
  ['flushSize', 20, 1, 500],
  ['maxRetries', 5, 0, 20],
  ['maxQueueSize', 1000, 1, 100_000],
  ['replaySampleRate', 1, 0, 1, true],
  // The recording waits in memory until then: keep it short.
  ['replayMinDurationMs', 2000, 0, 60_000],
];
const FLAGS: Array<[keyof Config, boolean]> = [
  ['enableHeatmaps', true],
  ['enableErrors', true],
  ['respectDoNotTrack', true],
  ['enableReplay', false],
];

function numberIn(name: string, value: unknown, fallback: number, min: number, max: number, fraction?: boolean): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  // NaN fails the range check too.
  if (typeof n !== 'number' || !(n >= min && n <= max) || (!fraction && n % 1 !== 0)) {
    throw new ConfigError(name, `expected ${fraction ? 'a number' : 'an integer'} from ${min} to ${max}, got ${String(value)}`);
  }
  return n;
}

function httpUrl(name: string, value: unknown, base?: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value as string, base);
  } catch {
    /* reported below */
  }
  if (!url || !/^https?:$/.test(url.protocol)) throw new ConfigError(name, `expected an http or https URL, got ${String(value)}`);
  return url.href;
}

function flag(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  if (value === 'true' || value === '1' || value === '') return true;
  if (value === 'false' || value === '0') return false;
  throw new ConfigError(name, `expected true or false, got ${String(value)}`);
}

/** Checks every setting and fills in defaults; throws a ConfigError naming the first bad one. */
export function resolveConfig(config: Config, base?: string): ResolvedConfig {
  const { siteId, endpoint, privacyMode = 'balanced', propsAllowList = [], plugins = [], replayEndpoint } = config || ({} as Config);
  if (typeof siteId !== 'string' || !SITE_ID.test(siteId)) {
    throw new ConfigError('siteId', 'expected 1-64 of A-Z a-z 0-9 . _ -');
  }
  const url = httpUrl('endpoint', endpoint, base);
  if (MODES.indexOf(privacyMode) < 0) throw new ConfigError('privacyMode', `expected one of ${MODES.join(', ')}`);
  if (!Array.isArray(propsAllowList)) throw new ConfigError('propsAllowList', 'expected a list of keys');
  const given = config as unknown as Record<string, unknown>;
  const resolved: Record<string, unknown> = {
    siteId,
    endpoint: url,
    privacyMode,
    propsAllowList: propsAllowList.map(String),
    // new URL('replay', '.../ingest') is '.../replay': the same collector's replay route.
    replayEndpoint: httpUrl('replayEndpoint', replayEndpoint || new URL('replay', url).href, base),
    plugins,
  };
  for (const [name, fallback, min, max, fraction] of NUMBERS) resolved[name] = numberIn(name, given[name], fallback, min, max, fraction);
  for (const [name, fallback] of FLAGS) resolved[name] = flag(name, given[name], fallback);
  return resolved as ResolvedConfig;
}
