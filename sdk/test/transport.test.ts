import { afterEach, describe, expect, it, vi } from 'vitest';
import { Tracker } from '../src/core';
import { BEACON_LIMIT } from '../src/transport';
import { counterUuid, ENDPOINT, reset, settle, start, stubNetwork } from './helpers';

afterEach(reset);

describe('batching', () => {
  it('sends a batch as soon as flushSize events are queued', async () => {
    const h = start({ flushSize: 3 });
    h.tracker.track('a');
    expect(h.fetch).not.toHaveBeenCalled();
    h.tracker.track('b');
    await settle();
    expect(h.posts).toHaveLength(1);
    expect(h.posts[0].map((e) => e.type)).toEqual(['pageview', 'custom', 'custom']);
    const [url, init] = h.fetch.mock.calls[0];
    expect(url).toBe(ENDPOINT);
    expect(init).toMatchObject({ method: 'POST', keepalive: true, credentials: 'omit' });
    expect(init.headers['Content-Type']).toBe('text/plain');
  });

  it('sends a partial batch after flushInterval', async () => {
    vi.useFakeTimers();
    const h = start({ flushInterval: 5000 });
    h.tracker.track('a');
    await vi.advanceTimersByTimeAsync(4900);
    expect(h.fetch).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(200);
    expect(h.posts.flat().map((e) => e.type)).toEqual(['pageview', 'custom']);
  });

  it('stamps sent_at and fills the contract fields', async () => {
    const h = start();
    h.clock.now += 1500;
    await h.tracker.flush();
    const [view] = h.posts[0];
    expect(view).toMatchObject({
      v: 1,
      site_id: 'shop',
      type: 'pageview',
      url: 'https://shop.example.com/products?id=**',
      sent_at: view.ts + 1500,
    });
    expect(view.event_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(view.session_id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('flush() resolves when nothing is queued', async () => {
    const h = start();
    await h.tracker.flush();
    await expect(h.tracker.flush()).resolves.toBeUndefined();
    expect(h.posts).toHaveLength(1);
  });
});

describe('retries', () => {
  it('retries with exponential backoff and keeps event ids', async () => {
    vi.useFakeTimers();
    const h = start({ maxRetries: 3 }, ['network', 503, 202]);
    h.tracker.track('a');
    await h.tracker.flush();
    expect(h.posts).toHaveLength(1);
    expect(h.tracker.stats()).toMatchObject({ queued: 2, retries: 1 });
    // random() = 0.5 puts the jittered delay at 3/4 of the backoff: 750 ms, then 1500 ms.
    await vi.advanceTimersByTimeAsync(740);
    expect(h.posts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(h.posts).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1500);
    expect(h.posts).toHaveLength(3);
    const ids = h.posts.map((batch) => batch.map((e) => e.event_id).join());
    expect(new Set(ids).size).toBe(1);
    expect(h.tracker.stats()).toMatchObject({ sent: 2, queued: 0, retries: 2, dropped: 0 });
    expect(localStorage.getItem('insightlite.queue.shop')).toBeNull();
  });

  it('honours Retry-After', async () => {
    vi.useFakeTimers();
    const h = start({}, [{ status: 429, retryAfter: '7' }, 202]);
    await h.tracker.flush();
    await vi.advanceTimersByTimeAsync(6900);
    expect(h.posts).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(h.posts).toHaveLength(2);
  });

  it('gives up after maxRetries and keeps the events for the next page load', async () => {
    vi.useFakeTimers();
    const h = start({ maxRetries: 2 }, [503]);
    h.tracker.track('a');
    await h.tracker.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.posts).toHaveLength(3);
    const stored = JSON.parse(localStorage.getItem('insightlite.queue.shop') || '[]');
    expect(stored.map((e: { type: string }) => e.type)).toEqual(['pageview', 'custom']);
  });

  it('does not retry a batch the collector rejected as invalid', async () => {
    vi.useFakeTimers();
    const h = start({}, [400]);
    await h.tracker.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.posts).toHaveLength(1);
    expect(h.tracker.stats()).toMatchObject({ rejected: 1, queued: 0 });
  });
});

describe('offline queue', () => {
  it('survives a reload: the next page sends the stored events first', async () => {
    vi.useFakeTimers();
    const first = start({ maxRetries: 0 }, ['network']);
    first.tracker.track('before-reload');
    await first.tracker.flush();
    const stored = JSON.parse(localStorage.getItem('insightlite.queue.shop') || '[]');
    expect(stored).toHaveLength(2);
    resetKeepingStorage();
    vi.useFakeTimers();
    const net = stubNetwork([202]);
    const reloaded = new Tracker({ siteId: 'shop', endpoint: ENDPOINT }, { now: () => Date.UTC(2026, 10, 25, 12, 1), random: () => 0.5, uuid: counterUuid });
    await reloaded.flush();
    const names = net.posts.flat().map((e) => e.name ?? e.type);
    expect(names).toEqual(['pageview', 'before-reload', 'pageview']);
    expect(net.posts.flat()[0].event_id).toBe(stored[0].event_id);
    expect(localStorage.getItem('insightlite.queue.shop')).toBeNull();
    reloaded.destroy();
  });

  it('drops the oldest events when full, and counts them', async () => {
    const h = start({ maxQueueSize: 5, flushSize: 500, maxRetries: 0 }, ['network']);
    for (let i = 0; i < 9; i++) h.tracker.track(`e${i}`);
    expect(h.tracker.stats()).toMatchObject({ queued: 5, dropped: 5 });
    await h.tracker.flush();
    expect(h.posts[0].map((e) => e.name)).toEqual(['e4', 'e5', 'e6', 'e7', 'e8']);
    expect(localStorage.getItem('insightlite.dropped.shop')).toBe('5');
  });

  it('drops stored events too old for the pipeline', async () => {
    localStorage.setItem('insightlite.queue.shop', JSON.stringify([{ event_id: 'x', ts: 0, type: 'custom' }]));
    expect(start().tracker.stats().dropped).toBe(1);
  });
});

describe('page hide', () => {
  it('beacons the queue as text/plain on pagehide', async () => {
    const h = start({ flushInterval: 60_000 });
    h.tracker.track('last-words');
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(h.fetch).not.toHaveBeenCalled();
    expect(h.beaconTypes).toEqual(['text/plain']);
    expect(h.beacons.flat().map((e) => e.name ?? e.type)).toEqual(['pageview', 'last-words']);
    expect(h.beacons[0][0].sent_at).toBeDefined();
  });

  it('beacons when the page becomes hidden', async () => {
    const h = start();
    Object.defineProperty(document, 'visibilityState', { configurable: true, value: 'hidden' });
    document.dispatchEvent(new Event('visibilitychange'));
    delete (document as { visibilityState?: string }).visibilityState;
    await settle();
    expect(h.beacons.flat()).toHaveLength(1);
  });

  it('splits beacons under 64 KiB', async () => {
    const h = start({ flushSize: 500, maxQueueSize: 5000, privacyMode: 'permissive' });
    const blob = 'x'.repeat(1000);
    for (let i = 0; i < 200; i++) h.tracker.track('big', { blob });
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(h.beacons.length).toBeGreaterThan(2);
    for (const beacon of h.beacons) expect(new Blob([JSON.stringify(beacon)]).size).toBeLessThanOrEqual(BEACON_LIMIT);
    expect(h.beacons.flat()).toHaveLength(201);
  });

  it('takes batches waiting for a retry along', async () => {
    vi.useFakeTimers();
    const h = start({}, ['network']);
    await h.tracker.flush();
    window.dispatchEvent(new Event('pagehide'));
    await vi.advanceTimersByTimeAsync(60_000);
    expect(h.posts).toHaveLength(1); // the retry did not run again
    expect(h.beacons.flat().map((e) => e.type)).toEqual(['pageview']);
    expect(localStorage.getItem('insightlite.queue.shop')).toBeNull();
  });

  it('stores what the browser refuses to beacon', async () => {
    start({}, [202], false);
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(JSON.parse(localStorage.getItem('insightlite.queue.shop') || '[]')).toHaveLength(1);
  });
});

function resetKeepingStorage(): void {
  const saved = { ...localStorage };
  reset();
  for (const [k, v] of Object.entries(saved)) localStorage.setItem(k, String(v));
}
