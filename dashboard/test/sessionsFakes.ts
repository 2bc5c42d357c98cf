// What the session-replay tests share: a recording fake of rrweb's Replayer (jsdom
// cannot rebuild pages; the real one plays recordings in the browser tests) and a
// recording as the tracker makes it.
import type { RrwebEvent } from '../src/api/sessions';

type Handler = (payload?: unknown) => void;

/** Stands in for rrweb's Replayer: records every call, and emits its events on demand. */
export class FakeReplayer {
  static instances: FakeReplayer[] = [];
  static sandbox = 'allow-same-origin';
  static failWith: Error | null = null;
  calls: Array<[string, unknown?]> = [];
  handlers = new Map<string, Handler[]>();
  time = 0;
  iframe: HTMLIFrameElement;
  constructor(
    readonly events: Array<{ timestamp: number }>,
    readonly config: Record<string, unknown> & { root: HTMLElement },
  ) {
    if (FakeReplayer.failWith) throw FakeReplayer.failWith;
    this.iframe = document.createElement('iframe');
    this.iframe.setAttribute('sandbox', FakeReplayer.sandbox);
    config.root.appendChild(this.iframe);
    FakeReplayer.instances.push(this);
  }
  on(name: string, handler: Handler) {
    this.handlers.set(name, [...(this.handlers.get(name) ?? []), handler]);
    return this;
  }
  emit(name: string, payload?: unknown) {
    for (const handler of this.handlers.get(name) ?? []) handler(payload);
  }
  play(offset = 0) {
    this.calls.push(['play', offset]);
    this.time = offset;
  }
  pause(offset?: number) {
    this.calls.push(['pause', offset]);
    if (offset !== undefined) this.time = offset;
  }
  setConfig(config: Record<string, unknown>) {
    this.calls.push(['setConfig', config]);
  }
  getCurrentTime() {
    return this.time;
  }
  getMetaData() {
    const first = this.events[0]?.timestamp ?? 0;
    const last = this.events[this.events.length - 1]?.timestamp ?? 0;
    return { startTime: first, endTime: last, totalTime: last - first };
  }
  destroy() {
    this.calls.push(['destroy']);
    this.iframe.remove();
  }
}

export function lastReplayer(): FakeReplayer {
  const replayer = FakeReplayer.instances[FakeReplayer.instances.length - 1];
  if (replayer === undefined) throw new Error('no Replayer was made');
  return replayer;
}

export function resetReplayers(): void {
  FakeReplayer.instances = [];
  FakeReplayer.sandbox = 'allow-same-origin';
  FakeReplayer.failWith = null;
}

// A recording as the tracker makes it (rrweb 2 events; times from 2026-11-25 11:00 UTC).
export const T0 = Date.parse('2026-11-25T11:00:00Z');
const meta = (ms: number, href: string): RrwebEvent => ({
  type: 4,
  timestamp: T0 + ms,
  data: { href, width: 1280, height: 720 },
});
const snapshot = (ms: number): RrwebEvent => ({
  type: 2,
  timestamp: T0 + ms,
  data: {
    node: {
      type: 0,
      id: 1,
      childNodes: [
        { type: 1, name: 'html', publicId: '', systemId: '', id: 2 },
        {
          type: 2,
          tagName: 'html',
          attributes: {},
          id: 3,
          childNodes: [{ type: 2, tagName: 'body', attributes: {}, childNodes: [], id: 4 }],
        },
      ],
    },
    initialOffset: { left: 0, top: 0 },
  },
});
const custom = (ms: number, tag: string, payload: Record<string, unknown>): RrwebEvent => ({
  type: 5,
  timestamp: T0 + ms,
  data: { tag, payload },
});
const move = (ms: number, x: number, y: number): RrwebEvent => ({
  type: 3,
  timestamp: T0 + ms,
  data: { source: 1, positions: [{ x, y, id: 4, timeOffset: -40 }] },
});
const mouse = (ms: number, type: number, x: number, y: number): RrwebEvent => ({
  type: 3,
  timestamp: T0 + ms,
  data: { source: 2, type, id: 4, x, y, pointerType: 0 },
});
/** A click as rrweb records it: mouse down, mouse up, click. */
const click = (ms: number, x: number, y: number): RrwebEvent[] => [
  mouse(ms - 60, 1, x, y),
  mouse(ms - 2, 0, x, y),
  mouse(ms, 2, x, y),
];

export function recording(): RrwebEvent[] {
  return [
    meta(0, 'https://shop.example.com/pricing?plan=*'),
    snapshot(5),
    custom(8, 'insightlite:pageview', { url: 'https://shop.example.com/pricing?plan=*' }),
    move(500, 100, 100),
    ...click(2_000, 640, 300),
    { type: 3, timestamp: T0 + 3_000, data: { source: 3, id: 1, x: 0, y: 600 } },
    // A rage burst: 3 clicks, each within 1 s and 30 px of the previous one.
    ...click(10_000, 800, 410),
    ...click(10_300, 805, 412),
    ...click(11_300, 812, 420),
    custom(12_000, 'insightlite:error', {
      message: "Cannot read properties of undefined (reading 'price')",
      kind: 'error',
    }),
    { type: 3, timestamp: T0 + 15_000, data: { source: 5, id: 9, text: '****', isChecked: false } },
    custom(20_000, 'insightlite:pageview', { url: 'https://shop.example.com/checkout' }),
    // Two quick clicks are no burst.
    ...click(21_000, 100, 100),
    ...click(21_400, 105, 100),
    meta(30_000, 'https://shop.example.com/thanks'),
    snapshot(30_005),
    custom(30_010, 'insightlite:pageview', { url: 'https://shop.example.com/thanks' }),
    custom(35_000, 'insightlite:error', { message: 'Failed to fetch', kind: 'unhandledrejection' }),
    move(40_000, 300, 300),
  ];
}
