import { act, renderHook } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClockContext } from '../src/app/clock';
import { AuthProvider, useAuth } from '../src/auth/AuthProvider';
import { TOKEN_STORAGE_KEY } from '../src/auth/token';
import { reconnectDelay } from '../src/live/backoff';
import { FLUSH_MS, type LiveLimits, SILENCE_MS } from '../src/live/liveStream';
import { parseLiveMessage } from '../src/live/protocol';
import { useLiveStream } from '../src/live/useLiveStream';
import { FakeSocket, liveEvent, summaryMessage } from './liveFakeSocket';
import { clock, makeToken } from './helpers';

const LIVE_TOKEN = makeToken({ permissions: ['stats:read', 'live:read'] });

function wrapper({ children }: { children: ReactNode }) {
  return (
    <ClockContext.Provider value={clock}>
      <AuthProvider>{children}</AuthProvider>
    </ClockContext.Provider>
  );
}

/** The hook for `site`, with a fake socket and jitter fixed at the middle of its range. */
function renderLive(site: string | null = 'shop.example.com', limits?: Partial<LiveLimits>) {
  return renderHook(
    ({ site: shown }: { site: string | null }) => ({
      live: useLiveStream(shown, {
        createSocket: (url) => new FakeSocket(url),
        random: () => 0.5,
        ...(limits === undefined ? {} : { limits }),
      }),
      auth: useAuth(),
    }),
    { wrapper, initialProps: { site } },
  );
}

function later(ms: number) {
  act(() => {
    vi.advanceTimersByTime(ms);
  });
}

function server(action: () => void) {
  act(action);
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.reset();
  window.sessionStorage.setItem(TOKEN_STORAGE_KEY, LIVE_TOKEN);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('useLiveStream', () => {
  it('connects on the page origin, sends the token as its first message (never in the URL), and goes live on ready', () => {
    const { result } = renderLive();
    expect(FakeSocket.made).toHaveLength(1);
    const socket = FakeSocket.latest();
    expect(socket.url).toBe(`ws://${window.location.host}/v1/sites/shop.example.com/live`);
    expect(socket.url).not.toContain(LIVE_TOKEN.slice(0, 20));
    expect(result.current.live.connection).toEqual({ status: 'connecting', attempt: 0 });
    expect(socket.sent).toEqual([]);

    server(() => socket.open());
    expect(socket.sent.map((text) => JSON.parse(text))).toEqual([{ type: 'auth', token: LIVE_TOKEN }]);
    server(() => socket.receive({ type: 'ready', site: 'shop.example.com' }));
    expect(result.current.live.connection).toEqual({ status: 'live' });
  });

  it('keeps events newest first in the order they came, and the summaries oldest first', () => {
    const { result } = renderLive();
    const socket = FakeSocket.latest();
    server(() => socket.ready());
    const sent = [liveEvent({ url_path: '/a' }), liveEvent({ url_path: '/b', event_type: 'click', x: 10, y: 20 }), liveEvent({ url_path: '/c' })];
    server(() => {
      for (const event of sent) socket.receive({ type: 'event', event });
      socket.receive(summaryMessage('2026-11-25T12:00:01.000Z', 41, 12.3));
      socket.receive(summaryMessage('2026-11-25T12:00:02.000Z', 42, 12.5, 3));
      socket.receive({ type: 'ping', at: '2026-11-25T12:00:02.000Z' });
    });
    // Shown in batches: nothing before the flush.
    expect(result.current.live.events).toEqual([]);
    later(FLUSH_MS);
    const { live } = result.current;
    expect(live.events.map((item) => item.event.url_path)).toEqual(['/c', '/b', '/a']);
    expect(live.events[0]?.event).toEqual(sent[2]);
    expect(live.events[0]?.receivedAt).toBe(clock().getTime());
    expect(live.clicks.map((item) => item.event.url_path)).toEqual(['/b']);
    expect(live.summaries.map((summary) => summary.active_visitors)).toEqual([41, 42]);
    expect(live.summaries[1]).toEqual({
      at: Date.parse('2026-11-25T12:00:02.000Z'),
      active_visitors: 42,
      active_sessions: 44,
      events_per_second: 12.5,
      dropped: 3,
      suppressed: false,
    });
    expect(live.received).toBe(3);
    expect(live.dropped).toBe(3);
  });

  it('reconnects after a lost connection with growing, jittered delays, and starts over once live again', () => {
    const { result } = renderLive();
    server(() => FakeSocket.latest().ready());
    server(() => FakeSocket.latest().serverClose(1006));
    // First retry: between 0.5 and 1 s; the jitter of 0.5 makes it 0.75 s.
    expect(result.current.live.connection).toEqual({
      status: 'reconnecting',
      attempt: 1,
      delayMs: 750,
      reason: 'connection lost',
    });
    later(749);
    expect(FakeSocket.made).toHaveLength(1);
    later(1);
    expect(FakeSocket.made).toHaveLength(2);
    expect(result.current.live.connection).toEqual({ status: 'connecting', attempt: 1 });
    server(() => FakeSocket.latest().open());
    expect(JSON.parse(FakeSocket.latest().sent[0] as string)).toEqual({ type: 'auth', token: LIVE_TOKEN });

    // Refused again before ready: the wait doubles.
    server(() => FakeSocket.latest().serverClose(1006));
    expect(result.current.live.connection).toMatchObject({ status: 'reconnecting', attempt: 2, delayMs: 1500 });
    later(1500);
    server(() => FakeSocket.latest().ready());
    server(() => FakeSocket.latest().serverClose(1001, 'server shutting down'));
    expect(result.current.live.connection).toEqual({
      status: 'reconnecting',
      attempt: 1,
      delayMs: 750,
      reason: 'the API restarted',
    });
  });

  it('waits at least 30 s after too many connections (4429)', () => {
    const { result } = renderLive();
    server(() => FakeSocket.latest().serverClose(4429, 'this token already has 5 live connections'));
    expect(result.current.live.connection).toMatchObject({
      status: 'reconnecting',
      reason: 'this token already has 5 live connections',
      delayMs: 37_500,
    });
    later(37_499);
    expect(FakeSocket.made).toHaveLength(1);
    later(1);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it('connects again when the API has been silent for longer than two heartbeats', () => {
    const { result } = renderLive();
    const first = FakeSocket.latest();
    server(() => first.ready());
    later(SILENCE_MS - 1);
    server(() => first.receive(summaryMessage('2026-11-25T12:00:39.000Z', 1)));
    later(SILENCE_MS - 1);
    expect(FakeSocket.made).toHaveLength(1);
    later(1);
    expect(first.closedByClient).not.toBeNull();
    expect(result.current.live.connection).toMatchObject({ status: 'reconnecting', reason: 'no message from the API for 40 s' });
  });

  it.each([
    [4403, 'permission live:read not granted by this token'],
    [4400, 'the first message must be JSON text'],
  ])('stops with the reason on %i and does not reconnect', (code, reason) => {
    const { result } = renderLive();
    server(() => FakeSocket.latest().open());
    server(() => FakeSocket.latest().serverClose(code, reason));
    expect(result.current.live.connection).toEqual({ status: 'refused', code, reason });
    later(120_000);
    expect(FakeSocket.made).toHaveLength(1);
    expect(result.current.auth.token).not.toBeNull();
  });

  it('signs out on 4401 with the API reason, as a 401 does, and does not reconnect', () => {
    const { result } = renderLive();
    server(() => FakeSocket.latest().ready());
    server(() => FakeSocket.latest().serverClose(4401, 'token expired'));
    expect(result.current.auth.token).toBeNull();
    expect(result.current.auth.notice).toBe('The API refused the token (token expired). Sign in again.');
    expect(window.sessionStorage.getItem(TOKEN_STORAGE_KEY)).toBeNull();
    later(120_000);
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('keeps only the last events, clicks and summaries, and an event sent again once', () => {
    const { result } = renderLive('shop.example.com', { events: 3, clicks: 2, summaries: 2 });
    const socket = FakeSocket.latest();
    server(() => socket.ready());
    const events = Array.from({ length: 6 }, (_, index) =>
      liveEvent({ url_path: `/p${index}`, event_type: index % 2 === 0 ? 'click' : 'pageview', x: 1, y: 1 }),
    );
    server(() => {
      for (const event of events) socket.receive({ type: 'event', event });
      // The tail resends its last seconds after a reconnect: the same id is shown once.
      socket.receive({ type: 'event', event: events[5] });
      for (let second = 1; second <= 4; second += 1) {
        socket.receive(summaryMessage(`2026-11-25T12:00:0${second}.000Z`, second));
      }
    });
    later(FLUSH_MS);
    const { live } = result.current;
    expect(live.events.map((item) => item.event.url_path)).toEqual(['/p5', '/p4', '/p3']);
    expect(live.clicks.map((item) => item.event.url_path)).toEqual(['/p4', '/p2']);
    expect(live.summaries.map((summary) => summary.active_visitors)).toEqual([3, 4]);
    expect(live.received).toBe(6);
  });

  it('skips messages the protocol does not define', () => {
    const { result } = renderLive();
    const socket = FakeSocket.latest();
    server(() => {
      socket.ready();
      socket.receive('not json');
      socket.receive({ type: 'event', event: { event_id: 'x' } });
      socket.receive({ type: 'summary', at: 'yesterday', active_visitors: 1 });
      socket.receive({ type: 'welcome' });
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/ok' }) });
    });
    later(FLUSH_MS);
    expect(result.current.live.events.map((item) => item.event.url_path)).toEqual(['/ok']);
    expect(result.current.live.summaries).toEqual([]);
  });

  it('closes when the page is left, and opens a new stream when the site changes', () => {
    const { rerender, unmount, result } = renderLive();
    const first = FakeSocket.latest();
    server(() => first.ready());
    server(() => first.receive({ type: 'event', event: liveEvent() }));
    later(FLUSH_MS);
    rerender({ site: 'blog.example.com' });
    expect(first.closedByClient).toEqual({ code: 1000, reason: 'page left' });
    const second = FakeSocket.latest();
    expect(second.url).toBe(`ws://${window.location.host}/v1/sites/blog.example.com/live`);
    // The old site's events are not the new one's.
    expect(result.current.live.events).toEqual([]);
    // A late message of the old socket changes nothing.
    server(() => first.receive({ type: 'event', event: liveEvent() }));
    unmount();
    expect(second.closedByClient).toEqual({ code: 1000, reason: 'page left' });
    later(120_000);
    expect(FakeSocket.made).toHaveLength(2);
  });

  it('does not connect with a token whose claims lack live:read', () => {
    window.sessionStorage.setItem(TOKEN_STORAGE_KEY, makeToken({ permissions: ['stats:read'] }));
    const { result } = renderLive();
    expect(FakeSocket.made).toHaveLength(0);
    expect(result.current.live.connection).toEqual({
      status: 'refused',
      code: 4403,
      reason: 'permission live:read not granted by this token',
    });
  });
});

describe('reconnectDelay', () => {
  it('doubles from a second up to 30 s, jittered between half and all of it', () => {
    expect([0, 1, 2, 5, 10].map((attempt) => reconnectDelay(attempt, () => 0))).toEqual([
      500, 1000, 2000, 15_000, 15_000,
    ]);
    expect([0, 1, 2, 5, 10].map((attempt) => reconnectDelay(attempt, () => 0.999_999))).toEqual([
      1000, 2000, 4000, 30_000, 30_000,
    ]);
  });

  it('never waits less than a floor, itself jittered', () => {
    expect(reconnectDelay(0, () => 0, 30_000)).toBe(30_000);
    expect(reconnectDelay(0, () => 0.999_999, 30_000)).toBe(45_000);
  });
});

describe('parseLiveMessage', () => {
  it('reads an event as the API sends it, keeping optional fields only when well typed', () => {
    const message = parseLiveMessage(
      JSON.stringify({
        type: 'event',
        event: { ...liveEvent({ event_id: 'e1' }), x: 612, y: 1830, fixed: false, scroll_y: 'far', ip_hash: 7 },
      }),
    );
    expect(message).toMatchObject({ type: 'event', event: { event_id: 'e1', x: 612, y: 1830, fixed: false } });
    expect(message?.type === 'event' && 'scroll_y' in message.event).toBe(false);
    // Only the protocol's fields are kept.
    expect(message?.type === 'event' && 'ip_hash' in message.event).toBe(false);
  });
});
