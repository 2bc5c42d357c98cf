// The query API over fetch: the bearer token on every request, answers typed as
// docs/api.md describes them, and every failure an ApiError carrying the API's own
// reason (its `message`), which the pages show as is.
import type {
  Breakdown,
  BreakdownDimension,
  ErrorBody,
  ErrorsAnswer,
  Interval,
  StatsSummary,
  Timeseries,
} from './types';

export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the API could not be reached. */
    readonly status: number,
    /** The API's stable code (`unauthorized`, `rate_limited`, ...), or `network`, `http_<status>`. */
    readonly code: string,
    message: string,
    /** Seconds the API asked to wait (Retry-After), when it said. */
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type QueryValue = string | number | boolean | null | undefined;
export type QueryParams = Record<string, QueryValue>;

/** What every stats read takes: the days and the dashboard's filters. */
export interface StatsParams {
  from: string;
  to: string;
  path?: string | undefined;
  device?: string | undefined;
  country?: string | undefined;
}

export interface ApiClient {
  /** GET a JSON answer from `path` (e.g. `/v1/sites/x/stats`); undefined and null params are left out. */
  get<T>(path: string, params?: QueryParams): Promise<T>;
  stats(site: string, params: StatsParams): Promise<StatsSummary>;
  timeseries(site: string, params: StatsParams & { interval: Interval }): Promise<Timeseries>;
  breakdown(site: string, params: StatsParams & { by: BreakdownDimension; limit?: number }): Promise<Breakdown>;
  errors(site: string, params: StatsParams & { limit?: number }): Promise<ErrorsAnswer>;
}

export interface ApiClientOptions {
  /** Origin and prefix of the API; '' (the default) is the page's own origin, which serves it. */
  baseUrl?: string;
  getToken(): string | null;
  /** Called on any 401: the token is gone, expired or refused. */
  onUnauthorized(error: ApiError): void;
  fetch?: typeof fetch;
  /** For Retry-After given as a date. */
  now?: () => Date;
}

/** Retry-After as seconds: a number of seconds or an HTTP date (RFC 9110). */
export function parseRetryAfter(header: string | null, now: Date): number | null {
  if (header === null || header.trim() === '') return null;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - now.getTime()) / 1000));
}

function isErrorBody(value: unknown): value is ErrorBody {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorBody).error === 'string' &&
    typeof (value as ErrorBody).message === 'string'
  );
}

async function errorFrom(response: Response, now: Date): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('Retry-After'), now);
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: a proxy's page or an empty body; the status says what we know.
  }
  if (isErrorBody(body)) return new ApiError(response.status, body.error, body.message, retryAfter);
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  return new ApiError(
    response.status,
    `http_${response.status}`,
    `The API answered ${response.status}${statusText}.`,
    retryAfter,
  );
}

export function buildUrl(baseUrl: string, path: string, params: QueryParams = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null) search.set(key, String(value));
  }
  const query = search.toString();
  return `${baseUrl}${path}${query ? `?${query}` : ''}`;
}

function sitePath(site: string, rest: string): string {
  return `/v1/sites/${encodeURIComponent(site)}${rest}`;
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl ?? '';
  const now = options.now ?? (() => new Date());

  async function get<T>(path: string, params?: QueryParams): Promise<T> {
    const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    const token = options.getToken();
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token !== null) headers.Authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await doFetch(buildUrl(baseUrl, path, params), { headers, credentials: 'omit' });
    } catch {
      throw new ApiError(0, 'network', 'The API could not be reached. Check your connection and try again.');
    }
    if (!response.ok) {
      const error = await errorFrom(response, now());
      if (response.status === 401) options.onUnauthorized(error);
      throw error;
    }
    try {
      return (await response.json()) as T;
    } catch {
      throw new ApiError(response.status, 'bad_answer', 'The API sent an answer that is not JSON.');
    }
  }

  return {
    get,
    stats: (site, params) => get(sitePath(site, '/stats'), { ...params }),
    timeseries: (site, params) => get(sitePath(site, '/stats/timeseries'), { ...params }),
    breakdown: (site, params) => get(sitePath(site, '/stats/breakdown'), { ...params }),
    errors: (site, params) => get(sitePath(site, '/errors'), { ...params }),
  };
}
