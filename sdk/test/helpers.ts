import { vi } from 'vitest';
import { type Config, shutdown, type Tracker } from '../src/core';
import { init } from '../src/index';
import type { Deps, TrackedEvent } from '../src/types';

export const ENDPOINT = 'https://collect.example.com/ingest';

export interface Harness {
  tracker: Tracker;
  clock: { now: number };
  /** Bodies of the fetch requests, parsed. */
  posts: TrackedEvent[][];
  /** Bodies of the beacons, parsed. */
  beacons: TrackedEvent[][];
  beaconTypes: string[];
  fetch: ReturnType<typeof vi.fn>;
  events(): TrackedEvent[];
}

let counter = 0;

/** Deterministic ids: a valid v4 UUID from a counter. */
export function counterUuid(): string {
  counter += 1;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

/** Answers for the fake collector, one per request in order; the last repeats. */
export type Answer = number | 'network' | { status: number; retryAfter?: string };

export function stubNetwork(answers: Answer[] = [202], beaconOk = true) {
  const posts: TrackedEvent[][] = [];
  const beacons: TrackedEvent[][] = [];
  const beaconTypes: string[] = [];
  let call = 0;
  const fetch = vi.fn(async (_url: string, init: RequestInit) => {
    const answer = answers[Math.min(call++, answers.length - 1)];
    posts.push(JSON.parse(String(init.body)));
    if (answer === 'network') throw new TypeError('Failed to fetch');
    const spec = typeof answer === 'number' ? { status: answer } : answer;
    const headers = new Headers(spec.retryAfter ? { 'Retry-After': spec.retryAfter } : {});
    return { status: spec.status, headers } as Response;
  });
  vi.stubGlobal('fetch', fetch);
  Object.defineProperty(navigator, 'sendBeacon', {
    configurable: true,
    value: vi.fn((_url: string, data: Blob) => {
      if (!beaconOk) return false;
      beaconTypes.push(data.type);
      // Blob.text() is async; the test reads beacons after awaiting settle().
      void data.text().then((text) => beacons.push(JSON.parse(text)));
      return true;
    }),
  });
  return { posts, beacons, beaconTypes, fetch };
}

export function start(config: Partial<Config> = {}, answers?: Answer[], beaconOk = true): Harness {
  const net = stubNetwork(answers, beaconOk);
  const clock = { now: Date.UTC(2026, 10, 25, 12, 0, 0) };
  const deps: Deps = { now: () => clock.now, random: () => 0.5, uuid: counterUuid };
  const tracker = init({ siteId: 'shop', endpoint: ENDPOINT, ...config }, deps);
  return { tracker, clock, ...net, events: () => [...net.posts.flat(), ...net.beacons.flat()] };
}

/** Lets pending promises (fetch answers, Blob reads) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await Promise.resolve();
  await new Promise((resolve) => setTimeout(resolve, 0));
}

export function reset(): void {
  shutdown();
  localStorage.clear();
  sessionStorage.clear();
  history.replaceState(null, '', '/products?id=42');
  document.body.innerHTML = '';
  vi.useRealTimers();
}
