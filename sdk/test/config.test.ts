import { describe, expect, it } from 'vitest';
import { ConfigError, resolveConfig, type Config } from '../src/config';

const base = { siteId: 'shop', endpoint: 'https://c.example.com/ingest' };

describe('config', () => {
  it('fills in the documented defaults', () => {
    expect(resolveConfig(base)).toMatchObject({
      sampleRate: 1,
      flushInterval: 5000,
      flushSize: 20,
      maxRetries: 5,
      enableHeatmaps: true,
      enableErrors: true,
      privacyMode: 'balanced',
      respectDoNotTrack: true,
      propsAllowList: [],
      maxQueueSize: 1000,
    });
  });

  it('resolves a relative endpoint and reads attribute strings', () => {
    const config = resolveConfig(
      { ...base, endpoint: '/ingest', sampleRate: '0.5', flushSize: '10', enableErrors: 'false' } as unknown as Config,
      'https://shop.example.com/a/b',
    );
    expect(config).toMatchObject({ endpoint: 'https://shop.example.com/ingest', sampleRate: 0.5, flushSize: 10, enableErrors: false });
  });

  it.each([
    ['siteId', { siteId: 'has space' }],
    ['siteId', { siteId: '' }],
    ['endpoint', { endpoint: 'ftp://c.example.com' }],
    ['endpoint', { endpoint: 'http://[bad' }],
    ['sampleRate', { sampleRate: 1.5 }],
    ['flushInterval', { flushInterval: -1 }],
    ['flushSize', { flushSize: 501 }],
    ['flushSize', { flushSize: 2.5 }],
    ['maxRetries', { maxRetries: 'many' }],
    ['privacyMode', { privacyMode: 'paranoid' }],
    ['enableHeatmaps', { enableHeatmaps: 'yes' }],
    ['propsAllowList', { propsAllowList: 'plan' }],
  ])('names the bad setting %s', (setting, bad) => {
    expect(() => resolveConfig({ ...base, ...bad } as unknown as Config)).toThrowError(ConfigError);
    expect(() => resolveConfig({ ...base, ...bad } as unknown as Config)).toThrowError(`insightlite: ${setting}:`);
  });
});
