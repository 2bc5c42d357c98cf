import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CHUNK_BYTES, ChunkSender, type ChunkOptions, type RecordedEvent, utf8Length } from '../src/replay-chunks';
import { BEACON_LIMIT, retryDelay } from '../src/transport';
import type { Deps } from '../src/types';
import { counterUuid } from './helpers';
import { contractErrors, REPLAY_ENDPOINT, resetReplay, stubCollector, T0 } from './replay-helpers';

const SESSION = '00000000-0000-4000-8000-0000000000aa';
const OPTIONS: ChunkOptions = { siteId: 'shop', replayEndpoint: REPLAY_ENDPOINT, flushInterval: 5000, maxRetries: 5, replayMinDurationMs: 2000 };

let clock: number;
const deps: Deps = { now: () => clock, random: () => 0.5, uuid: counterUuid };

function sender(options: Partial<ChunkOptions> = {}): ChunkSender {
  const chunks = new ChunkSender({ ...OPTIONS, ...options }, deps);
  chunks.begin(SESSION);
  return chunks;
}

/** An incremental-snapshot-like event at `ms` after T0, padded to about `bytes` of JSON. */
function ev(ms: number, bytes = 100): RecordedEvent {
  return { type: 3, timestamp: T0 + ms, data: { source: 2, pad: 'x'.repeat(Math.max(0, bytes - 70)) } };
}

const RealCompressionStream = globalThis.CompressionStream;

beforeEach(() => {
  clock = T0;
  vi.useFakeTimers();
  // Compression runs outside the fake clock; the tests of timing send plain JSON, those below gzip.
  vi.stubGlobal('CompressionStream', undefined);
});
afterEach(resetReplay);

describe('chunking', () => {
  it('sends one chunk per flushInterval while there are events, numbered from 0', async () => {
    const net = stubCollector();
    const chunks = sender();
    chunks.add({ type: 4, timestamp: T0, data: { href: 'https://shop.example.com/', width: 800, height: 600 } });
    chunks.add(ev(2500));
    await vi.advanceTimersByTimeAsync(4900);
    expect(net.chunks()).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(200);
    expect(net.chunks()).toHaveLength(1);
    expect(net.chunks()[0].events.map((e) => e.timestamp)).toEqual([T0, T0 + 2500]);
    await vi.advanceTimersByTimeAsync(60_000); // no events, no chunks
    expect(net.chunks()).toHaveLength(1);
    chunks.add(ev(70_000));
    await vi.advanceTimersByTimeAsync(5100);
    expect(net.chunks().map((c) => c.seq)).toEqual([0, 1]);
    expect(new Set(net.chunks().map((c) => c.chunk_id)).size).toBe(2);
  });

  it('sends at once when the buffered JSON passes 256 KiB, in chunks of at most 256 KiB', async () => {
    const net = stubCollector();
    const chunks = sender();
    chunks.add(ev(0));
    chunks.add(ev(3000)); // long enough from here on
    for (let i = 0; i < 5; i++) chunks.add(ev(3001 + i, 60 * 1024));
    await vi.advanceTimersByTimeAsync(0);
    const sent = net.chunks();
    expect(sent.length).toBeGreaterThanOrEqual(2);
    for (const chunk of sent) expect(utf8Length(JSON.stringify(chunk.events))).toBeLessThanOrEqual(CHUNK_BYTES + 2);
    expect(sent.flatMap((c) => c.events)).toHaveLength(7);
    expect(sent.map((c) => c.seq)).toEqual(sent.map((_, i) => i));
    expect(chunks.buffered).toBe(0);
  });

  it('sends nothing before the recording spans replayMinDurationMs, then all of it', async () => {
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 2000 });
    chunks.add(ev(0));
    chunks.add(ev(1999, 300 * 1024)); // big, but still too short a recording
    await vi.advanceTimersByTimeAsync(30_000);
    await chunks.flush();
    expect(net.fetch).not.toHaveBeenCalled();
    chunks.add(ev(2000));
    await chunks.flush();
    expect(net.chunks().flatMap((c) => c.events).map((e) => e.timestamp - T0)).toEqual([0, 1999, 2000]);
  });

  it('never sends a recording that ends too short, and counts it', async () => {
    const net = stubCollector();
    const chunks = sender();
    chunks.add(ev(0));
    chunks.add(ev(1500));
    chunks.beacon(false); // only hidden: the page may come back
    expect(chunks.buffered).toBe(2);
    chunks.beacon(true); // gone
    await vi.advanceTimersByTimeAsync(10_000);
    expect(net.fetch).not.toHaveBeenCalled();
    expect(net.beacons).toHaveLength(0);
    expect(chunks.stats).toMatchObject({ short: 1, sent: 0 });
  });

  it('starts over for a new session: the old recording goes first, the new one counts from 0', async () => {
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    chunks.add(ev(10));
    chunks.begin('00000000-0000-4000-8000-0000000000bb');
    chunks.add(ev(20));
    await chunks.flush();
    expect(net.chunks().map((c) => [c.session_id.slice(-2), c.seq, c.events.length])).toEqual([
      ['aa', 0, 2],
      ['bb', 0, 1],
    ]);
  });

  it('produces chunks that pass the contract', async () => {
    const net = stubCollector();
    clock = T0 + 7000;
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add({ type: 4, timestamp: T0, data: { href: 'https://shop.example.com/', width: 800, height: 600 } });
    chunks.add({ type: 5, timestamp: T0 + 1, data: { tag: 'insightlite:pageview', payload: { url: 'https://shop.example.com/' } } });
    await chunks.flush();
    const [chunk] = net.chunks();
    expect(Object.keys(chunk)).toEqual(['v', 'site_id', 'session_id', 'chunk_id', 'seq', 'sent_at', 'events']);
    expect(chunk).toMatchObject({ v: 1, site_id: 'shop', session_id: SESSION, seq: 0, sent_at: T0 + 7000 });
    expect(contractErrors(chunk)).toEqual([]);
    // The check itself can fail: a chunk without events, or with a foreign field, is refused.
    expect(contractErrors({ ...chunk, events: [] })).not.toEqual([]);
    expect(contractErrors({ ...chunk, url: 'x' })).not.toEqual([]);
  });
});

describe('compression', () => {
  beforeEach(() => {
    vi.stubGlobal('CompressionStream', RealCompressionStream);
  });

  it('gzips the body, as text/plain with no Content-Encoding, keepalive when small', async () => {
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    await chunks.flush();
    const [request] = net.requests;
    expect(request.url).toBe(REPLAY_ENDPOINT);
    expect(request.gzip).toBe(true);
    expect(request.init).toMatchObject({ method: 'POST', credentials: 'omit', keepalive: true });
    expect(request.init.headers).toEqual({ 'Content-Type': 'text/plain' });
    expect((request.body as { events: unknown[] }).events).toHaveLength(1);
  });

  it('sends the JSON as is where CompressionStream is missing', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    expect(typeof CompressionStream).toBe('undefined');
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    await chunks.flush();
    expect(typeof net.requests[0].init.body).toBe('string');
    expect(net.requests[0].gzip).toBe(false);
    expect(net.chunks()[0].events).toHaveLength(1);
  });

  it('no keepalive for a body over 64 KiB', async () => {
    vi.stubGlobal('CompressionStream', undefined);
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0, BEACON_LIMIT + 1000));
    await chunks.flush();
    expect(net.requests[0].init.keepalive).toBe(false);
  });
});

describe('retries', () => {
  it('retries with the events backoff and jitter, keeping the chunk id and seq', async () => {
    const net = stubCollector(['network', 503, 202]);
    const chunks = sender({ replayMinDurationMs: 0, maxRetries: 3 });
    chunks.add(ev(0));
    await chunks.flush();
    expect(chunks.stats).toMatchObject({ retries: 1, sent: 0 });
    // random() = 0.5: the same delays as event batches, 750 ms then 1500 ms.
    expect([retryDelay(0, 0, deps.random), retryDelay(1, 0, deps.random)]).toEqual([750, 1500]);
    await vi.advanceTimersByTimeAsync(740);
    expect(net.requests).toHaveLength(1);
    clock += 760;
    await vi.advanceTimersByTimeAsync(20);
    expect(net.requests).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1500);
    const sent = net.chunks();
    expect(sent).toHaveLength(3);
    expect(new Set(sent.map((c) => `${c.chunk_id}/${c.seq}`)).size).toBe(1);
    expect(sent[1].sent_at).toBe(T0 + 760); // stamped again on each attempt
    expect(chunks.stats).toMatchObject({ sent: 1, retries: 2, dropped: 0 });
  });

  it('honours Retry-After', async () => {
    const net = stubCollector([{ status: 429, retryAfter: '7' }, 202]);
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    await chunks.flush();
    await vi.advanceTimersByTimeAsync(6900);
    expect(net.requests).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(net.requests).toHaveLength(2);
  });

  it('counts a refused chunk once, and drops one whose retries ran out', async () => {
    const refused = stubCollector([413]);
    const a = sender({ replayMinDurationMs: 0 });
    a.add(ev(0));
    await a.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(refused.requests).toHaveLength(1);
    expect(a.stats).toMatchObject({ rejected: 1, dropped: 0 });
    const failing = stubCollector([503]);
    const b = sender({ replayMinDurationMs: 0, maxRetries: 2 });
    b.add(ev(0));
    await b.flush();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(failing.requests).toHaveLength(3);
    expect(b.stats).toMatchObject({ dropped: 1, retries: 2 });
  });

  it('forgets what waits for a retry when told to (opt-out)', async () => {
    const net = stubCollector([503, 202]);
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    await chunks.flush();
    chunks.add(ev(10));
    chunks.clear();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(net.requests).toHaveLength(1);
    expect(chunks.buffered).toBe(0);
  });
});

describe('page hide', () => {
  it('beacons the rest and what waits for a retry as plain JSON', async () => {
    const net = stubCollector(['network']);
    const chunks = sender({ replayMinDurationMs: 0 });
    chunks.add(ev(0));
    await chunks.flush(); // fails, waits for its retry
    chunks.add(ev(10));
    chunks.beacon(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(net.requests).toHaveLength(1); // the retry did not run
    expect(net.beacons.map((b) => [b.url, b.type])).toEqual([
      [REPLAY_ENDPOINT, 'text/plain'],
      [REPLAY_ENDPOINT, 'text/plain'],
    ]);
    const beaconed = net.beacons.map((b) => b.body as { seq: number; events: RecordedEvent[] });
    expect(beaconed.map((c) => [c.seq, c.events.length])).toEqual([
      [0, 1],
      [1, 1],
    ]);
    for (const chunk of beaconed) expect(contractErrors(chunk)).toEqual([]);
    expect(chunks.stats).toMatchObject({ sent: 2, dropped: 0 });
  });

  it('cuts the rest into beacons under 64 KiB and drops what the browser refuses', async () => {
    const net = stubCollector();
    const chunks = sender({ replayMinDurationMs: 0, flushInterval: 60_000 });
    for (let i = 0; i < 6; i++) chunks.add(ev(i, 30 * 1024));
    chunks.beacon(true);
    expect(net.beacons.length).toBeGreaterThanOrEqual(3);
    for (const beacon of net.beacons) expect(beacon.bytes).toBeLessThanOrEqual(BEACON_LIMIT);
    expect(chunks.stats.sent).toBe(net.beacons.length);

    const refused = stubCollector([202], false);
    const other = sender({ replayMinDurationMs: 0, flushInterval: 60_000 });
    for (let i = 0; i < 6; i++) other.add(ev(i, 30 * 1024));
    other.beacon(true);
    expect(other.stats.dropped).toBeGreaterThanOrEqual(3);
    expect(other.stats.sent).toBe(0);
    expect(refused.fetch).not.toHaveBeenCalled();
  });

  it('when only hidden, sends what a beacon could not take the usual way', async () => {
    const net = stubCollector([202], false);
    const chunks = sender({ replayMinDurationMs: 0, flushInterval: 60_000 });
    chunks.add(ev(0));
    chunks.beacon(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(net.chunks()).toHaveLength(1);
    expect(chunks.stats).toMatchObject({ sent: 1, dropped: 0 });
  });
});

describe('utf8Length', () => {
  it('counts bytes as UTF-8 does', () => {
    for (const text of ['plain', 'é', '€', '😀', 'a😀b€é', '']) expect(utf8Length(text)).toBe(Buffer.byteLength(text));
  });
});
