import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { HeatmapAnswer, ScrollDepthAnswer } from '../src/api/heatmaps';
import { type Answer, type Route, breakdown, fakeApi, renderApp } from './helpers';

const SITE = '/v1/sites/shop.example.com';

function heatmap(url: URL, overrides: Partial<HeatmapAnswer> = {}): HeatmapAnswer {
  const fixed = url.searchParams.get('type')?.endsWith('_fixed');
  return {
    site: 'shop.example.com',
    path: url.searchParams.get('path') ?? '',
    type: url.searchParams.get('type') ?? 'click',
    device: url.searchParams.get('device'),
    date_from: url.searchParams.get('from') ?? '',
    date_to: url.searchParams.get('to') ?? '',
    cell_height_px: 16,
    columns: 100,
    ...(fixed
      ? { total: 12, cells: { x: [90, 91], y: [1, 70], count: [9, 3] } }
      : { total: 1893, cells: { x: [31, 32, 31], y: [5, 5, 6], count: [1800, 60, 33] } }),
    ...overrides,
  };
}

function scrollDepth(url: URL): ScrollDepthAnswer {
  const reaching = [400, 380, 300, 200, 120, 40];
  return {
    site: 'shop.example.com',
    path: url.searchParams.get('path') ?? '',
    device: url.searchParams.get('device'),
    date_from: url.searchParams.get('from') ?? '',
    date_to: url.searchParams.get('to') ?? '',
    cell_height_px: 16,
    total_views: 400,
    points: reaching.map((views, row) => ({ row, depth_px: row * 16, views_reaching: views, share: views / 400 })),
  };
}

const NO_RECORDING: Answer = {
  status: 404,
  body: { error: 'not_found', message: 'no kept recording visited this page' },
};

function heatmapRoutes(overrides: Record<string, Route> = {}): Record<string, Route> {
  return {
    [`${SITE}/stats/breakdown`]: (url) => ({ body: breakdown('page', url.searchParams.get('by') === 'page' ? ['/', '/pricing'] : []) }),
    [`${SITE}/heatmap`]: (url) => ({ body: heatmap(url) }),
    [`${SITE}/heatmap/snapshot`]: () => NO_RECORDING,
    [`${SITE}/scroll-depth`]: (url) => ({ body: scrollDepth(url) }),
    ...overrides,
  };
}

// jsdom has no 2D context: getContext answers null, as here, but first logs that it is
// not implemented, on every drawing. The page draws nothing without one.
beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockReturnValue(null);
});

const last = (urls: URL[]) => urls[urls.length - 1]!;
const query = (url: URL) => Object.fromEntries(url.searchParams);

// Each test loads the page's chunk and renders the whole app: slow on a busy machine.
describe('heatmaps page', { timeout: 30_000 }, () => {
  it('shows the busiest page on a desktop by default, and asks the API for it', async () => {
    const api = fakeApi(heatmapRoutes());
    const app = renderApp({ url: '/heatmaps?site=shop.example.com&range=7d', api });

    expect(await screen.findByRole('heading', { name: 'Clicks on /' })).toBeInTheDocument();
    expect(await screen.findByTestId('heatmap-total')).toHaveTextContent(
      '1,893 clicks on the page and 12 on fixed elements, 2026-11-19 to 2026-11-25 (UTC), desktop.',
    );
    expect(query(api.to(`${SITE}/stats/breakdown`)[0]!)).toEqual({
      from: '2026-11-19',
      to: '2026-11-25',
      device: 'desktop',
      by: 'page',
      limit: '100',
    });
    const types = api.to(`${SITE}/heatmap`).map(query);
    expect(types).toContainEqual({ path: '/', type: 'click', device: 'desktop', from: '2026-11-19', to: '2026-11-25' });
    expect(types).toContainEqual({ path: '/', type: 'click_fixed', device: 'desktop', from: '2026-11-19', to: '2026-11-25' });
    expect(query(last(api.to(`${SITE}/heatmap/snapshot`)))).toEqual({ path: '/', device: 'desktop' });
    // The busiest page is shown, not written into the link.
    expect(app.url()).toBe('/heatmaps?site=shop.example.com&range=7d');
    expect(screen.getByLabelText('Page to show')).toHaveValue('/');
    expect(screen.getByRole('button', { name: 'Clicks' })).toHaveAttribute('aria-pressed', 'true');
  });

  it('puts the page, type, device and fixed points chosen in the URL and in the API’s query', async () => {
    const api = fakeApi(heatmapRoutes());
    const user = userEvent.setup();
    const app = renderApp({ url: '/heatmaps?site=shop.example.com&range=7d', api });
    await screen.findByRole('heading', { name: 'Clicks on /' });

    await user.selectOptions(screen.getByLabelText('Page to show'), '/pricing');
    await waitFor(() => expect(app.url()).toBe('/heatmaps?site=shop.example.com&range=7d&path=%2Fpricing'));
    expect(await screen.findByRole('heading', { name: 'Clicks on /pricing' })).toBeInTheDocument();
    await waitFor(() => expect(last(api.to(`${SITE}/heatmap`)).searchParams.get('path')).toBe('/pricing'));

    await user.click(screen.getByRole('button', { name: 'Moves' }));
    await waitFor(() => expect(app.url()).toBe('/heatmaps?site=shop.example.com&range=7d&path=%2Fpricing&type=move'));
    await waitFor(() =>
      expect(api.to(`${SITE}/heatmap`).map((url) => url.searchParams.get('type'))).toEqual(
        expect.arrayContaining(['move', 'move_fixed']),
      ),
    );
    expect(screen.getByRole('button', { name: 'Moves' })).toHaveAttribute('aria-pressed', 'true');

    await user.selectOptions(screen.getByLabelText('Device to show'), 'mobile');
    await waitFor(() => expect(app.url()).toContain('&device=mobile'));
    await waitFor(() => expect(query(last(api.to(`${SITE}/heatmap/snapshot`)))).toEqual({ path: '/pricing', device: 'mobile' }));
    await waitFor(() => expect(last(api.to(`${SITE}/heatmap`)).searchParams.get('device')).toBe('mobile'));

    await user.click(screen.getByLabelText('Points on fixed elements'));
    await waitFor(() => expect(app.url()).toContain('&fixed=hide'));
    expect(await screen.findByTestId('heatmap-total')).toHaveTextContent('12 on fixed elements (hidden)');
  });

  it('shows the scroll depth with the lines 75, 50 and 25 % of the views reached', async () => {
    const api = fakeApi(heatmapRoutes());
    const user = userEvent.setup();
    const app = renderApp({ url: '/heatmaps?site=shop.example.com&range=7d&path=/pricing&device=mobile', api });
    await user.click(await screen.findByRole('button', { name: 'Scroll depth' }));
    await waitFor(() => expect(app.url()).toContain('type=scroll'));
    const folds = await screen.findByRole('list', { name: 'Fold lines' });
    expect(query(last(api.to(`${SITE}/scroll-depth`)))).toEqual({
      path: '/pricing',
      device: 'mobile',
      from: '2026-11-19',
      to: '2026-11-25',
    });
    // 75 % of 400 views reached row 2 (300), 50 % row 3 (200), 25 % row 4 (120 >= 100).
    expect(within(folds).getAllByRole('listitem').map((item) => item.textContent)).toEqual([
      '75.0% of views reached 32 px',
      '50.0% of views reached 48 px',
      '25.0% of views reached 64 px',
    ]);
    expect(screen.getByTestId('heatmap-total')).toHaveTextContent('400 page views with their depth counted');
    expect(screen.getByLabelText('Points on fixed elements')).toBeDisabled();
    const surface = screen.getByRole('application', { name: 'Scroll depth of /pricing (mobile)' });
    fireEvent.focus(surface);
    expect(await screen.findByRole('tooltip')).toHaveTextContent('0–16 px down: 100.0% of 400 views reached it (400)');
    fireEvent.keyDown(surface, { key: 'ArrowDown' });
    expect(screen.getByRole('tooltip')).toHaveTextContent('16–32 px down: 95.0% of 400 views reached it (380)');
  });

  it('opens a shared view as it was: page, device, type and the fixed points hidden', async () => {
    const api = fakeApi(heatmapRoutes());
    renderApp({
      url: '/heatmaps?site=shop.example.com&range=custom&from=2026-11-01&to=2026-11-10&path=/pricing&device=tablet&type=rage_click&fixed=hide',
      api,
    });
    expect(await screen.findByRole('heading', { name: 'Rage clicks on /pricing' })).toBeInTheDocument();
    expect(screen.getByLabelText('Page to show')).toHaveValue('/pricing');
    expect(screen.getByLabelText('Device to show')).toHaveValue('tablet');
    expect(screen.getByLabelText('Points on fixed elements')).not.toBeChecked();
    await waitFor(() =>
      expect(api.to(`${SITE}/heatmap`).map(query)).toContainEqual({
        path: '/pricing',
        type: 'rage_click',
        device: 'tablet',
        from: '2026-11-01',
        to: '2026-11-10',
      }),
    );
  });

  it('draws the blank grid over a usual screen of the device when no recording has the page, and says why', async () => {
    const api = fakeApi(heatmapRoutes());
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/pricing&device=mobile', api });
    expect(
      await screen.findByText(
        'No picture of this page: no kept recording visited this page. The grid is drawn over a blank page 390 px wide, with the first screen 844 px tall, a usual mobile screen.',
      ),
    ).toBeInTheDocument();
    const surface = await screen.findByRole('application', { name: 'Heatmap of clicks on /pricing (mobile)' });
    // The page is one mobile screen tall (the cells end at row 6); the panel is wider.
    expect(surface).toHaveStyle({ width: '390px', height: '844px' });
    expect(screen.queryByTestId('page-picture')).not.toBeInTheDocument();
  });

  it('says that pictures need replay:read when the token lacks it', async () => {
    const api = fakeApi(
      heatmapRoutes({
        [`${SITE}/heatmap/snapshot`]: () => ({
          status: 403,
          body: { error: 'forbidden', message: 'permission replay:read not granted by this token' },
        }),
      }),
    );
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/', api });
    expect(
      await screen.findByText(/No picture of this page: permission replay:read not granted by this token \(pictures come from recordings, which need replay:read\)\./),
    ).toBeInTheDocument();
    expect(await screen.findByRole('application', { name: 'Heatmap of clicks on / (desktop)' })).toBeInTheDocument();
  });

  it('tells a recording without a full snapshot from one it can draw', async () => {
    const api = fakeApi(
      heatmapRoutes({
        [`${SITE}/heatmap/snapshot`]: () => ({
          body: {
            session_id: '5f1c2e8a-0000-4000-8000-000000000001',
            captured_at: '2026-11-25T11:00:20Z',
            width: 1440,
            height: 900,
            events: [{ type: 4, timestamp: 1, data: { href: 'https://shop.example.com/', width: 1440, height: 900 } }],
          },
        }),
      }),
    );
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/', api });
    expect(
      await screen.findByText(/^No picture of this page: the recording has no full snapshot of the page\. The grid is drawn over a blank page 1280 px wide/),
    ).toBeInTheDocument();
  });

  it('falls back to the blank grid, leaving nothing behind, when rrweb cannot rebuild the page', async () => {
    // rrweb rebuilds only into an iframe it knows to be sandboxed without scripts; jsdom's
    // iframes are not (no sandbox token list), so rrweb refuses, as it would any page it
    // cannot protect.
    const api = fakeApi(
      heatmapRoutes({
        [`${SITE}/heatmap/snapshot`]: () => ({
          body: {
            session_id: '5f1c2e8a-0000-4000-8000-000000000001',
            captured_at: '2026-11-25T11:00:20Z',
            width: 1440,
            height: 900,
            events: [
              { type: 4, timestamp: 1000, data: { href: 'https://shop.example.com/', width: 1440, height: 900 } },
              {
                type: 2,
                timestamp: 1005,
                data: {
                  node: { type: 0, id: 1, childNodes: [{ type: 2, id: 2, tagName: 'html', attributes: {}, childNodes: [] }] },
                  initialOffset: { left: 0, top: 0 },
                },
              },
            ],
          },
        }),
      }),
    );
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/', api });
    expect(await screen.findByText(/^The page's picture could not be rebuilt: .+\. The grid is drawn over a blank page 1280 px wide/)).toBeInTheDocument();
    expect(document.querySelector('iframe')).toBeNull();
    expect(screen.queryByTestId('page-picture')).not.toBeInTheDocument();
  });

  it('tells a cell’s count and share to the keyboard, and lists the busiest cells', async () => {
    const api = fakeApi(heatmapRoutes());
    const user = userEvent.setup();
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/', api });
    const surface = await screen.findByRole('application', { name: 'Heatmap of clicks on / (desktop)' });
    await user.tab();
    while (document.activeElement !== surface) await user.tab();
    // Focus starts on the busiest cell.
    const tooltip = await screen.findByRole('tooltip');
    expect(tooltip).toHaveTextContent('31–32 % across, 80–96 px down; page: 1,800 clicks (95.1% of 1,893)');
    await user.keyboard('{ArrowRight}');
    expect(screen.getByRole('tooltip')).toHaveTextContent('32–33 % across, 80–96 px down; page: 60 clicks (3.2% of 1,893)');
    await user.keyboard('{ArrowUp}{ArrowUp}{ArrowUp}{ArrowUp}');
    expect(screen.getByRole('tooltip')).toHaveTextContent('32–33 % across, 16–32 px down; page: no clicks; fixed elements: no clicks');
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('tooltip')).not.toBeInTheDocument();

    await user.click(screen.getByText('The busiest cells as a table'));
    const rows = within(screen.getByRole('table')).getAllByRole('row');
    expect(rows[1]).toHaveTextContent('31–32 % across, 80–96 px downthe page1,80095.1%');
    expect(rows[3]).toHaveTextContent('31–32 % across, 96–112 px downthe page331.7%');
    expect(rows[4]).toHaveTextContent('90–91 % across, 16–32 px downfixed elements975.0%');
  });

  it('shows the cell under the pointer', async () => {
    const api = fakeApi(heatmapRoutes());
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/', api });
    const surface = await screen.findByRole('application', { name: 'Heatmap of clicks on / (desktop)' });
    // jsdom lays nothing out: the surface is at (0, 0), and the 1280 px page is fitted
    // into the panel's 960 px less the 66 px of the axis and borders.
    const scale = (960 - 66) / 1280;
    expect(surface).toHaveStyle({ width: `${1280 * scale}px` });
    fireEvent.mouseMove(surface, { clientX: 31.5 * 12.8 * scale, clientY: 85 * scale });
    expect(await screen.findByRole('tooltip')).toHaveTextContent('31–32 % across, 80–96 px down; page: 1,800 clicks');
    fireEvent.mouseLeave(surface);
    expect(screen.queryByRole('tooltip')).not.toBeInTheDocument();
  });

  it('reports what the API left out for small crowds, and that heatmaps count every country', async () => {
    const api = fakeApi(
      heatmapRoutes({
        [`${SITE}/heatmap`]: (url) => ({
          body: heatmap(url, { suppressed_cells: 14, suppressed_count: 37, min_count: 5 } as Partial<HeatmapAnswer>),
        }),
      }),
    );
    renderApp({ url: '/heatmaps?site=shop.example.com&path=/&country=DE', api });
    expect(
      await screen.findByText(
        'To protect small groups of visitors, the API left out 14 cells holding 37 clicks with fewer than 5 people; the totals do not include them.',
      ),
    ).toBeInTheDocument();
    expect(screen.getByText('Heatmaps count every country: the country filter does not apply to them.')).toBeInTheDocument();
    expect(api.to(`${SITE}/heatmap`).every((url) => !url.searchParams.has('country'))).toBe(true);
  });

  it('says so when no page was viewed on the device in these days', async () => {
    const api = fakeApi(heatmapRoutes({ [`${SITE}/stats/breakdown`]: () => ({ body: breakdown('page', []) }) }));
    renderApp({ url: '/heatmaps?site=shop.example.com&device=tablet', api });
    expect(await screen.findByText(/No page was viewed on tablet in these days/)).toBeInTheDocument();
    expect(api.to(`${SITE}/heatmap`)).toHaveLength(0);
  });
});
