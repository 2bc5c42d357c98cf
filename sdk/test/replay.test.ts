import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OPT_OUT_KEY, startReplay, stopReplay } from '../src/core';
import type { ReplayChunk } from '../src/replay-chunks';
import { lazyReplay, REPLAY_GLOBAL, scriptLoader } from '../src/replay-loader';
import { IDLE_MS } from '../src/session';
import { contractErrors, REPLAY_ENDPOINT, resetReplay, settle, startTracker } from './replay-helpers';

const PAGEVIEW = 'insightlite:pageview';
const ERROR = 'insightlite:error';

type Custom = { tag: string; payload: Record<string, unknown> };
const customs = (chunks: ReplayChunk[]): Custom[] =>
  chunks.flatMap((c) => c.events.filter((e) => e.type === 5).map((e) => e.data as Custom));
const types = (chunk: ReplayChunk): number[] => chunk.events.map((e) => e.type);

beforeAll(async () => {
  await import('../src/replay'); // what the tracker loads lazily, ready before the first test's clock starts
});

beforeEach(() => {
  // Compression runs outside the test's control of time; one test below gzips through the whole tracker.
  vi.stubGlobal('CompressionStream', undefined);
  document.body.innerHTML = '<main><h1>Shop</h1><input value="ann@example.com"></main>';
});
afterEach(async () => {
  await settle();
  resetReplay();
});

describe('loading', () => {
  it('loads nothing unless replay is on', async () => {
    const h = startTracker();
    await settle();
    expect(h.tracker.stats().replay).toBeUndefined();
    await h.tracker.flush();
    expect(h.chunks()).toHaveLength(0);
  });

  it('records a sampled-in session: full snapshot, page marker, sent to the replay endpoint', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: true });
    await h.tracker.flush();
    const [chunk] = h.chunks();
    expect(types(chunk).slice(0, 3)).toEqual([4, 2, 5]); // Meta, FullSnapshot, our page marker
    expect(customs(h.chunks())).toEqual([{ tag: PAGEVIEW, payload: { url: 'https://shop.example.com/products?id=**' } }]);
    expect(chunk.session_id).toBe(h.events()[0].session_id); // the recording and the events share the id
    expect(contractErrors(chunk)).toEqual([]);
    // The page address in rrweb's Meta event leaves as the privacy mode says.
    expect((chunk.events[0].data as { href: string }).href).toBe('https://shop.example.com/products?id=**');
  });

  it('gzips chunks through the whole tracker', async () => {
    vi.unstubAllGlobals();
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    await h.tracker.flush();
    const request = h.requests.find((r) => r.url === REPLAY_ENDPOINT)!;
    expect(request.gzip).toBe(true);
    expect(request.init.headers).toEqual({ 'Content-Type': 'text/plain' });
  });

  it('is decided per session by replaySampleRate, apart from sampleRate', async () => {
    const unsampled = startTracker({ enableReplay: true, replaySampleRate: 0 });
    await settle();
    expect(unsampled.tracker.stats().replay).toBeUndefined();
    resetReplay();
    // Events sampled out, the recording still on: replay has its own rate.
    const h = startTracker({ enableReplay: true, sampleRate: 0, replaySampleRate: 1, replayMinDurationMs: 0 });
    await settle();
    await h.tracker.flush();
    expect(h.events()).toHaveLength(0);
    expect(h.chunks()).toHaveLength(1);
  });
});

describe('startReplay and stopReplay', () => {
  it('startReplay records a session the sampling left out; stopReplay stops and sends what was recorded', async () => {
    const h = startTracker({ enableReplay: true, replaySampleRate: 0, replayMinDurationMs: 0 });
    startReplay();
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: true });
    stopReplay();
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: false });
    expect(h.chunks()).toHaveLength(1);
    h.tracker.track('later');
    await h.tracker.flush();
    expect(h.chunks()).toHaveLength(1); // nothing recorded after the stop
  });

  it('records without enableReplay when asked to', async () => {
    const h = startTracker({ replayMinDurationMs: 0 });
    h.tracker.startReplay();
    await settle();
    await h.tracker.flush();
    expect(h.chunks()).toHaveLength(1);
  });
});

describe('consent', () => {
  it('Do Not Track: no recording, even when asked', async () => {
    Object.defineProperty(navigator, 'doNotTrack', { configurable: true, value: '1' });
    try {
      const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
      h.tracker.startReplay();
      await settle();
      await h.tracker.flush();
      expect(h.tracker.stats().replay).toBeUndefined();
      expect(h.fetch).not.toHaveBeenCalled();
    } finally {
      delete (navigator as { doNotTrack?: string }).doNotTrack;
    }
  });

  it('opting out stops a running recorder and forgets what it had', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: true });
    h.tracker.optOut();
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: false });
    h.tracker.startReplay(); // refused while opted out
    await settle();
    await h.tracker.flush();
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(h.tracker.stats().replay).toMatchObject({ recording: false });
    expect(h.chunks()).toHaveLength(0);
    expect(h.beacons).toHaveLength(0);
  });

  it('an opted-out visitor is not recorded', async () => {
    localStorage.setItem(OPT_OUT_KEY, '1');
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    h.tracker.startReplay();
    await settle();
    await h.tracker.flush();
    expect(h.chunks()).toHaveLength(0);
  });
});

describe('ties to the analytics', () => {
  it('marks each page view with the URL the tracker sends, SPA navigations too', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    history.pushState(null, '', '/pricing?plan=pro#faq');
    history.pushState(null, '', '/pricing?plan=pro#team'); // not a new page
    history.pushState(null, '', '/checkout?step=2');
    await h.tracker.flush();
    const views = h.events().filter((e) => e.type === 'pageview').map((e) => e.url);
    expect(customs(h.chunks()).filter((c) => c.tag === PAGEVIEW).map((c) => c.payload.url)).toEqual(views);
    expect(views).toEqual([
      'https://shop.example.com/products?id=**',
      'https://shop.example.com/pricing?plan=pro',
      'https://shop.example.com/checkout?step=*',
    ]);
  });

  it('marks each reported error with its message and kind', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    window.dispatchEvent(new ErrorEvent('error', { message: 'no user ann@example.com #7' }));
    const rejection = new Event('unhandledrejection') as PromiseRejectionEvent;
    Object.defineProperty(rejection, 'reason', { value: new RangeError('too far') });
    window.dispatchEvent(rejection);
    await h.tracker.flush();
    expect(customs(h.chunks()).filter((c) => c.tag === ERROR)).toEqual([
      { tag: ERROR, payload: { message: 'no user [email] #*', kind: 'error' } },
      { tag: ERROR, payload: { message: 'Uncaught (in promise) RangeError: too far', kind: 'unhandledrejection' } },
    ]);
  });

  it('starts a new recording, with a new full snapshot, when the session rotates', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0 });
    await settle();
    await h.tracker.flush();
    h.clock.now += IDLE_MS + 1;
    h.tracker.track('back'); // a new session for the tracker
    await h.tracker.flush();
    const [first, second] = h.chunks();
    const sessions = [...new Set(h.events().map((e) => e.session_id))];
    expect(sessions).toHaveLength(2);
    expect([first.session_id, second.session_id]).toEqual(sessions);
    expect(second.seq).toBe(0);
    expect(types(second).slice(0, 3)).toEqual([4, 2, 5]);
    expect(customs([second])).toEqual([{ tag: PAGEVIEW, payload: { url: 'https://shop.example.com/products?id=**' } }]);
  });

  it('a new session sampled out stops the recording', async () => {
    // Find a tracker session id the replay sampling keeps, then let the next one decide.
    const h = startTracker({ enableReplay: true, replaySampleRate: 0.5, replayMinDurationMs: 0 });
    await settle();
    let recording = h.tracker.stats().replay?.recording === true;
    for (let i = 0; i < 20 && recording; i++) {
      h.clock.now += IDLE_MS + 1;
      h.tracker.track('next');
      await settle();
      recording = h.tracker.stats().replay?.recording === true;
    }
    expect(recording).toBe(false); // some session of 20 was sampled out (1 in a million it is not)
  });
});

describe('page hide', () => {
  it('beacons what is left of the recording', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 0, flushInterval: 60_000 });
    await settle();
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    const replayBeacons = h.beacons.filter((b) => b.url === REPLAY_ENDPOINT);
    expect(replayBeacons).toHaveLength(1);
    expect(replayBeacons[0].type).toBe('text/plain');
    expect(contractErrors(replayBeacons[0].body)).toEqual([]);
    expect(h.tracker.stats().replay).toMatchObject({ sent: 1 });
  });

  it('discards a recording shorter than replayMinDurationMs', async () => {
    const h = startTracker({ enableReplay: true, replayMinDurationMs: 60_000 });
    await settle();
    await h.tracker.flush();
    window.dispatchEvent(new Event('pagehide'));
    await settle();
    expect(h.chunks()).toHaveLength(0);
    expect(h.beacons.filter((b) => b.url === REPLAY_ENDPOINT)).toHaveLength(0);
    expect(h.tracker.stats().replay).toMatchObject({ short: 1 });
  });
});

describe('the <script> build', () => {
  it('loads the replay module from beside the tracker script, with its nonce', async () => {
    const appended: HTMLScriptElement[] = [];
    // Not inserted: the test takes the part of the browser that fetches and runs it.
    vi.spyOn(document.head, 'appendChild').mockImplementation((node) => {
      appended.push(node as HTMLScriptElement);
      return node;
    });
    const tag = document.createElement('script');
    tag.src = 'https://cdn.example.com/js/insightlite.min.js?v=3';
    tag.nonce = 'r4nd0m';
    const loading = scriptLoader(tag)();
    expect(appended).toHaveLength(1);
    const [script] = appended;
    expect(script.src).toBe('https://cdn.example.com/js/insightlite-replay.min.js');
    expect(script.nonce).toBe('r4nd0m');
    await import('../src/replay-script'); // what that file does when it runs
    const module = (window as unknown as Record<string, unknown>)[REPLAY_GLOBAL];
    expect(module).toHaveProperty('createRecorder');
    script.onload!(new Event('load'));
    await expect(loading).resolves.toBe(module);
  });

  it('gives up without a script src, and the tracker goes on without replay', async () => {
    await expect(scriptLoader(null)()).rejects.toThrow('<script src>');
    const inline = document.createElement('script');
    await expect(scriptLoader(inline)()).rejects.toThrow('<script src>');
    const h = startTracker({ enableReplay: true, plugins: [lazyReplay(scriptLoader(inline))] });
    h.tracker.startReplay();
    h.tracker.track('still here');
    await settle();
    await h.tracker.flush();
    expect(h.tracker.stats().replay).toBeUndefined();
    expect(h.events().map((e) => e.name ?? e.type)).toEqual(['pageview', 'still here']);
  });
});
