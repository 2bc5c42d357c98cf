import { screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Session, SessionDetail, SessionEvent } from '../src/api/sessions';
import { rageBursts } from '../src/pages/sessions/rageClicks';
import { buildTimeline } from '../src/pages/sessions/timeline';
import { fakeApi, renderApp } from './helpers';

const ID = '5f1c2e8a-0000-4000-8000-000000000001';
const START = '2026-11-25T11:00:00.000Z';
const SESSION_ROUTE = `/v1/sites/shop.example.com/sessions/${ID}`;

let counter = 0;
function event(type: string, atMs: number, overrides: Partial<SessionEvent> = {}): SessionEvent {
  counter += 1;
  return {
    id: `e${counter}`,
    timestamp: new Date(Date.parse(START) + atMs).toISOString(),
    type,
    path: '/pricing',
    referrer: '',
    device: 'desktop',
    country: 'DE',
    viewport_width: 1280,
    viewport_height: 720,
    error_class: '',
    data: {},
    ...overrides,
  };
}

const click = (atMs: number, x: number, y: number, target = 'button.buy', extra: Record<string, unknown> = {}) =>
  event('click', atMs, { data: { x, y, target, ...extra } });
const scroll = (atMs: number, scrollY: number, path = '/pricing') =>
  event('scroll', atMs, { path, data: { scroll_y: scrollY } });

/** A visit: the pricing page (scrolls, a click, a rage burst, an error), then checkout. */
function visit(): SessionEvent[] {
  return [
    event('pageview', 0, { referrer: 'https://news.example.org/' }),
    event('move', 400, { data: { x: 10, y: 20 } }),
    scroll(1_000, 200),
    scroll(1_500, 900),
    event('move', 1_600, { data: { x: 15, y: 25 } }),
    scroll(2_000, 600),
    click(5_000, 640, 300),
    scroll(6_000, 1200),
    // A rage burst: 4 clicks, each within 1 s and 30 px of the previous one.
    click(10_000, 800, 410, 'a.coupon'),
    click(10_300, 805, 412, 'a.coupon'),
    click(11_300, 812, 420, 'a.coupon'),
    click(12_000, 810, 418, 'a.coupon'),
    event('error', 12_500, {
      error_class: 'type_error',
      data: { error: { message: "Cannot read properties of undefined (reading 'price')", line: 12 } },
    }),
    event('custom', 13_000, { data: { name: 'coupon_failed' } }),
    event('pageview', 20_000, { path: '/checkout', referrer: 'https://shop.example.com/pricing' }),
    // Two quick clicks are not a burst, nor three slow ones.
    click(21_000, 100, 100, 'input#email'),
    click(21_400, 105, 100, 'input#email'),
    click(30_000, 500, 500, 'button.pay'),
    click(31_100, 500, 500, 'button.pay'),
    click(32_200, 500, 500, 'button.pay'),
    scroll(40_000, 300, '/checkout'),
  ];
}

function session(overrides: Partial<Session> = {}): Session {
  return {
    id: ID,
    start_time: START,
    end_time: '2026-11-25T11:00:40.000Z',
    duration_seconds: 40,
    page_count: 2,
    event_count: 21,
    device: 'desktop',
    country: 'DE',
    has_errors: true,
    has_rage_clicks: true,
    entry_path: '/pricing',
    exit_path: '/checkout',
    rage_click_count: 4,
    error_count: 1,
    has_recording: false,
    ...overrides,
  };
}

describe('rage clicks', () => {
  it('are 3 or more clicks, each within 1 s (inclusive) and under 30 px of the previous one', () => {
    expect(
      rageBursts([
        { time: 0, x: 0, y: 0 },
        { time: 1000, x: 14, y: 15 },
        { time: 2000, x: 29, y: 30 },
      ]),
    ).toEqual([]); // 29 px, then 30 px: not under 30
    expect(
      rageBursts([
        { time: 0, x: 0, y: 0 },
        { time: 1000, x: 14, y: 15 },
        { time: 2000, x: 0, y: 1 },
        { time: 3001, x: 0, y: 1 },
      ]),
    ).toEqual([[0, 1, 2]]);
    expect(
      rageBursts([
        { time: 0, x: 5, y: 5 },
        { time: 100, x: 5, y: 5, fixed: true },
        { time: 200, x: 5, y: 5 },
      ]),
    ).toEqual([]);
  });
});

describe('the session timeline', () => {
  it('groups the events by page view, folds scrolls and rage bursts, and counts moves', () => {
    const groups = buildTimeline(visit(), START);
    expect(groups.map((group) => [group.path, group.offsetMs, group.referrer, group.moves])).toEqual([
      ['/pricing', 0, 'https://news.example.org/', 2],
      ['/checkout', 20_000, 'https://shop.example.com/pricing', 0],
    ]);
    const [pricing, checkout] = groups;
    expect(pricing?.items).toEqual([
      {
        kind: 'scrolls',
        at: '2026-11-25T11:00:01.000Z',
        offsetMs: 1_000,
        count: 3,
        deepestPx: 1_620,
        untilOffsetMs: 2_000,
      },
      { kind: 'click', at: '2026-11-25T11:00:05.000Z', offsetMs: 5_000, target: 'button.buy' },
      {
        kind: 'scrolls',
        at: '2026-11-25T11:00:06.000Z',
        offsetMs: 6_000,
        count: 1,
        deepestPx: 1_920,
        untilOffsetMs: 6_000,
      },
      {
        kind: 'rage_click',
        at: '2026-11-25T11:00:10.000Z',
        offsetMs: 10_000,
        target: 'a.coupon',
        clicks: 4,
        untilOffsetMs: 12_000,
      },
      {
        kind: 'error',
        at: '2026-11-25T11:00:12.500Z',
        offsetMs: 12_500,
        errorClass: 'type_error',
        message: "Cannot read properties of undefined (reading 'price')",
      },
      { kind: 'custom', at: '2026-11-25T11:00:13.000Z', offsetMs: 13_000, name: 'coupon_failed' },
    ]);
    expect(checkout?.items.map((item) => item.kind)).toEqual(['click', 'click', 'click', 'click', 'click', 'scrolls']);
  });

  it('keeps the events before the first page view in a group of their own', () => {
    const groups = buildTimeline([scroll(0, 10), event('pageview', 500, { path: '/next' })], START);
    expect(groups.map((group) => [group.path, group.pageview, group.items.length])).toEqual([
      ['/pricing', false, 1],
      ['/next', true, 0],
    ]);
    expect(buildTimeline([], START)).toEqual([]);
  });
});

describe('session page', () => {
  it("shows the session's summary and its timeline, without a player when nothing was recorded", async () => {
    const detail: SessionDetail = { session: session(), events: visit(), events_truncated: false };
    const api = fakeApi({ [SESSION_ROUTE]: () => ({ body: detail }) });
    renderApp({ url: `/sessions/${ID}?site=shop.example.com&range=7d`, api });
    expect(await screen.findByRole('heading', { level: 1, name: 'Session' })).toBeInTheDocument();
    const summary = await screen.findByRole('region', { name: 'Summary' });
    expect(summary).toHaveTextContent('Duration40s');
    expect(summary).toHaveTextContent('Rage clicks4');
    expect(summary).toHaveTextContent('RecordingNone kept');
    expect(api.to(SESSION_ROUTE)[0]?.searchParams.get('limit')).toBe('10000');

    const timeline = screen.getByRole('region', { name: 'Timeline' });
    const pages = within(timeline).getAllByRole('heading', { level: 3 });
    expect(pages.map((heading) => heading.textContent)).toEqual([
      '+0:00Viewed /pricingfrom https://news.example.org/',
      '+0:20Viewed /checkoutfrom https://shop.example.com/pricing',
    ]);
    expect(timeline).toHaveTextContent('+0:10Rage click4 clicks within 0:02 on a.coupon');
    expect(timeline).toHaveTextContent("+0:12Errortype_error: Cannot read properties of undefined (reading 'price')");
    expect(timeline).toHaveTextContent('+0:01Scroll3 scrolls, down to 1,620 px');
    expect(timeline).toHaveTextContent('2 pointer moves (not listed)');
    expect(screen.queryByRole('region', { name: 'Recording' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: /All sessions/ })).toHaveAttribute(
      'href',
      '/sessions?site=shop.example.com&range=7d',
    );
  });

  it('says when only the first events are shown', async () => {
    const detail: SessionDetail = { session: session(), events: visit().slice(0, 3), events_truncated: true };
    renderApp({
      url: `/sessions/${ID}?site=shop.example.com`,
      api: fakeApi({ [SESSION_ROUTE]: () => ({ body: detail }) }),
    });
    expect(await screen.findByText(/Only the first 3 events are shown\./)).toBeInTheDocument();
  });

  it("shows the API's reason for an unknown session", async () => {
    renderApp({
      url: `/sessions/${ID}?site=shop.example.com`,
      api: fakeApi({
        [SESSION_ROUTE]: () => ({ status: 404, body: { error: 'not_found', message: 'no such session' } }),
      }),
    });
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Could not load the session: no such session (404 not_found)',
    );
  });

  it('does not ask the API about an address that is no session id', async () => {
    const api = fakeApi({});
    renderApp({ url: '/sessions/not-a-session?site=shop.example.com', api });
    expect(await screen.findByRole('alert')).toHaveTextContent('This address does not name a session');
    expect(api.requests.filter((url) => url.pathname.includes('/sessions/'))).toEqual([]);
  });
});
