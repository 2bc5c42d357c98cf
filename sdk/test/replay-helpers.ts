import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { vi } from 'vitest';
import { type Config, shutdown, type Tracker } from '../src/core';
import { init } from '../src/index';
import type { ReplayChunk } from '../src/replay-chunks';
import type { Deps, TrackedEvent } from '../src/types';
import { type Answer, counterUuid, ENDPOINT } from './helpers';

export const REPLAY_ENDPOINT = 'https://collect.example.com/replay';
export const T0 = Date.UTC(2026, 10, 25, 12, 0, 0);

// happy-dom declares DOMTokenList on window without a value; rrweb's recorder reads its prototype.
if (!(window as { DOMTokenList?: unknown }).DOMTokenList) {
  Object.defineProperty(window, 'DOMTokenList', { configurable: true, value: document.createElement('div').classList.constructor });
}

/** The contract the collector checks chunks against, compiled. */
const SCHEMA = join(dirname(fileURLToPath(import.meta.url)), '../../foundation/contract/replay-chunk-v1.schema.json');
const schema = JSON.parse(readFileSync(SCHEMA, 'utf8'));
const ajv = new Ajv2020({ allErrors: true });
addFormats(ajv);
const validate = ajv.compile(schema);

/** The contract's complaints about a chunk (none for a valid one). */
export function contractErrors(chunk: unknown): string[] {
  return validate(chunk) ? [] : (validate.errors || []).map((e) => `${e.instancePath} ${e.message}`);
}

export interface Request {
  url: string;
  init: RequestInit;
  gzip: boolean;
  body: unknown;
}

/** What a fake collector answered, received and was beaconed. */
export interface Collector {
  requests: Request[];
  /** Replay chunks posted, decoded, in the order they were sent. */
  chunks(): ReplayChunk[];
  /** Event batches posted. */
  events(): TrackedEvent[];
  beacons: Array<{ url: string; type: string; bytes: number; body: unknown }>;
  fetch: ReturnType<typeof vi.fn>;
}

function decode(body: unknown): [boolean, unknown] {
  if (body instanceof Uint8Array) {
    const gzip = body[0] === 0x1f && body[1] === 0x8b;
    return [gzip, JSON.parse((gzip ? gunzipSync(body) : Buffer.from(body)).toString('utf8'))];
  }
  return [false, JSON.parse(String(body))];
}

/**
 * Stubs fetch and sendBeacon with a collector that answers replay chunks with
 * `answers` in order (the last repeats) and event batches with 202.
 */
export function stubCollector(answers: Answer[] = [202], beaconOk = true): Collector {
  const requests: Request[] = [];
  const beacons: Collector['beacons'] = [];
  let call = 0;
  const fetch = vi.fn(async (url: string, init: RequestInit) => {
    const [gzip, body] = decode(init.body);
    requests.push({ url, init, gzip, body });
    const answer = url === REPLAY_ENDPOINT ? answers[Math.min(call++, answers.length - 1)] : 202;
    if (answer === 'network') throw new TypeError('Failed to fetch');
    const spec = typeof answer === 'number' ? { status: answer } : answer;
    const headers = new Headers(spec.retryAfter ? { 'Retry-After': spec.retryAfter } : {});
    return { status: spec.status, headers } as Response;
  });
  vi.stubGlobal('fetch', fetch);
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: vi.fn((url: string, data: Blob) => {
      if (!beaconOk) return false;
      const entry = { url, type: data.type, bytes: data.size, body: undefined as unknown };
      beacons.push(entry);
      void data.text().then((text) => (entry.body = JSON.parse(text)));
      return true;
    }),
  });
  return {
    requests,
    beacons,
    fetch,
    chunks: () => requests.filter((r) => r.url === REPLAY_ENDPOINT).map((r) => r.body as ReplayChunk),
    events: () => requests.filter((r) => r.url === ENDPOINT).flatMap((r) => r.body as TrackedEvent[]),
  };
}

export interface ReplayHarness extends Collector {
  tracker: Tracker;
  clock: { now: number };
}

/** The full tracker (heatmap, errors, lazily loaded replay) on a fake collector; the tracker's clock is `clock`. */
export function startTracker(config: Partial<Config> = {}, answers?: Answer[], beaconOk = true): ReplayHarness {
  const collector = stubCollector(answers, beaconOk);
  const clock = { now: T0 };
  const deps: Deps = { now: () => clock.now, random: () => 0.5, uuid: counterUuid };
  const tracker = init({ siteId: 'shop', endpoint: ENDPOINT, ...config }, deps);
  return { tracker, clock, ...collector };
}

/** Lets the replay module load and pending promises (compression, fetch answers, Blob reads) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    for (let j = 0; j < 10; j++) await Promise.resolve();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

export function resetReplay(): void {
  shutdown();
  localStorage.clear();
  sessionStorage.clear();
  history.replaceState(null, '', '/products?id=42');
  document.body.innerHTML = '';
  vi.useRealTimers();
  vi.unstubAllGlobals();
}
