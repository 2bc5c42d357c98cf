// One site's live stream, kept open: connect, authenticate with the first message,
// collect events and summaries into bounded buffers, and connect again after a network
// loss (with backoff and jitter) until stopped. Refusals that retrying cannot cure
// (4400, 4403) stop it with the API's reason; 4401 stops it and asks to sign out.
// Framework-free, so it is tested against a fake socket; useLiveStream wires it to React.
import { reconnectDelay } from './backoff';
import {
  CLOSE_NORMAL,
  type LiveEvent,
  type LiveSummary,
  authMessage,
  closeOutcome,
  parseLiveMessage,
} from './protocol';
import { KeyedRing, appendBounded } from './ring';

/** What the stream needs of a WebSocket (the browser's, or a test's). */
export interface LiveSocket {
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type SocketFactory = (url: string) => LiveSocket;

export type ConnectionState =
  | { status: 'idle' }
  | { status: 'connecting'; attempt: number }
  | { status: 'live' }
  | { status: 'reconnecting'; attempt: number; delayMs: number; reason: string }
  | { status: 'refused'; code: number; reason: string }
  | { status: 'signed-out'; reason: string };

export interface ReceivedEvent {
  event: LiveEvent;
  /** When the dashboard received it (epoch ms, its own clock): what click dots fade by. */
  receivedAt: number;
}

export interface LiveSnapshot {
  connection: ConnectionState;
  /** The last events, newest first. */
  events: ReceivedEvent[];
  /** The last clicks, newest first (kept apart: moves would push them out of `events`). */
  clicks: ReceivedEvent[];
  /** The last summaries, oldest first. */
  summaries: LiveSummary[];
  /** Events received since the stream started (a counter, not bounded by the buffers). */
  received: number;
  /** Events the API dropped for this client since the stream started. */
  dropped: number;
}

export interface LiveLimits {
  events: number;
  clicks: number;
  /** One a second: 300 is the last five minutes. */
  summaries: number;
}

export const DEFAULT_LIMITS: LiveLimits = { events: 500, clicks: 300, summaries: 300 };
/** Events are shown in batches at most this often: a busy site sends hundreds a second. */
export const FLUSH_MS = 250;
/** Summaries come every second and pings every 15 s: this long without a message means a dead connection. */
export const SILENCE_MS = 40_000;

export interface LiveStreamOptions {
  url: string;
  token: string;
  createSocket: SocketFactory;
  /** Epoch milliseconds. */
  now: () => number;
  /** In [0, 1), for the reconnect jitter. */
  random: () => number;
  /** The token was refused (4401): the user must sign in again. */
  onUnauthorized(reason: string): void;
  limits?: Partial<LiveLimits>;
}

type Listener = () => void;

export class LiveStream {
  private readonly limits: LiveLimits;
  private readonly events: KeyedRing<ReceivedEvent>;
  private readonly clicks: KeyedRing<ReceivedEvent>;
  private summaries: LiveSummary[] = [];
  private received = 0;
  private dropped = 0;
  private connection: ConnectionState = { status: 'idle' };
  private snapshot: LiveSnapshot;
  private readonly listeners = new Set<Listener>();
  private socket: LiveSocket | null = null;
  private attempt = 0;
  private running = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private silenceTimer: ReturnType<typeof setTimeout> | null = null;
  private flushTimer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly options: LiveStreamOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    const byId = (item: ReceivedEvent) => item.event.event_id;
    this.events = new KeyedRing(this.limits.events, byId);
    this.clicks = new KeyedRing(this.limits.clicks, byId);
    this.snapshot = this.makeSnapshot();
  }

  readonly subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): LiveSnapshot => this.snapshot;

  /** Opens the connection; again after stop() (React may stop and start an effect twice). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.attempt = 0;
    this.connect();
  }

  /** Closes the connection and cancels every timer; nothing is received after. */
  stop(): void {
    this.running = false;
    this.clearTimers();
    this.dropSocket(CLOSE_NORMAL, 'page left');
    const { status } = this.connection;
    // A refusal stays to be read; a connection in progress is simply no more.
    if (status !== 'refused' && status !== 'signed-out') this.connection = { status: 'idle' };
    this.flush();
  }

  /** Connects at once instead of waiting for the next attempt. */
  reconnectNow(): void {
    if (!this.running || this.connection.status !== 'reconnecting') return;
    this.clearTimers();
    this.connect();
  }

  private connect(): void {
    this.retryTimer = null;
    this.setConnection({ status: 'connecting', attempt: this.attempt });
    let socket: LiveSocket;
    try {
      socket = this.options.createSocket(this.options.url);
    } catch {
      // A URL the browser refuses (it cannot happen on the page's own origin), as a lost connection.
      this.scheduleRetry('the connection could not be opened', 0);
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      if (this.socket === socket) socket.send(authMessage(this.options.token));
    };
    socket.onmessage = (message) => {
      if (this.socket === socket) this.receive(message.data);
    };
    // A failed socket always closes next: onclose decides what to do.
    socket.onerror = () => undefined;
    socket.onclose = (event) => {
      if (this.socket === socket) this.closed(event.code, event.reason);
    };
    this.watchSilence();
  }

  private receive(data: unknown): void {
    this.watchSilence();
    const message = parseLiveMessage(data);
    if (message === null) return;
    switch (message.type) {
      case 'ready':
        this.attempt = 0;
        this.setConnection({ status: 'live' });
        return;
      case 'event': {
        const item = { event: message.event, receivedAt: this.options.now() };
        if (!this.events.push(item)) return;
        this.received += 1;
        if (message.event.event_type === 'click') this.clicks.push(item);
        this.scheduleFlush();
        return;
      }
      case 'summary':
        this.summaries = appendBounded(this.summaries, message.summary, this.limits.summaries);
        this.dropped += message.summary.dropped;
        this.scheduleFlush();
        return;
      case 'ping':
        return;
    }
  }

  private closed(code: number, reason: string): void {
    this.socket = null;
    this.clearTimers();
    const outcome = closeOutcome(code, reason);
    if (outcome.action === 'retry') {
      this.scheduleRetry(outcome.reason, outcome.minDelayMs);
      return;
    }
    this.running = false;
    if (outcome.action === 'refused') {
      this.setConnection({ status: 'refused', code, reason: outcome.reason });
      return;
    }
    this.setConnection({ status: 'signed-out', reason: outcome.reason });
    this.options.onUnauthorized(outcome.reason);
  }

  private scheduleRetry(reason: string, minDelayMs: number): void {
    const delayMs = reconnectDelay(this.attempt, this.options.random, minDelayMs);
    this.attempt += 1;
    this.setConnection({ status: 'reconnecting', attempt: this.attempt, delayMs, reason });
    this.retryTimer = setTimeout(() => this.connect(), delayMs);
  }

  /** A connection that went quiet (a sleeping laptop, a dropped route) may never report its close. */
  private watchSilence(): void {
    if (this.silenceTimer !== null) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.silenceTimer = null;
      this.dropSocket(CLOSE_NORMAL, 'silent');
      this.scheduleRetry(`no message from the API for ${SILENCE_MS / 1000} s`, 0);
    }, SILENCE_MS);
  }

  private dropSocket(code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    if (socket === null) return;
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    try {
      socket.close(code, reason);
    } catch {
      // Closing an already closed socket: nothing left to do.
    }
  }

  private clearTimers(): void {
    for (const timer of [this.retryTimer, this.silenceTimer]) if (timer !== null) clearTimeout(timer);
    this.retryTimer = null;
    this.silenceTimer = null;
  }

  private setConnection(connection: ConnectionState): void {
    this.connection = connection;
    // A change of state is shown at once, with whatever data is waiting.
    this.flush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer === null) this.flushTimer = setTimeout(() => this.flush(), FLUSH_MS);
  }

  private flush(): void {
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.snapshot = this.makeSnapshot();
    for (const listener of this.listeners) listener();
  }

  private makeSnapshot(): LiveSnapshot {
    return {
      connection: this.connection,
      events: this.events.newestFirst(),
      clicks: this.clicks.newestFirst(),
      summaries: this.summaries,
      received: this.received,
      dropped: this.dropped,
    };
  }
}
