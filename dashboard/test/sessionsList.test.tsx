import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Session, SessionsPage } from '../src/api/sessions';
import {
  cursorTrail,
  hasStalePaging,
  readListFilters,
  viewSignature,
  withFirstPage,
  withListFilters,
  withNextPage,
  withPreviousPage,
} from '../src/pages/sessions/sessionsSearch';
import { fakeApi, renderApp } from './helpers';

const SESSIONS = '/v1/sites/shop.example.com/sessions';

function session(index: number, overrides: Partial<Session> = {}): Session {
  const minute = String(59 - index).padStart(2, '0');
  return {
    id: `5f1c2e8a-0000-4000-8000-${String(index).padStart(12, '0')}`,
    start_time: `2026-11-25T11:${minute}:00Z`,
    end_time: `2026-11-25T11:${minute}:42Z`,
    duration_seconds: 42 + index,
    page_count: 3,
    event_count: 57,
    device: 'desktop',
    country: 'DE',
    has_errors: false,
    has_rage_clicks: false,
    entry_path: '/',
    exit_path: '/checkout',
    rage_click_count: 0,
    error_count: 0,
    has_recording: false,
    ...overrides,
  };
}

function page(sessions: Session[], next: string | null): SessionsPage {
  return { date_from: '2026-11-19', date_to: '2026-11-25', sessions, next_cursor: next };
}

/** Pages by cursor: no cursor is the first page, 'c1' the second, 'c2' the third. */
function pagedApi() {
  return fakeApi({
    [SESSIONS]: (url) => {
      const cursor = url.searchParams.get('cursor');
      if (cursor === null) return { body: page([session(1), session(2)], 'c1') };
      if (cursor === 'c1') return { body: page([session(3)], 'c2') };
      if (cursor === 'c2') return { body: page([session(4)], null) };
      return { status: 400, body: { error: 'invalid_cursor', message: 'cursor is not valid' } };
    },
  });
}

const query = (url: URL) => Object.fromEntries(url.searchParams);

describe('the session list in the URL', () => {
  it('reads the list filters, ignoring what the API would refuse', () => {
    expect(readListFilters(new URLSearchParams(''))).toEqual({
      hasErrors: false,
      hasRageClicks: false,
      recording: 'any',
      minDuration: 0,
    });
    expect(
      readListFilters(new URLSearchParams('has_errors=true&has_rage_clicks=true&has_recording=false&min_duration=90')),
    ).toEqual({ hasErrors: true, hasRageClicks: true, recording: 'without', minDuration: 90 });
    expect(readListFilters(new URLSearchParams('has_errors=yes&has_recording=1&min_duration=-5'))).toEqual({
      hasErrors: false,
      hasRageClicks: false,
      recording: 'any',
      minDuration: 0,
    });
    expect(readListFilters(new URLSearchParams('min_duration=864001')).minDuration).toBe(0);
  });

  it('writes the filters with the API names and starts again from the first page', () => {
    const paged = withNextPage(new URLSearchParams('site=a&device=mobile'), 'c1');
    const next = withListFilters(paged, { hasErrors: true, hasRageClicks: false, recording: 'with', minDuration: 30 });
    expect(next.toString()).toBe('site=a&device=mobile&has_errors=true&has_recording=true&min_duration=30');
  });

  it('keeps the trail of cursors for the view it was made in', () => {
    let params = new URLSearchParams('site=a&range=7d');
    expect(cursorTrail(params)).toEqual([]);
    params = withNextPage(params, 'c1');
    params = withNextPage(params, 'c2');
    expect(params.getAll('cursor')).toEqual(['c1', 'c2']);
    expect(params.get('paging')).toBe(viewSignature(params));
    expect(cursorTrail(params)).toEqual(['c1', 'c2']);
    expect(cursorTrail(withPreviousPage(params))).toEqual(['c1']);
    expect(withPreviousPage(withPreviousPage(params)).toString()).toBe('site=a&range=7d');
    expect(withFirstPage(params).toString()).toBe('site=a&range=7d');

    // A filter set since (in the filter bar above the list): the cursors lead nowhere.
    const changed = new URLSearchParams(params);
    changed.set('country', 'FR');
    expect(cursorTrail(changed)).toEqual([]);
    expect(hasStalePaging(changed)).toBe(true);
    expect(hasStalePaging(params)).toBe(false);
  });
});

describe('sessions page', () => {
  it('sends the dashboard filters and the list filters to the API, and lists the sessions', async () => {
    const api = fakeApi({
      [SESSIONS]: () => ({
        body: page(
          [
            session(1, {
              has_rage_clicks: true,
              rage_click_count: 4,
              has_errors: true,
              error_count: 1,
              has_recording: true,
              country: '',
            }),
            session(2),
          ],
          null,
        ),
      }),
    });
    renderApp({
      url: '/sessions?site=shop.example.com&range=7d&path=%2Fpricing&device=mobile&has_errors=true&min_duration=30',
      api,
    });
    const table = await screen.findByRole('table', { name: /Sessions that started 2026-11-19 to 2026-11-25/ });
    expect(query(api.to(SESSIONS)[0] as URL)).toEqual({
      from: '2026-11-19',
      to: '2026-11-25',
      path: '/pricing',
      device: 'mobile',
      has_errors: 'true',
      min_duration: '30',
      limit: '50',
    });
    expect(within(table).getByText(/page 1, 2 sessions/)).toBeInTheDocument();
    const [header, first, second] = within(table).getAllByRole('row');
    expect(
      within(header!)
        .getAllByRole('columnheader')
        .map((cell) => cell.textContent),
    ).toEqual([
      'Start',
      'Duration',
      'Pages',
      'Events',
      'Device',
      'Country',
      'Entry page',
      'Exit page',
      'Signals',
      'Recording',
    ]);
    expect(first).toHaveTextContent('2026-11-25 11:58 UTC43s357desktopUnknown//checkout4 rage clicks1 error▶Recorded');
    expect(second).toHaveTextContent('No recording');
    expect(within(first!).getByRole('link', { name: '2026-11-25 11:58 UTC' })).toHaveAttribute(
      'href',
      '/sessions/5f1c2e8a-0000-4000-8000-000000000001?site=shop.example.com&range=7d&path=%2Fpricing&device=mobile&has_errors=true&min_duration=30',
    );
    expect(screen.getByRole('checkbox', { name: 'With errors' })).toBeChecked();
    expect(screen.getByRole('combobox', { name: 'Minimum duration' })).toHaveValue('30');
  });

  it('keeps a changed filter in the URL and asks the API with it', async () => {
    const api = fakeApi({ [SESSIONS]: () => ({ body: page([session(1)], null) }) });
    const user = userEvent.setup();
    const app = renderApp({ url: '/sessions?site=shop.example.com', api });
    await screen.findByRole('table');
    await user.click(screen.getByRole('checkbox', { name: 'With rage clicks' }));
    await waitFor(() => expect(app.url()).toBe('/sessions?site=shop.example.com&has_rage_clicks=true'));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Recording' }), 'without');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Minimum duration' }), '60');
    await waitFor(() =>
      expect(app.url()).toBe(
        '/sessions?site=shop.example.com&has_rage_clicks=true&has_recording=false&min_duration=60',
      ),
    );
    await waitFor(() => expect(api.to(SESSIONS)).toHaveLength(4));
    expect(query(api.to(SESSIONS)[3] as URL)).toMatchObject({
      has_rage_clicks: 'true',
      has_recording: 'false',
      min_duration: '60',
    });
    expect(api.to(SESSIONS)[0]?.searchParams.has('has_rage_clicks')).toBe(false);

    // Back returns to the list without the filters, as for the dashboard's others.
    await user.click(screen.getByRole('checkbox', { name: 'With rage clicks' }));
    await waitFor(() => expect(app.url()).toBe('/sessions?site=shop.example.com&has_recording=false&min_duration=60'));
    await app.router.navigate(-1);
    await waitFor(() => expect(screen.getByRole('checkbox', { name: 'With rage clicks' })).toBeChecked());
  });

  it('pages forward and back by cursor', async () => {
    const api = pagedApi();
    const user = userEvent.setup();
    const app = renderApp({ url: '/sessions?site=shop.example.com&range=7d', api });
    await screen.findByRole('table', { name: /page 1, 2 sessions/ });
    expect(screen.getByRole('button', { name: 'Previous page' })).toBeDisabled();
    expect(screen.getByRole('button', { name: 'First page' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByRole('table', { name: /page 2, 1 session$/ });
    expect(api.to(SESSIONS).at(-1)?.searchParams.get('cursor')).toBe('c1');
    expect(screen.getByRole('link', { name: '2026-11-25 11:56 UTC' })).toBeInTheDocument();
    expect(app.url()).toMatch(/^\/sessions\?site=shop\.example\.com&range=7d&cursor=c1&paging=[0-9a-z]+$/);

    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByRole('table', { name: /page 3, 1 session$/ });
    expect(api.to(SESSIONS).at(-1)?.searchParams.get('cursor')).toBe('c2');
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();

    await user.click(screen.getByRole('button', { name: 'Previous page' }));
    await screen.findByRole('table', { name: /page 2, 1 session$/ });
    expect(screen.getByRole('link', { name: '2026-11-25 11:56 UTC' })).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'First page' }));
    await screen.findByRole('table', { name: /page 1, 2 sessions/ });
    expect(app.url()).toBe('/sessions?site=shop.example.com&range=7d');
    // Every request of the list kept the same filters and days.
    expect(
      new Set(api.to(SESSIONS).map((url) => `${url.searchParams.get('from')}..${url.searchParams.get('to')}`)),
    ).toEqual(new Set(['2026-11-19..2026-11-25']));
  });

  it('opens the first page when a filter above the list changes', async () => {
    const api = pagedApi();
    const user = userEvent.setup();
    const app = renderApp({ url: '/sessions?site=shop.example.com&device=mobile', api });
    await screen.findByRole('table', { name: /page 1/ });
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await screen.findByRole('table', { name: /page 2/ });
    await user.click(screen.getByRole('button', { name: 'Remove filter Device mobile' }));
    await waitFor(() => expect(app.url()).toBe('/sessions?site=shop.example.com'));
    await screen.findByRole('table', { name: /page 1/ });
    const last = api.to(SESSIONS).at(-1) as URL;
    expect(last.searchParams.has('cursor')).toBe(false);
    expect(last.searchParams.has('device')).toBe(false);
  });

  it('opens a session from its row, with the list view in the link', async () => {
    const api = pagedApi();
    const user = userEvent.setup();
    const app = renderApp({ url: '/sessions?site=shop.example.com&has_errors=true', api });
    const table = await screen.findByRole('table');
    await user.click(within(table).getAllByRole('cell', { name: '/checkout' })[1] as HTMLElement);
    await waitFor(() =>
      expect(app.url()).toBe('/sessions/5f1c2e8a-0000-4000-8000-000000000002?site=shop.example.com&has_errors=true'),
    );
    await user.click(await screen.findByRole('link', { name: /All sessions/ }));
    await waitFor(() => expect(app.url()).toBe('/sessions?site=shop.example.com&has_errors=true'));
  });

  it("shows the API's reason when it refuses the list", async () => {
    const api = fakeApi({
      [SESSIONS]: () => ({
        status: 403,
        body: { error: 'forbidden', message: 'permission sessions:read not granted by this token' },
      }),
    });
    renderApp({ url: '/sessions?site=shop.example.com', api });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load the sessions: permission sessions:read not granted by this token (403 forbidden)',
    );
    expect(screen.getByRole('button', { name: 'Next page' })).toBeDisabled();
  });

  it("offers a link's own minimum duration beside the usual ones", async () => {
    const api = fakeApi({ [SESSIONS]: () => ({ body: page([session(1)], null) }) });
    renderApp({ url: '/sessions?site=shop.example.com&min_duration=45', api });
    await screen.findByRole('table');
    const select = screen.getByRole('combobox', { name: 'Minimum duration' });
    expect(select).toHaveValue('45');
    expect(
      within(select)
        .getAllByRole('option')
        .map((option) => option.textContent),
    ).toEqual(['Any', '10 seconds', '30 seconds', '45 seconds', '1 minute', '3 minutes', '10 minutes', '30 minutes']);
  });

  it('says when no session matches', async () => {
    const api = fakeApi({ [SESSIONS]: () => ({ body: page([], null) }) });
    renderApp({ url: '/sessions?site=shop.example.com&has_rage_clicks=true', api });
    expect(await screen.findByText('No sessions match these days and filters.')).toBeInTheDocument();
  });
});
