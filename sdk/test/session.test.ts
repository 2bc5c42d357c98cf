import { afterEach, describe, expect, it } from 'vitest';
import { OPT_OUT_KEY } from '../src/core';
import { IDLE_MS, MAX_MS, SESSION_KEY, sampled, SessionStore } from '../src/session';
import { counterUuid, reset, start } from './helpers';

afterEach(reset);

describe('session', () => {
  it('keeps one id while events keep coming, in sessionStorage', () => {
    const store = new SessionStore(counterUuid);
    const a = store.touch(1_000_000);
    const b = store.touch(1_000_000 + IDLE_MS);
    expect(b.id).toBe(a.id);
    expect(sessionStorage.getItem(SESSION_KEY)).toContain(a.id);
    // A reload reads it back.
    expect(new SessionStore(counterUuid).touch(1_000_000 + IDLE_MS + 1).id).toBe(a.id);
  });

  it('renews after 30 minutes without events', () => {
    const store = new SessionStore(counterUuid);
    const a = store.touch(1_000_000);
    expect(store.touch(1_000_000 + IDLE_MS + 1).id).not.toBe(a.id);
  });

  it('renews after 24 hours however busy', () => {
    const store = new SessionStore(counterUuid);
    const a = store.touch(0 + 1);
    let t = 1;
    while (t < MAX_MS) {
      t += IDLE_MS - 1;
      store.touch(t);
    }
    expect(store.touch(t).id).not.toBe(a.id);
  });

  it('tags every event with the current session', async () => {
    const h = start();
    h.tracker.track('a');
    h.clock.now += IDLE_MS + 1;
    h.tracker.track('b');
    await h.tracker.flush();
    const [view, a, b] = h.posts[0];
    expect(a.session_id).toBe(view.session_id);
    expect(b.session_id).not.toBe(a.session_id);
  });
});

describe('sampling', () => {
  it('is decided by the session id alone', () => {
    const ids = Array.from({ length: 2000 }, counterUuid);
    const kept = ids.filter((id) => sampled(id, 0.25));
    expect(kept.length).toBeGreaterThan(400);
    expect(kept.length).toBeLessThan(600);
    expect(ids.filter((id) => sampled(id, 0.25))).toEqual(kept);
    expect(ids.every((id) => sampled(id, 1))).toBe(true);
    expect(ids.some((id) => sampled(id, 0))).toBe(false);
  });

  it('sends nothing for a session outside the sample', async () => {
    const h = start({ sampleRate: 0 });
    h.tracker.track('a');
    await h.tracker.flush();
    expect(h.fetch).not.toHaveBeenCalled();
  });
});

describe('consent', () => {
  it('optOut stops sending, forgets the queue and is remembered', async () => {
    const h = start();
    h.tracker.track('queued');
    h.tracker.optOut();
    h.tracker.track('after');
    await h.tracker.flush();
    expect(h.fetch).not.toHaveBeenCalled();
    expect(localStorage.getItem(OPT_OUT_KEY)).toBe('1');
    reset();
    localStorage.setItem(OPT_OUT_KEY, '1');
    const again = start();
    again.tracker.track('x');
    await again.tracker.flush();
    expect(again.fetch).not.toHaveBeenCalled();
    again.tracker.optIn();
    again.tracker.track('y');
    await again.tracker.flush();
    expect(again.posts.flat().map((e) => e.name)).toEqual(['y']);
  });

  it('sends nothing an earlier page stored while opted out', async () => {
    localStorage.setItem(OPT_OUT_KEY, '1');
    const stored = { v: 1, event_id: 'e', site_id: 'shop', session_id: 's', type: 'custom', name: 'old', ts: Date.UTC(2026, 10, 25, 11), url: 'https://shop.example.com/' };
    localStorage.setItem('insightlite.queue.shop', JSON.stringify([stored]));
    const h = start({ flushInterval: 100 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await h.tracker.flush();
    expect(h.fetch).not.toHaveBeenCalled();
  });

  it('respects Do Not Track unless told otherwise', async () => {
    Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' });
    try {
      const h = start();
      h.tracker.track('a');
      await h.tracker.flush();
      expect(h.fetch).not.toHaveBeenCalled();
      reset();
      const ignoring = start({ respectDoNotTrack: false });
      await ignoring.tracker.flush();
      expect(ignoring.posts.flat()).toHaveLength(1);
    } finally {
      delete (navigator as { doNotTrack?: string }).doNotTrack;
    }
  });
});
