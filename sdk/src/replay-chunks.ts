import type { ReplayStats, ResolvedConfig } from './config';
import { BEACON_LIMIT, byteLength, post, retryDelay } from './transport';
import type { Deps } from './types';
import { whenIdle } from './util';

/** A chunk goes at once when the buffered events' JSON passes this. */
export const CHUNK_BYTES = 256 * 1024;
/** Room left in a beacon for the chunk's fields around its events. */
const ENVELOPE_BYTES = 512;

/** An rrweb event (eventWithTime) as the chunker sees it. */
export interface RecordedEvent {
  type: number;
  timestamp: number;
  data?: unknown;
  delay?: number;
}

/** The wire format: foundation/contract/replay-chunk-v1.schema.json. */
export interface ReplayChunk {
  v: 1;
  site_id: string;
  session_id: string;
  chunk_id: string;
  seq: number;
  sent_at: number;
  events: RecordedEvent[];
}

/** A cut chunk: its ids are fixed (a resend keeps them), its events kept as JSON. */
interface Cut {
  session: string;
  id: string;
  seq: number;
  events: string[];
  attempt: number;
}

export type ChunkOptions = Pick<ResolvedConfig, 'siteId' | 'replayEndpoint' | 'flushInterval' | 'maxRetries' | 'replayMinDurationMs'>;

/** The UTF-8 size of a string, without encoding it. */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      bytes += 4; // a surrogate pair: one 4-byte character
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** The request body: gzip where the browser has CompressionStream, otherwise the JSON as is. */
export async function compress(json: string): Promise<string | Uint8Array> {
  if (typeof CompressionStream !== 'function') return json;
  try {
    const stream = new CompressionStream('gzip');
    const writer = stream.writable.getWriter();
    // Not awaited: the write completes only as the other side is read. A failure shows there too.
    writer.write(new TextEncoder().encode(json)).then(() => writer.close(), () => undefined);
    const reader = stream.readable.getReader();
    const parts: Uint8Array[] = [];
    let size = 0;
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      parts.push(r.value);
      size += r.value.length;
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      body.set(part, at);
      at += part.length;
    }
    return body;
  } catch {
    return json;
  }
}

/**
 * Cuts a recording into chunks and delivers them: one chunk per flushInterval
 * while there are events, at once past 256 KiB; nothing before the recording
 * spans replayMinDurationMs, and a recording that never does is never sent.
 * Retries with the events' backoff; sendBeacon for what is left at page hide.
 */
export class ChunkSender {
  readonly stats: ReplayStats = { recording: false, sent: 0, rejected: 0, dropped: 0, retries: 0, short: 0 };
  private _events: string[] = [];
  private _sizes: number[] = [];
  private _bytes = 0;
  private _session = '';
  private _seq = 0;
  private _first: number | undefined; // the recording's first event time
  private _long = false; // it spans replayMinDurationMs: its chunks may go
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _retrying = new Set<Cut>(); // chunks waiting for their next attempt
  private _inflight = new Set<Promise<void>>();

  constructor(
    private readonly _o: ChunkOptions,
    private readonly _deps: Deps,
  ) {}

  /** Events buffered and not yet cut into chunks. */
  get buffered(): number {
    return this._events.length;
  }

  /** A recording under this session id: what the previous recording left goes first (or, too short, is discarded). */
  begin(session: string): void {
    if (session === this._session) return;
    if (this._long) void this.flush();
    else this._discard();
    this._session = session;
    this._seq = 0;
    this._first = undefined;
    this._long = false;
  }

  add(event: RecordedEvent): void {
    const json = JSON.stringify(event);
    const size = utf8Length(json) + 1; // and its comma
    this._events.push(json);
    this._sizes.push(size);
    this._bytes += size;
    if (this._first === undefined) this._first = event.timestamp;
    if (event.timestamp - this._first >= this._o.replayMinDurationMs) this._long = true;
    if (this._long && this._bytes > CHUNK_BYTES) void this.flush();
    else this._schedule();
  }

  /** Sends what is buffered now (once the recording is long enough); resolves when the requests have ended. */
  flush(): Promise<void> {
    clearTimeout(this._timer);
    this._timer = undefined;
    if (this._long) for (const cut of this._cut(CHUNK_BYTES)) this._track(this._send(cut));
    else this._schedule();
    return Promise.all([...this._inflight]).then(() => undefined);
  }

  /**
   * The page is hidden (`final`: going away): what is buffered and what waits
   * for a retry leaves by sendBeacon, uncompressed (there may be no time to
   * compress), in pieces under 64 KiB. After the first piece the browser
   * refuses, the rest is dropped, so that a recording has no hole. A page only
   * hidden may come back: it keeps a recording still too short, and sends what
   * a beacon could not take the usual way.
   */
  beacon(final: boolean): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    const cuts = [...this._retrying];
    this._retrying.clear();
    if (this._long) cuts.push(...this._cut(BEACON_LIMIT - ENVELOPE_BYTES));
    else if (final) this._discard();
    const nav = navigator as Navigator & { sendBeacon?: (url: string, data: BodyInit) => boolean };
    let refused = false;
    for (const cut of cuts) {
      const body = this._encode(cut);
      refused =
        refused ||
        !nav.sendBeacon ||
        byteLength(body) > BEACON_LIMIT ||
        !nav.sendBeacon(this._o.replayEndpoint, new Blob([body], { type: 'text/plain' }));
      if (!refused) this.stats.sent++;
      else if (final) this.stats.dropped++;
      else this._track(this._send(cut));
    }
  }

  /** Forgets what is buffered and what waits for a retry (opt-out). */
  clear(): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._events = [];
    this._sizes = [];
    this._bytes = 0;
    this._retrying.clear();
  }

  private _discard(): void {
    if (this._events.length) this.stats.short++;
    this.clear();
  }

  private _schedule(): void {
    if (this._timer === undefined && this._events.length) {
      this._timer = setTimeout(() => {
        this._timer = undefined;
        whenIdle(() => void this.flush());
      }, this._o.flushInterval);
    }
  }

  /** The buffer as chunks of at most `maxBytes` of events (at least one event each), numbered in order. */
  private _cut(maxBytes: number): Cut[] {
    const cuts: Cut[] = [];
    while (this._events.length) {
      let count = 0;
      let bytes = 0;
      while (count < this._events.length && (count === 0 || bytes + this._sizes[count] <= maxBytes)) bytes += this._sizes[count++];
      this._sizes.splice(0, count);
      this._bytes -= bytes;
      cuts.push({ session: this._session, id: this._deps.uuid(), seq: this._seq++, events: this._events.splice(0, count), attempt: 0 });
    }
    return cuts;
  }

  /** The chunk's JSON, stamped with sent_at now (each attempt: it corrects the client's clock). */
  private _encode(cut: Cut): string {
    const head = JSON.stringify({
      v: 1,
      site_id: this._o.siteId,
      session_id: cut.session,
      chunk_id: cut.id,
      seq: cut.seq,
      sent_at: this._deps.now(),
    });
    return `${head.slice(0, -1)},"events":[${cut.events.join(',')}]}`;
  }

  private _track(sending: Promise<void>): void {
    this._inflight.add(sending);
    void sending.then(() => this._inflight.delete(sending));
  }

  /** One attempt; a transient failure schedules the next one without holding up flush(). */
  private async _send(cut: Cut): Promise<void> {
    const [outcome, retryAfterMs] = await post(this._o.replayEndpoint, await compress(this._encode(cut)));
    if (outcome !== 'retry') {
      this.stats[outcome === 'ok' ? 'sent' : 'rejected']++;
      return;
    }
    if (cut.attempt >= this._o.maxRetries) {
      this.stats.dropped++;
      return;
    }
    this.stats.retries++;
    const delay = retryDelay(cut.attempt++, retryAfterMs, this._deps.random);
    this._retrying.add(cut);
    setTimeout(() => {
      // Gone from the set: a beacon took the chunk meanwhile, or the visitor opted out.
      if (this._retrying.delete(cut)) this._track(this._send(cut));
    }, delay);
  }
}
