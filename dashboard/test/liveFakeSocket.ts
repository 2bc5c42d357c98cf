// A WebSocket the tests drive from the server's side: it records what the dashboard
// sends and how it closed, and delivers the messages and closes the API would.
import type { LiveSocket } from '../src/live/liveStream';
import type { LiveEvent } from '../src/live/protocol';

export class FakeSocket implements LiveSocket {
  /** Every socket made since the last reset, in order. */
  static made: FakeSocket[] = [];

  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  readonly sent: string[] = [];
  /** How the dashboard closed it, if it did. */
  closedByClient: { code: number | undefined; reason: string | undefined } | null = null;

  constructor(readonly url: string) {
    FakeSocket.made.push(this);
  }

  static reset(): void {
    FakeSocket.made = [];
  }

  static latest(): FakeSocket {
    const socket = FakeSocket.made.at(-1);
    if (socket === undefined) throw new Error('no socket was made');
    return socket;
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code?: number, reason?: string): void {
    this.closedByClient = { code, reason };
  }

  // The server's side.

  open(): void {
    this.onopen?.(new Event('open'));
  }

  receive(body: unknown): void {
    this.onmessage?.(new MessageEvent('message', { data: typeof body === 'string' ? body : JSON.stringify(body) }));
  }

  ready(site = 'shop.example.com'): void {
    this.open();
    this.receive({ type: 'ready', site });
  }

  serverClose(code: number, reason = ''): void {
    // A browser reports an error before an abnormal close only.
    if (code === 1006) this.onerror?.(new Event('error'));
    this.onclose?.({ code, reason, wasClean: code !== 1006 } as CloseEvent);
  }
}

let serial = 0;

/** An event as the API sends it; `overrides` replace fields. */
export function liveEvent(overrides: Partial<LiveEvent> = {}): LiveEvent {
  serial += 1;
  return {
    event_id: `00000000-0000-4000-8000-${String(serial).padStart(12, '0')}`,
    session_id: '1b9e0000-0000-4000-8000-000000000001',
    timestamp: '2026-11-25T12:00:00.123Z',
    event_type: 'pageview',
    url_path: '/pricing',
    referrer: '',
    device_type: 'desktop',
    viewport_width: 1280,
    viewport_height: 800,
    country_code: 'DE',
    error_class: '',
    ...overrides,
  };
}

export function summaryMessage(at: string, activeVisitors: number, eventsPerSecond = 1.5, dropped = 0) {
  return {
    type: 'summary',
    at,
    active_visitors: activeVisitors,
    active_sessions: activeVisitors + 2,
    events_per_second: eventsPerSecond,
    dropped,
  };
}
