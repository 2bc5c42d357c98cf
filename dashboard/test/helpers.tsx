// What the tests share: tokens shaped as the API's, an API that answers from a table of
// routes and records what it was asked, and the app rendered at a URL.
import { type QueryClient } from '@tanstack/react-query';
import { render } from '@testing-library/react';
import { RouterProvider, createMemoryRouter } from 'react-router';
import { AppProviders } from '../src/app/AppProviders';
import { appRoutes } from '../src/app/routes';
import { TOKEN_STORAGE_KEY } from '../src/auth/token';
import type { Breakdown, StatsSummary } from '../src/api/types';

export const NOW = new Date('2026-11-25T12:00:00Z');
export const clock = () => NOW;

function base64Url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

/** A JWT with these claims (the signature is not checked by the dashboard, only by the API). */
export function makeToken(claims: Record<string, unknown> = {}): string {
  const payload = {
    sub: 'owner',
    aud: 'insightlite-api',
    iss: 'insightlite',
    iat: NOW.getTime() / 1000 - 60,
    exp: NOW.getTime() / 1000 + 3 * 3600,
    sites: ['shop.example.com', 'blog.example.com'],
    permissions: ['stats:read', 'sessions:read'],
    tier: 'pro',
    ...claims,
  };
  return `${base64Url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64Url(JSON.stringify(payload))}.c2lnbmF0dXJl`;
}

export interface Answer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Route = (url: URL) => Answer;

export interface FakeApi {
  fetch: typeof fetch;
  /** Every URL asked for, in order. */
  requests: URL[];
  /** The Authorization header of every request. */
  authorizations: Array<string | null>;
  /** Requests to a route path, e.g. "/v1/sites/shop.example.com/stats". */
  to(path: string): URL[];
}

/** Answers by path; a path without a route gets 404 with the API's error body. */
export function fakeApi(routes: Record<string, Route>): FakeApi {
  const requests: URL[] = [];
  const authorizations: Array<string | null> = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://dashboard.test');
    requests.push(url);
    authorizations.push(new Headers(init?.headers).get('Authorization'));
    const route = routes[url.pathname];
    const answer: Answer = route ? route(url) : { status: 404, body: { error: 'not_found', message: 'no such route' } };
    return new Response(JSON.stringify(answer.body ?? {}), {
      status: answer.status ?? 200,
      headers: { 'Content-Type': 'application/json', ...answer.headers },
    });
  };
  return {
    fetch: fetch as typeof globalThis.fetch,
    requests,
    authorizations,
    to: (path) => requests.filter((url) => url.pathname === path),
  };
}

export function stats(overrides: Partial<StatsSummary> = {}): StatsSummary {
  return {
    date_from: '2026-10-27',
    date_to: '2026-11-25',
    pageviews: 1000,
    sessions: 400,
    visitors: 300,
    bounce_rate: 0.5,
    avg_duration_seconds: 95,
    ...overrides,
  };
}

export function breakdown(by: Breakdown['by'], values: string[]): Breakdown {
  return {
    by,
    date_from: '2026-10-27',
    date_to: '2026-11-25',
    rows: values.map((value, index) => ({
      value,
      pageviews: 100 - index * 10,
      visitors: 50 - index * 5,
      sessions: 40 - index * 4,
      bounce_rate: 0.4,
      avg_duration_seconds: 60,
    })),
  };
}

/** The overview's reads for one site, each answered with a plausible figure. */
export function overviewRoutes(
  site = 'shop.example.com',
  overrides: Record<string, Route> = {},
): Record<string, Route> {
  const prefix = `/v1/sites/${site}`;
  return {
    [`${prefix}/stats`]: () => ({ body: stats() }),
    [`${prefix}/stats/timeseries`]: (url) => ({
      body: {
        interval: url.searchParams.get('interval'),
        date_from: url.searchParams.get('from'),
        date_to: url.searchParams.get('to'),
        points: [
          {
            start: '2026-11-24T00:00:00Z',
            pageviews: 10,
            sessions: 4,
            visitors: 3,
            bounce_rate: 0.5,
            avg_duration_seconds: 30,
          },
        ],
      },
    }),
    [`${prefix}/stats/breakdown`]: (url) => {
      const by = url.searchParams.get('by') as Breakdown['by'];
      const values: Record<string, string[]> = {
        page: ['/', '/pricing'],
        entry_page: ['/', '/blog'],
        exit_page: ['/checkout'],
        referrer: ['https://news.example.org/', ''],
        device: ['desktop', 'mobile'],
        country: ['DE', ''],
      };
      return { body: breakdown(by, values[by] ?? []) };
    },
    ...overrides,
  };
}

export interface RenderedApp {
  router: ReturnType<typeof createMemoryRouter>;
  /** The router's current path and search. */
  url(): string;
}

export function renderApp(options: {
  url: string;
  api: FakeApi;
  token?: string | null;
  queryClient?: QueryClient;
}): RenderedApp {
  if (options.token !== null) window.sessionStorage.setItem(TOKEN_STORAGE_KEY, options.token ?? makeToken());
  const router = createMemoryRouter(appRoutes(), { initialEntries: [options.url] });
  render(
    <AppProviders
      clock={clock}
      fetch={options.api.fetch}
      {...(options.queryClient ? { queryClient: options.queryClient } : {})}
    >
      <RouterProvider router={router} />
    </AppProviders>,
  );
  return { router, url: () => router.state.location.pathname + router.state.location.search };
}
