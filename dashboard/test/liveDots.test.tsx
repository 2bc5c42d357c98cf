import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { AppProviders } from '../src/app/AppProviders';
import { TOKEN_STORAGE_KEY } from '../src/auth/token';
import type { ReceivedEvent } from '../src/live/liveStream';
import type { LiveEvent } from '../src/live/protocol';
import { ClickDots } from '../src/pages/live/ClickDots';
import {
  clickDot,
  clicksOn,
  deepestClickRow,
  estimatedPageSize,
  liveDots,
  onFrame,
  pagesByActivity,
  usualDevice,
} from '../src/pages/live/dotGeometry';
import { liveEvent } from './liveFakeSocket';
import { type FakeApi, NOW, clock, fakeApi, makeToken } from './helpers';

const NOW_MS = NOW.getTime();

function click(overrides: Partial<LiveEvent>, receivedAt = NOW_MS): ReceivedEvent {
  return { event: liveEvent({ event_type: 'click', ...overrides }), receivedAt };
}

describe('click dot geometry', () => {
  it('puts a click at the centre of the heatmap cell the pipeline counts it in', () => {
    // Column floor(100 * 612 / 1280) = 47, row floor(1830 / 16) = 114.
    expect(clickDot(click({ x: 612, y: 1830, viewport_width: 1280 }))).toMatchObject({
      layer: 'document',
      column: 47,
      row: 114,
      leftPercent: 47.5,
      topPx: 114 * 16 + 8,
    });
    // The right edge stays in the last column; the top-left corner is the first cell.
    expect(clickDot(click({ x: 1280, y: 15.9, viewport_width: 1280 }))).toMatchObject({ column: 99, row: 0 });
    expect(clickDot(click({ x: 0, y: 0 }))).toMatchObject({ column: 0, row: 0, leftPercent: 0.5, topPx: 8 });
  });

  it('puts points on fixed elements on the viewport layer, drawn over the first screen only', () => {
    const fixed = clickDot(click({ x: 640, y: 40, fixed: true }));
    expect(fixed).toMatchObject({ layer: 'fixed', column: 50, row: 2 });
    const frame = { width: 1280, viewportHeight: 800, height: 5000, cellHeight: 16 };
    expect(onFrame(fixed!, frame)).toBe(true);
    // From a taller screen: below this frame's first screen.
    expect(onFrame(clickDot(click({ x: 1, y: 900, fixed: true }))!, frame)).toBe(false);
    expect(onFrame(clickDot(click({ x: 1, y: 900 }))!, frame)).toBe(true);
  });

  it('places nothing without a position or a viewport width', () => {
    expect(clickDot(click({ y: 10 }))).toBeNull();
    expect(clickDot(click({ x: 10 }))).toBeNull();
    expect(clickDot(click({ x: 10, y: 10, viewport_width: 0 }))).toBeNull();
  });

  it('shows a click for its lifetime only', () => {
    const clicks = [
      click({ x: 1, y: 1 }, NOW_MS - 100),
      click({ x: 1, y: 1 }, NOW_MS - 4_000),
      click({ y: 1 }, NOW_MS),
    ];
    expect(liveDots(clicks, NOW_MS).map((dot) => dot.id)).toEqual([clicks[0]?.event.event_id]);
    expect(liveDots(clicks, NOW_MS, 5_000)).toHaveLength(2);
  });

  it('keeps the clicks of one page on one device, and sizes the page by their usual viewport', () => {
    const clicks = [
      click({ url_path: '/a', device_type: 'mobile', x: 1, y: 2000, viewport_width: 390, viewport_height: 844 }),
      click({ url_path: '/a', device_type: 'mobile', x: 1, y: 10, viewport_width: 390, viewport_height: 844 }),
      click({ url_path: '/a', device_type: 'mobile', x: 1, y: 9000, viewport_width: 412, viewport_height: 915, fixed: true }),
      click({ url_path: '/a', device_type: 'desktop', x: 1, y: 1 }),
      click({ url_path: '/b', device_type: 'mobile', x: 1, y: 50_000 }),
    ];
    const onA = clicksOn(clicks, '/a', 'mobile');
    expect(onA).toHaveLength(3);
    expect(estimatedPageSize(onA, 'mobile')).toEqual({ width: 390, viewportHeight: 844, pageHeight: 0 });
    // The fixed point is not on the page: the deepest row is the 2000 px click's.
    expect(deepestClickRow(onA)).toBe(125);
    expect(estimatedPageSize([], 'tablet')).toEqual({ width: 768, viewportHeight: 1024, pageHeight: 0 });
    expect(deepestClickRow([])).toBe(-1);
  });

  it('draws the device most of the page’s recent events came from', () => {
    const events = [
      liveEvent({ url_path: '/a', device_type: 'mobile' }),
      liveEvent({ url_path: '/a', device_type: 'desktop' }),
      liveEvent({ url_path: '/a', device_type: 'mobile' }),
      liveEvent({ url_path: '/b', device_type: 'tablet' }),
    ];
    expect(usualDevice(events, '/a', 'desktop')).toBe('mobile');
    expect(usualDevice(events, '/c', 'desktop')).toBe('desktop');
  });

  it('ranks the pages by their recent events, then by path', () => {
    const events = ['/b', '/a', '/b', '/c', '/a', ''].map((url_path) => liveEvent({ url_path }));
    expect(pagesByActivity(events)).toEqual([
      { path: '/a', events: 2 },
      { path: '/b', events: 2 },
      { path: '/c', events: 1 },
    ]);
  });
});

function renderDots(clicks: ReceivedEvent[], permissions: string[], api: FakeApi = fakeApi({})) {
  window.sessionStorage.setItem(TOKEN_STORAGE_KEY, makeToken({ permissions }));
  render(
    <AppProviders clock={clock} fetch={api.fetch}>
      <ClickDots
        site="shop.example.com"
        events={clicks.map((item) => item.event)}
        clicks={clicks}
        pages={[
          { path: '/pricing', events: 5 },
          { path: '/', events: 1 },
        ]}
        chosen={null}
        filteredByPage={false}
        device={null}
        range={{ from: '2026-10-27', to: '2026-11-25' }}
        onChoose={() => undefined}
      />
    </AppProviders>,
  );
  return api;
}

describe('click dots panel', () => {
  const clicks = [
    click({ url_path: '/pricing', x: 612, y: 400, viewport_width: 1280, viewport_height: 800 }),
    click({ url_path: '/pricing', x: 100, y: 100, fixed: true }),
    click({ url_path: '/pricing', x: 5, y: 5 }, NOW_MS - 10_000),
    click({ url_path: '/', x: 5, y: 5 }),
  ];

  it('draws the busiest page by default, each dot in its cell at the panel’s scale', () => {
    const api = renderDots(clicks, ['live:read']);
    expect(screen.getByRole('combobox', { name: 'Page' })).toHaveDisplayValue('The busiest page (/pricing)');
    const panel = screen.getByRole('img', {
      name: 'Live clicks on /pricing (desktop): 1 on the page and 1 on fixed elements in the last 4 seconds',
    });
    // The page's 1280 px drawn in the 640 px panel less its axis' labels: scale (640 - 90) / 1280.
    const scale = (640 - 90) / 1280;
    expect(panel.style.width).toBe(`${1280 * scale}px`);
    expect(panel.style.height).toBe(`${800 * scale}px`);
    const dots = Array.from(panel.querySelectorAll<HTMLElement>('.live-dot'));
    expect(dots.map((dot) => [dot.dataset.layer, dot.style.left, dot.style.top])).toEqual([
      // Row 25 of 16 px: its centre at 408 page px.
      ['document', '47.5%', `${408 * scale}px`],
      // Column floor(100 * 100 / 1280) = 7, row 6.
      ['fixed', '7.5%', `${104 * scale}px`],
    ]);
    // Without heatmaps:read and replay:read, no picture is asked for.
    expect(api.requests).toEqual([]);
    expect(screen.getByText(/Drawn over a blank page: the page’s picture comes from recordings/)).toBeInTheDocument();
  });

  it('asks for the page’s picture when the token may read it, and says why there is none', async () => {
    const api = fakeApi({
      '/v1/sites/shop.example.com/heatmap/snapshot': () => ({
        status: 404,
        body: { error: 'not_found', message: 'no kept recording visited this page' },
      }),
    });
    renderDots(clicks, ['live:read', 'heatmaps:read', 'replay:read'], api);
    expect(
      await screen.findByText(/No picture of this page: no kept recording visited this page\..*Drawn over a blank page\./),
    ).toBeInTheDocument();
    const asked = api.to('/v1/sites/shop.example.com/heatmap/snapshot');
    expect(asked.map((url) => url.search)).toEqual(['?path=%2Fpricing&device=desktop']);
  });
});
