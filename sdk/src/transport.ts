import type { Deps, TrackedEvent } from './types';
import { load, save, whenIdle } from './util';

/** What a beacon may carry: browsers refuse larger keepalive payloads. */
export const BEACON_LIMIT = 64 * 1024;
/** The collector takes at most 500 events and 1 MiB per request. */
const MAX_BATCH_EVENTS = 500;
const MAX_BATCH_BYTES = 512 * 1024;
/** Stored events older than this are stale for the pipeline (it rejects them). */
const MAX_STORED_AGE_MS = 72 * 3_600_000;
export const MAX_BACKOFF_MS = 60_000;

export interface SenderOptions {
  endpoint: string;
  siteId: string;
  flushSize: number;
  flushInterval: number;
  maxRetries: number;
  maxQueueSize: number;
}

export interface SenderStats {
  /** Events waiting to be sent (in memory, in retry, or stored for a later page load). */
  queued: number;
  sent: number;
  /** Events lost: the oldest ones when the queue was full, or stale stored ones. */
  dropped: number;
  /** Events the collector refused as invalid (4xx); resending would not help. */
  rejected: number;
  retries: number;
}

/** What a send came to: delivered, worth another try (network, 408, 429, 5xx), or refused for good. */
export type Outcome = 'ok' | 'retry' | 'reject';

export const byteLength = (body: string | Uint8Array): number => new Blob([body as BlobPart]).size;

/**
 * One POST to the collector, classified. text/plain makes it a "simple" request
 * (no CORS preflight round trip); keepalive lets it outlive the page when the
 * browser allows (under 64 KiB). Also answers the collector's Retry-After in ms.
 */
export async function post(url: string, body: string | Uint8Array): Promise<[Outcome, number]> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      body: body as BodyInit,
      headers: { 'Content-Type': 'text/plain' },
      credentials: 'omit',
      keepalive: byteLength(body) < BEACON_LIMIT,
    });
    const status = response.status;
    if (status < 300) return ['ok', 0];
    const retryAfter = Number(response.headers.get('Retry-After')) * 1000 || 0;
    const transient = status === 408 || status === 429 || status >= 500;
    return [transient ? 'retry' : 'reject', Math.min(retryAfter, MAX_BACKOFF_MS)];
  } catch {
    return ['retry', 0]; // offline, DNS, connection reset, CORS failure
  }
}

/** Milliseconds before the retry after failed attempt number `attempt` (from 0): 1, 2, 4 ... 60 s with jitter, or Retry-After. */
export function retryDelay(attempt: number, retryAfterMs: number, random: () => number): number {
  const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
  // Jitter, so that browsers that failed together do not all come back together.
  return Math.max(retryAfterMs, backoff / 2 + (random() * backoff) / 2);
}

/**
 * Batches events to the collector: fetch (keepalive) for regular sends, with
 * exponential backoff and jitter on failure; sendBeacon as text/plain when the
 * page goes away; a bounded queue in localStorage for what could not be sent,
 * picked up by the next page load of the site.
 */
export class Sender {
  private _queue: TrackedEvent[] = [];
  private _retrying = new Set<TrackedEvent[]>(); // batches waiting for their next attempt
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _inflight = new Set<Promise<void>>();
  private _stopped = false;
  readonly stats: Omit<SenderStats, 'queued'> = { sent: 0, dropped: 0, rejected: 0, retries: 0 };
  private readonly _storeKey: string;
  private readonly _dropKey: string;

  constructor(
    private readonly _o: SenderOptions,
    private readonly _deps: Deps,
  ) {
    this._storeKey = `insightlite.queue.${_o.siteId}`;
    this._dropKey = `insightlite.dropped.${_o.siteId}`;
    this.stats.dropped = Number(load('localStorage', this._dropKey)) || 0;
    // Take over what an earlier page could not send; other tabs keep writing their own.
    const stored = this._readStore();
    if (stored.length) {
      save('localStorage', this._storeKey, null);
      const fresh = stored.filter((e) => _deps.now() - e.ts < MAX_STORED_AGE_MS);
      this._drop(stored.length - fresh.length);
      this._queue = fresh;
      this._schedule();
    }
  }

  get queued(): number {
    let n = this._queue.length;
    this._retrying.forEach((batch) => (n += batch.length));
    return n;
  }

  add(event: TrackedEvent): void {
    if (this._stopped) return;
    this._queue.push(event);
    const over = this._queue.length - this._o.maxQueueSize;
    if (over > 0) this._drop(this._queue.splice(0, over).length);
    if (this._queue.length >= this._o.flushSize) whenIdle(() => void this.flush());
    else this._schedule();
  }

  /** Sends everything queued now; resolves when those requests have ended (never rejects). */
  flush(): Promise<void> {
    clearTimeout(this._timer);
    this._timer = undefined;
    while (this._queue.length && !this._stopped) {
      const [batch, body] = this._take(MAX_BATCH_EVENTS, MAX_BATCH_BYTES);
      const sending = this._send(batch, body, 0);
      this._inflight.add(sending);
      void sending.then(() => this._inflight.delete(sending));
    }
    return Promise.all([...this._inflight]).then(() => undefined);
  }

  /** Page hide: beacon the queue in pieces under 64 KiB; store what the browser refuses. */
  beacon(): void {
    const nav = navigator as Navigator & { sendBeacon?: (url: string, data: BodyInit) => boolean };
    this._retrying.forEach((batch) => this._queue.unshift(...batch));
    this._retrying.clear();
    while (this._queue.length && !this._stopped) {
      const [batch, body] = this._take(MAX_BATCH_EVENTS, BEACON_LIMIT);
      const sent =
        !!nav.sendBeacon &&
        byteLength(body) <= BEACON_LIMIT &&
        nav.sendBeacon(this._o.endpoint, new Blob([body], { type: 'text/plain' }));
      if (sent) {
        this.stats.sent += batch.length;
        this._unstore(batch);
      } else this._store(batch);
    }
  }

  /** Forgets everything, stored events included (opt-out). */
  clear(): void {
    clearTimeout(this._timer);
    this._queue = [];
    this._retrying.clear();
    save('localStorage', this._storeKey, null);
  }

  stop(): void {
    this._stopped = true;
    clearTimeout(this._timer);
  }

  resume(): void {
    this._stopped = false;
  }

  private _schedule(): void {
    if (this._timer === undefined && !this._stopped) {
      this._timer = setTimeout(() => {
        this._timer = undefined;
        whenIdle(() => void this.flush());
      }, this._o.flushInterval);
    }
  }

  /** The oldest events that fit in one request, and their body. */
  private _take(maxEvents: number, maxBytes: number): [TrackedEvent[], string] {
    const [count, body] = this._encode(this._queue, maxEvents, maxBytes);
    return [this._queue.splice(0, count), body];
  }

  /** The body of the first events that fit (at least one), each stamped with `sent_at` now. */
  private _encode(events: TrackedEvent[], maxEvents: number, maxBytes: number): [number, string] {
    const sentAt = this._deps.now();
    const parts: string[] = [];
    let bytes = 2; // the brackets
    while (parts.length < events.length && parts.length < maxEvents) {
      const event = events[parts.length];
      event.sent_at = sentAt;
      const json = JSON.stringify(event);
      bytes += byteLength(json) + 1; // and its comma
      if (parts.length > 0 && bytes > maxBytes) break;
      parts.push(json);
    }
    return [parts.length, `[${parts.join(',')}]`];
  }

  /** One attempt; a transient failure schedules the next one without holding up flush(). */
  private async _send(batch: TrackedEvent[], body: string, attempt: number): Promise<void> {
    const [outcome, retryAfterMs] = await post(this._o.endpoint, body);
    if (outcome !== 'retry') {
      this.stats[outcome === 'ok' ? 'sent' : 'rejected'] += batch.length;
      if (attempt > 0) this._unstore(batch);
      return;
    }
    if (attempt === 0) this._store(batch); // survives a reload while we back off
    if (attempt >= this._o.maxRetries || this._stopped) return; // stays stored for the next page load
    this.stats.retries++;
    const delay = retryDelay(attempt, retryAfterMs, this._deps.random);
    this._retrying.add(batch);
    setTimeout(() => {
      // Gone from the set: the page-hide beacon took the batch meanwhile.
      if (this._retrying.delete(batch) && !this._stopped) void this._send(batch, this._encode(batch, Infinity, Infinity)[1], attempt + 1);
    }, delay);
  }

  private _readStore(): TrackedEvent[] {
    try {
      const parsed: unknown = JSON.parse(load('localStorage', this._storeKey) || '[]');
      return Array.isArray(parsed) ? (parsed as TrackedEvent[]) : [];
    } catch {
      return [];
    }
  }

  /** Adds events to the stored queue (merged with other tabs'), dropping the oldest over the bound. */
  private _store(batch: TrackedEvent[]): void {
    const stored = this._readStore();
    const known = new Set(stored.map((e) => e.event_id));
    for (const e of batch) if (!known.has(e.event_id)) stored.push(e);
    const over = stored.length - this._o.maxQueueSize;
    if (over > 0) this._drop(stored.splice(0, over).length);
    save('localStorage', this._storeKey, JSON.stringify(stored));
  }

  private _unstore(batch: TrackedEvent[]): void {
    const ids = new Set(batch.map((e) => e.event_id));
    const kept = this._readStore().filter((e) => !ids.has(e.event_id));
    save('localStorage', this._storeKey, kept.length ? JSON.stringify(kept) : null);
  }

  private _drop(count: number): void {
    if (count > 0) {
      this.stats.dropped += count;
      save('localStorage', this._dropKey, String(this.stats.dropped));
    }
  }
}
