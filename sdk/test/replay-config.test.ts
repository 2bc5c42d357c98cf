import { describe, expect, it } from 'vitest';
import { fromAttributes } from '../src/attributes';
import { type Config, ConfigError, resolveConfig } from '../src/config';
import { replaySampled, sampled } from '../src/session';
import { counterUuid } from './helpers';

const base = { siteId: 'shop', endpoint: 'https://c.example.com/ingest' };

describe('replay settings', () => {
  it('default to off, every session, 2 s, and the collector beside the endpoint', () => {
    expect(resolveConfig(base)).toMatchObject({
      enableReplay: false,
      replaySampleRate: 1,
      replayMinDurationMs: 2000,
      replayEndpoint: 'https://c.example.com/replay',
    });
  });

  it('put the replay endpoint in place of the endpoint last path segment', () => {
    const at = (endpoint: string, page?: string): string => resolveConfig({ ...base, endpoint }, page).replayEndpoint;
    expect(at('https://c.example.com/v1/ingest?key=abc')).toBe('https://c.example.com/v1/replay');
    expect(at('https://c.example.com/')).toBe('https://c.example.com/replay');
    expect(at('/ingest', 'https://shop.example.com/a/b')).toBe('https://shop.example.com/replay');
  });

  it('take a replay endpoint of their own, relative to the page', () => {
    const config = resolveConfig({ ...base, replayEndpoint: '/rec' }, 'https://shop.example.com/a/b');
    expect(config.replayEndpoint).toBe('https://shop.example.com/rec');
  });

  it('read data attribute strings', () => {
    const tag = document.createElement('script');
    tag.setAttribute('data-replay', 'true');
    tag.setAttribute('data-replay-sample-rate', '0.25');
    tag.setAttribute('data-replay-min-duration-ms', '5000');
    tag.setAttribute('data-replay-endpoint', 'https://r.example.com/replay');
    const config = resolveConfig({ ...base, ...fromAttributes(tag.dataset) } as Config);
    expect(config).toMatchObject({ enableReplay: true, replaySampleRate: 0.25, replayMinDurationMs: 5000, replayEndpoint: 'https://r.example.com/replay' });
  });

  it.each([
    ['enableReplay', { enableReplay: 'yes' }],
    ['replaySampleRate', { replaySampleRate: 1.5 }],
    ['replaySampleRate', { replaySampleRate: -0.1 }],
    ['replaySampleRate', { replaySampleRate: 'half' }],
    ['replaySampleRate', { replaySampleRate: NaN }],
    ['replayMinDurationMs', { replayMinDurationMs: -1 }],
    ['replayMinDurationMs', { replayMinDurationMs: 2.5 }],
    ['replayMinDurationMs', { replayMinDurationMs: 60_001 }],
    ['replayEndpoint', { replayEndpoint: 'ftp://c.example.com/replay' }],
    ['replayEndpoint', { replayEndpoint: 'http://[bad' }],
  ])('names the bad setting %s', (setting, bad) => {
    const resolve = (): unknown => resolveConfig({ ...base, ...bad } as unknown as Config);
    expect(resolve).toThrowError(ConfigError);
    expect(resolve).toThrowError(`insightlite: ${setting}:`);
  });

  it('accept the edges', () => {
    expect(resolveConfig({ ...base, replaySampleRate: 0, replayMinDurationMs: 0 })).toMatchObject({ replaySampleRate: 0, replayMinDurationMs: 0 });
    expect(resolveConfig({ ...base, replaySampleRate: 1, replayMinDurationMs: 60_000 })).toMatchObject({ replaySampleRate: 1, replayMinDurationMs: 60_000 });
  });
});

describe('replay sampling', () => {
  const ids = Array.from({ length: 4000 }, counterUuid);

  it('is decided by the session id alone', () => {
    const kept = ids.filter((id) => replaySampled(id, 0.25));
    expect(kept.length).toBeGreaterThan(800);
    expect(kept.length).toBeLessThan(1200);
    expect(ids.filter((id) => replaySampled(id, 0.25))).toEqual(kept);
  });

  it('keeps every session at 1 and none at 0', () => {
    expect(ids.every((id) => replaySampled(id, 1))).toBe(true);
    expect(ids.some((id) => replaySampled(id, 0))).toBe(false);
  });

  it('is independent of the events sampling', () => {
    const events = new Set(ids.filter((id) => sampled(id, 0.5)));
    const recorded = ids.filter((id) => replaySampled(id, 0.5));
    const both = recorded.filter((id) => events.has(id)).length;
    // Independent draws: about a quarter of the sessions are in both samples, not half.
    expect(both / ids.length).toBeGreaterThan(0.22);
    expect(both / ids.length).toBeLessThan(0.28);
    // And a recorded session is no likelier to be tracked at a small rate either.
    const few = ids.filter((id) => replaySampled(id, 0.1));
    const fewTracked = few.filter((id) => sampled(id, 0.1)).length;
    expect(fewTracked / few.length).toBeLessThan(0.2);
  });
});
