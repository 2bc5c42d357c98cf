import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import {
  previousRange,
  readView,
  sharedSearch,
  withCustomRange,
  withFilter,
  withPreset,
  withSite,
} from '../src/state/dashboardSearch';
import { fakeApi, overviewRoutes, renderApp } from './helpers';

const TODAY = '2026-11-25';
const view = (search: string) => readView(new URLSearchParams(search), TODAY);

describe('the view in the URL', () => {
  it('defaults to the 30 days ending today, no filters', () => {
    expect(view('')).toEqual({ site: null, preset: '30d', range: { from: '2026-10-27', to: TODAY }, filters: {} });
  });

  it('reads presets, custom days and filters', () => {
    expect(view('range=today').range).toEqual({ from: TODAY, to: TODAY });
    expect(view('range=7d').range).toEqual({ from: '2026-11-19', to: TODAY });
    expect(view('range=custom&from=2026-02-01&to=2026-03-01')).toMatchObject({
      preset: 'custom',
      range: { from: '2026-02-01', to: '2026-03-01' },
    });
    expect(view('site=shop.example.com&path=/pricing&device=Mobile&country=de')).toMatchObject({
      site: 'shop.example.com',
      filters: { path: '/pricing', device: 'mobile', country: 'DE' },
    });
  });

  it('ignores what the API would refuse, so a damaged link still opens', () => {
    expect(view('range=custom&from=2026-02-30&to=2026-03-01').preset).toBe('30d');
    expect(view('range=custom&from=2026-03-02&to=2026-03-01').preset).toBe('30d');
    expect(view('range=custom&from=2025-01-01&to=2026-03-01').preset).toBe('30d');
    expect(view('range=year').preset).toBe('30d');
    expect(view('path=pricing&device=phone&country=DEU').filters).toEqual({});
    expect(view('path=/a%0Ab').filters).toEqual({});
  });

  it('sets and clears presets, days, filters and sites', () => {
    let params = new URLSearchParams('site=a&range=custom&from=2026-01-01&to=2026-01-31');
    params = withPreset(params, '7d');
    expect(params.toString()).toBe('site=a&range=7d');
    params = withCustomRange(params, { from: '2026-01-01', to: '2026-01-02' });
    expect(params.toString()).toBe('site=a&range=custom&from=2026-01-01&to=2026-01-02');
    params = withFilter(params, 'country', 'fr');
    params = withFilter(params, 'path', '/x');
    expect(params.get('country')).toBe('FR');
    expect(withFilter(params, 'path', null).has('path')).toBe(false);
    expect(withFilter(params, 'device', 'phone').has('device')).toBe(false);
    const other = withSite(params, 'b');
    expect(other.toString()).toBe('site=b&range=custom&from=2026-01-01&to=2026-01-02');
  });

  it('compares with the period of the same length just before', () => {
    expect(previousRange({ from: '2026-11-19', to: '2026-11-25' })).toEqual({ from: '2026-11-12', to: '2026-11-18' });
    expect(previousRange({ from: '2026-03-01', to: '2026-03-01' })).toEqual({ from: '2026-02-28', to: '2026-02-28' });
  });

  it('carries only the shared params from page to page', () => {
    expect(sharedSearch(new URLSearchParams('site=a&interval=hour&device=mobile&range=7d'))).toBe(
      '?site=a&range=7d&device=mobile',
    );
  });
});

describe('filters and range in the dashboard', () => {
  it('adds a filter from the form, shows it as a chip, and removes it', async () => {
    const user = userEvent.setup();
    const app = renderApp({ url: '/errors?site=shop.example.com', api: fakeApi({}) });
    const form = await screen.findByRole('form', { name: 'Add a filter' });
    await user.selectOptions(within(form).getByLabelText('Filter by'), 'country');
    await user.type(within(form).getByLabelText('Country'), 'germany');
    await user.click(within(form).getByRole('button', { name: 'Add filter' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('two-letter code');
    expect(app.url()).toBe('/errors?site=shop.example.com');

    await user.clear(within(form).getByLabelText('Country'));
    await user.type(within(form).getByLabelText('Country'), 'de');
    await user.click(within(form).getByRole('button', { name: 'Add filter' }));
    await waitFor(() => expect(app.url()).toBe('/errors?site=shop.example.com&country=DE'));
    const chips = screen.getByRole('list', { name: 'Active filters' });
    expect(chips).toHaveTextContent('Country: DE');

    await user.click(screen.getByRole('button', { name: 'Remove filter Country DE' }));
    await waitFor(() => expect(app.url()).toBe('/errors?site=shop.example.com'));
    expect(screen.queryByRole('list', { name: 'Active filters' })).not.toBeInTheDocument();
  });

  it('keeps the range in the URL: presets and custom days', async () => {
    const user = userEvent.setup();
    const app = renderApp({ url: '/errors?site=shop.example.com', api: fakeApi({}) });
    await user.click(await screen.findByRole('button', { name: '7 days' }));
    await waitFor(() => expect(app.url()).toBe('/errors?site=shop.example.com&range=7d'));
    expect(screen.getByRole('button', { name: '7 days' })).toHaveAttribute('aria-pressed', 'true');

    await user.click(screen.getByRole('button', { name: 'Custom' }));
    const custom = screen.getByRole('form', { name: 'Custom date range' });
    await user.clear(within(custom).getByLabelText('From'));
    await user.type(within(custom).getByLabelText('From'), '2026-12-01');
    await user.click(within(custom).getByRole('button', { name: 'Apply' }));
    expect(within(custom).getByRole('alert')).toHaveTextContent('The first day is after the last day.');

    await user.clear(within(custom).getByLabelText('From'));
    await user.type(within(custom).getByLabelText('From'), '2026-11-01');
    await user.click(within(custom).getByRole('button', { name: 'Apply' }));
    await waitFor(() =>
      expect(app.url()).toBe('/errors?site=shop.example.com&range=custom&from=2026-11-01&to=2026-11-25'),
    );
  });

  it('restores a shared view: site, days and filters in the controls and in every request', async () => {
    const api = fakeApi(overviewRoutes('blog.example.com'));
    renderApp({
      url: '/?site=blog.example.com&range=custom&from=2026-11-01&to=2026-11-10&path=/blog&device=mobile',
      api,
    });
    expect(await screen.findByRole('heading', { name: 'Overview' })).toBeInTheDocument();
    expect(screen.getByLabelText('Site')).toHaveValue('blog.example.com');
    expect(screen.getByRole('button', { name: 'Custom' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByLabelText('From')).toHaveValue('2026-11-01');
    expect(screen.getByRole('list', { name: 'Active filters' })).toHaveTextContent('Page: /blog');
    expect(screen.getByRole('list', { name: 'Active filters' })).toHaveTextContent('Device: mobile');
    await waitFor(() => expect(api.to('/v1/sites/blog.example.com/stats/breakdown')).toHaveLength(6));
    for (const url of api.requests.filter((asked) => !asked.pathname.endsWith('/stats'))) {
      expect(url.searchParams.get('from')).toBe('2026-11-01');
      expect(url.searchParams.get('to')).toBe('2026-11-10');
      expect(url.searchParams.get('path')).toBe('/blog');
      expect(url.searchParams.get('device')).toBe('mobile');
    }
  });

  it('carries the view to the other pages from the navigation, and switching site drops the filters', async () => {
    const user = userEvent.setup();
    const app = renderApp({
      url: '/?site=shop.example.com&range=7d&country=DE&interval=week',
      api: fakeApi(overviewRoutes()),
    });
    await user.click(await screen.findByRole('link', { name: 'Errors' }));
    await waitFor(() => expect(app.url()).toBe('/errors?site=shop.example.com&range=7d&country=DE'));
    expect(screen.getByRole('link', { name: 'Errors' })).toHaveAttribute('aria-current', 'page');
    await user.selectOptions(screen.getByLabelText('Site'), 'blog.example.com');
    await waitFor(() => expect(app.url()).toBe('/errors?site=blog.example.com&range=7d'));
  });

  it('says so when the link names a site the token does not grant', async () => {
    const api = fakeApi({});
    renderApp({ url: '/?site=other.example.com', api });
    expect(await screen.findByRole('alert')).toHaveTextContent('This token does not grant the site other.example.com');
    expect(api.requests).toHaveLength(0);
  });

  it('moves through the navigation with the arrow keys', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/errors?site=shop.example.com', api: fakeApi({}) });
    const nav = await screen.findByRole('navigation', { name: 'Dashboard' });
    within(nav).getByRole('link', { name: 'Overview' }).focus();
    await user.keyboard('{ArrowDown}');
    expect(within(nav).getByRole('link', { name: 'Heatmaps' })).toHaveFocus();
    await user.keyboard('{End}');
    expect(within(nav).getByRole('link', { name: 'Live' })).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(within(nav).getByRole('link', { name: 'Overview' })).toHaveFocus();
  });
});
