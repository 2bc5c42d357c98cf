import { QueryClient } from '@tanstack/react-query';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ApiError, createApiClient, parseRetryAfter } from '../src/api/client';
import { createQueryClient, retryDelay, shouldRetry } from '../src/api/retry';
import { TOKEN_STORAGE_KEY } from '../src/auth/token';
import { NOW, fakeApi, makeToken, overviewRoutes, renderApp } from './helpers';

const STATS = '/v1/sites/shop.example.com/stats';

function client(api: ReturnType<typeof fakeApi>, refused: ApiError[] = []) {
  return createApiClient({
    fetch: api.fetch,
    getToken: () => 'tok',
    onUnauthorized: (error) => refused.push(error),
    now: () => NOW,
  });
}

async function failure(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('the request did not fail');
}

describe('API client', () => {
  it('sends the bearer token and the parameters, leaving out the unset ones', async () => {
    const api = fakeApi({ [STATS]: () => ({ body: { pageviews: 1 } }) });
    const answer = await client(api).stats('shop.example.com', {
      from: '2026-11-01',
      to: '2026-11-02',
      path: undefined,
      device: 'mobile',
    });
    expect(answer).toEqual({ pageviews: 1 });
    expect(api.authorizations).toEqual(['Bearer tok']);
    expect(api.requests[0]!.search).toBe('?from=2026-11-01&to=2026-11-02&device=mobile');
  });

  it("carries the API's code and reason, and Retry-After", async () => {
    const api = fakeApi({
      [STATS]: () => ({
        status: 429,
        body: { error: 'rate_limited', message: 'rate limit exceeded' },
        headers: { 'Retry-After': '7' },
      }),
    });
    const error = await failure(client(api).stats('shop.example.com', { from: '2026-11-01', to: '2026-11-02' }));
    expect([error.status, error.code, error.message, error.retryAfterSeconds]).toEqual([
      429,
      'rate_limited',
      'rate limit exceeded',
      7,
    ]);
  });

  it("turns a body that is not the API's into a reason naming the status", async () => {
    const fetch = (async () =>
      new Response('<html>bad gateway</html>', { status: 502, statusText: 'Bad Gateway' })) as typeof globalThis.fetch;
    const api = createApiClient({ fetch, getToken: () => null, onUnauthorized: () => undefined });
    const error = await failure(api.get('/v1/sites/x/stats'));
    expect([error.status, error.code, error.message]).toEqual([502, 'http_502', 'The API answered 502 Bad Gateway.']);
  });

  it('turns a network failure into status 0', async () => {
    const fetch = (async () => {
      throw new TypeError('Failed to fetch');
    }) as typeof globalThis.fetch;
    const error = await failure(
      createApiClient({ fetch, getToken: () => null, onUnauthorized: () => undefined }).get('/x'),
    );
    expect([error.status, error.code]).toEqual([0, 'network']);
  });

  it('calls onUnauthorized on a 401 only', async () => {
    const refused: ApiError[] = [];
    const api = fakeApi({
      [STATS]: () => ({ status: 401, body: { error: 'unauthorized', message: 'token expired' } }),
      '/v1/sites/shop.example.com/errors': () => ({ status: 403, body: { error: 'forbidden', message: 'no' } }),
    });
    await failure(client(api, refused).errors('shop.example.com', { from: '2026-11-01', to: '2026-11-02' }));
    expect(refused).toHaveLength(0);
    await failure(client(api, refused).stats('shop.example.com', { from: '2026-11-01', to: '2026-11-02' }));
    expect(refused.map((error) => error.message)).toEqual(['token expired']);
  });

  it('reads Retry-After as seconds or as a date', () => {
    expect(parseRetryAfter('5', NOW)).toBe(5);
    expect(parseRetryAfter('Wed, 25 Nov 2026 12:00:30 GMT', NOW)).toBe(30);
    expect(parseRetryAfter('Wed, 25 Nov 2026 11:00:00 GMT', NOW)).toBe(0);
    expect(parseRetryAfter('soon', NOW)).toBeNull();
    expect(parseRetryAfter(null, NOW)).toBeNull();
  });
});

describe('retries', () => {
  const limited = new ApiError(429, 'rate_limited', 'slow down', 4);
  it('retries 429 and 503 three times after Retry-After, other 5xx and network failures once, 4xx never', () => {
    expect([0, 1, 2, 3].map((count) => shouldRetry(count, limited))).toEqual([true, true, true, false]);
    expect(shouldRetry(2, new ApiError(503, 'unavailable', 'down', null))).toBe(true);
    expect([0, 1].map((count) => shouldRetry(count, new ApiError(500, 'http_500', 'x')))).toEqual([true, false]);
    expect(shouldRetry(0, new ApiError(0, 'network', 'x'))).toBe(true);
    for (const status of [400, 401, 403, 404, 422]) expect(shouldRetry(0, new ApiError(status, 'x', 'x'))).toBe(false);
    expect(shouldRetry(0, new Error('a bug'))).toBe(false);
    expect(retryDelay(0, limited)).toBe(4000);
    expect(retryDelay(0, new ApiError(429, 'rate_limited', 'x', 3600))).toBe(60_000);
    expect([0, 1, 2].map((count) => retryDelay(count, new ApiError(503, 'x', 'x')))).toEqual([1000, 2000, 4000]);
  });

  it('shows the answer once a rate-limited read succeeds on a retry', async () => {
    let calls = 0;
    const api = fakeApi({
      '/v1/sites/shop.example.com/errors': () =>
        ++calls < 3
          ? {
              status: 429,
              body: { error: 'rate_limited', message: 'rate limit exceeded' },
              headers: { 'Retry-After': '0' },
            }
          : { body: { date_from: '2026-10-27', date_to: '2026-11-25', groups: [] } },
    });
    renderApp({ url: '/errors?site=shop.example.com', api, queryClient: createQueryClient() });
    expect(await screen.findByText('No errors on these days.')).toBeInTheDocument();
    expect(calls).toBe(3);
  });
});

describe('refusals in the dashboard', () => {
  it('a 401 returns to sign-in with the reason, forgets the token, and signing in again returns to the view', async () => {
    let expired = true;
    const api = fakeApi(
      overviewRoutes('shop.example.com', {
        [STATS]: () =>
          expired ? { status: 401, body: { error: 'unauthorized', message: 'token expired' } } : { body: {} },
      }),
    );
    const app = renderApp({ url: '/?site=shop.example.com&range=7d', api });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'The API refused the token (token expired). Sign in again.',
    );
    expect(screen.getByRole('heading', { name: 'Sign in to InsightLite' })).toBeInTheDocument();
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    expect(app.url()).toBe('/sign-in');
    expired = false;
    const user = userEvent.setup();
    await user.click(screen.getByLabelText('API token'));
    await user.paste(makeToken());
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com&range=7d'));
  });

  it("shows the API's reason for a refused read", async () => {
    const api = fakeApi({
      '/v1/sites/shop.example.com/errors': () => ({
        status: 403,
        body: { error: 'forbidden', message: 'permission stats:read not granted by this token' },
      }),
    });
    renderApp({
      url: '/errors?site=shop.example.com',
      api,
      queryClient: new QueryClient({ defaultOptions: { queries: { retry: shouldRetry } } }),
    });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load the errors: permission stats:read not granted by this token (403 forbidden)',
    );
    expect(api.requests).toHaveLength(1);
  });
});
