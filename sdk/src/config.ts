import type { PrivacyMode } from './types';

/** A capture module: installs its listeners on a tracker and returns their teardown. */
export type Plugin = (tracker: PluginHost) => (() => void) | void;

/** What a capture module may use of the tracker. */
export interface PluginHost {
  readonly config: ResolvedConfig;
  /** Queues one event of the given type (dropped when opted out, not sampled or stopped). */
  emit(type: 'click' | 'move' | 'scroll' | 'error', fields: import('./types').EventFields): void;
  /** Counts page views (SPA navigations included), so modules can reset per-view state. */
  readonly pageviews: number;
  now(): number;
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
  /** Capture modules to install (the full bundle installs heatmap and errors). */
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

function numberIn(name: string, value: unknown, fallback: number, min: number, max: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !isFinite(n) || n < min || n > max || (integer && n % 1 !== 0)) {
    throw new ConfigError(name, `expected ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${String(value)}`);
  }
  return n;
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
  const { siteId, endpoint, privacyMode = 'balanced', propsAllowList = [], plugins = [] } = config || ({} as Config);
  if (typeof siteId !== 'string' || !SITE_ID.test(siteId)) {
    throw new ConfigError('siteId', 'expected 1-64 letters, digits, dots, underscores or hyphens');
  }
  let url: URL;
  try {
    url = new URL(endpoint, base);
  } catch {
    throw new ConfigError('endpoint', `not a URL: ${String(endpoint)}`);
  }
  if (!/^https?:$/.test(url.protocol)) throw new ConfigError('endpoint', 'expected an http or https URL');
  if (MODES.indexOf(privacyMode) < 0) throw new ConfigError('privacyMode', `expected one of ${MODES.join(', ')}`);
  if (!Array.isArray(propsAllowList)) throw new ConfigError('propsAllowList', 'expected a list of property names');
  return {
    siteId,
    endpoint: url.href,
    sampleRate: numberIn('sampleRate', config.sampleRate, 1, 0, 1, false),
    flushInterval: numberIn('flushInterval', config.flushInterval, 5000, 100, 3_600_000),
    flushSize: numberIn('flushSize', config.flushSize, 20, 1, 500),
    maxRetries: numberIn('maxRetries', config.maxRetries, 5, 0, 20),
    enableHeatmaps: flag('enableHeatmaps', config.enableHeatmaps, true),
    enableErrors: flag('enableErrors', config.enableErrors, true),
    privacyMode,
    respectDoNotTrack: flag('respectDoNotTrack', config.respectDoNotTrack, true),
    propsAllowList: propsAllowList.map(String),
    maxQueueSize: numberIn('maxQueueSize', config.maxQueueSize, 1000, 1, 100_000),
    plugins,
  };
}
