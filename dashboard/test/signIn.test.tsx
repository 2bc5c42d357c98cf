import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { TOKEN_STORAGE_KEY, decodeToken } from '../src/auth/token';
import { NOW, fakeApi, makeToken, overviewRoutes, renderApp } from './helpers';

async function paste(token: string) {
  const user = userEvent.setup();
  const field = await screen.findByLabelText('API token');
  await user.click(field);
  await user.paste(token);
  return user;
}

describe('decodeToken', () => {
  it('reads the sites, permissions and expiry of a token', () => {
    const decoded = decodeToken(`Bearer ${makeToken({ sites: ['a.example', 'bad site'] })}`, NOW);
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.token.claims.sites).toEqual(['a.example']);
    expect(decoded.token.claims.permissions).toEqual(['stats:read', 'sessions:read']);
    expect(decoded.token.claims.exp).toBe(NOW.getTime() / 1000 + 3 * 3600);
    expect(decoded.token.raw.startsWith('Bearer')).toBe(false);
  });

  it.each([
    ['a word', 'not-a-token', 'not an API token'],
    ['two parts', 'a.b', 'not an API token'],
    ['a part that is not base64url', 'a.!!!.c', 'not an API token'],
    ['claims that are not JSON', 'eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.c2ln', 'claims could not be read'],
    ['an expiry that is a string', makeToken({ exp: '1e300' }), 'no expiry'],
    ['an expiry that is not an integer', makeToken({ exp: 1.5 }), 'no expiry'],
    ['no site', makeToken({ sites: [] }), 'grants no site'],
    ['an expiry past', makeToken({ exp: NOW.getTime() / 1000 - 1 }), 'expired on 2026-11-25 11:59 UTC'],
    ['an expiry now', makeToken({ exp: NOW.getTime() / 1000 }), 'expired'],
  ])('refuses %s', (_, token, reason) => {
    const decoded = decodeToken(token, NOW);
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.reason).toContain(reason);
  });
});

describe('sign-in', () => {
  it('shows the sites and expiry of the pasted token, keeps it in sessionStorage only, and opens the overview', async () => {
    const api = fakeApi(overviewRoutes());
    const app = renderApp({ url: '/', api, token: null });
    expect(await screen.findByRole('heading', { name: 'Sign in to InsightLite' })).toBeInTheDocument();
    const token = makeToken();
    const user = await paste(token);
    expect(screen.getByText('shop.example.com, blog.example.com')).toBeInTheDocument();
    expect(screen.getByText('2026-11-25 15:00 UTC (in 3 hours)')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Sign in' }));

    expect(await screen.findByRole('heading', { name: 'Overview' })).toBeInTheDocument();
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBe(token);
    expect(window.localStorage.length).toBe(0);
    // The first site of the token is chosen, and the token never enters the URL.
    await waitFor(() => expect(app.url()).toBe('/?site=shop.example.com'));
    expect(app.url()).not.toContain(token.slice(0, 20));
    await waitFor(() => expect(api.requests.length).toBeGreaterThan(0));
    expect(api.requests.every((url) => !url.search.includes(token))).toBe(true);
    expect(new Set(api.authorizations)).toEqual(new Set([`Bearer ${token}`]));
  });

  it('refuses a bad token with the reason and keeps nothing', async () => {
    renderApp({ url: '/', api: fakeApi({}), token: null });
    const user = await paste('not-a-token');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This is not an API token');
    expect(screen.getByLabelText('API token')).toHaveAttribute('aria-invalid', 'true');
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Overview' })).not.toBeInTheDocument();
  });

  it('refuses an expired token, saying when it expired', async () => {
    renderApp({ url: '/', api: fakeApi({}), token: null });
    const user = await paste(makeToken({ exp: NOW.getTime() / 1000 - 3600 }));
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('This token expired on 2026-11-25 11:00 UTC.');
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
  });

  it('drops a stored token that has expired and says so', async () => {
    renderApp({ url: '/', api: fakeApi({}), token: makeToken({ exp: NOW.getTime() / 1000 - 60 }) });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'This token expired on 2026-11-25 11:59 UTC. Sign in again.',
    );
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
  });

  it('signs out: the token is forgotten and sign-in shows again', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/?site=shop.example.com', api: fakeApi(overviewRoutes()) });
    await user.click(await screen.findByRole('button', { name: 'Sign out' }));
    expect(await screen.findByRole('heading', { name: 'Sign in to InsightLite' })).toBeInTheDocument();
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('opens a shared link after sign-in, with its view', async () => {
    const api = fakeApi({
      '/v1/sites/blog.example.com/errors': () => ({
        body: { date_from: '2026-11-19', date_to: '2026-11-25', groups: [] },
      }),
    });
    const app = renderApp({ url: '/errors?site=blog.example.com&range=7d&device=mobile', api, token: null });
    const user = await paste(makeToken());
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('heading', { name: 'Errors' })).toBeInTheDocument();
    expect(app.url()).toBe('/errors?site=blog.example.com&range=7d&device=mobile');
    await waitFor(() => expect(api.to('/v1/sites/blog.example.com/errors')).toHaveLength(1));
    const asked = api.to('/v1/sites/blog.example.com/errors')[0]!.searchParams;
    expect(Object.fromEntries(asked)).toEqual({ from: '2026-11-19', to: '2026-11-25', device: 'mobile', limit: '100' });
  });
});
