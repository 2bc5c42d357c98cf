import type { Config } from './config';

/** Settings from a script tag's data-* attributes: data-site-id, data-flush-size, data-heatmaps="false", data-replay, ... */
export function fromAttributes(data: DOMStringMap): Partial<Config> {
  const config: Record<string, unknown> = {};
  const names: Record<string, string> = { heatmaps: 'enableHeatmaps', errors: 'enableErrors', replay: 'enableReplay', respectDnt: 'respectDoNotTrack' };
  for (const key of Object.keys(data)) config[names[key] || key] = data[key];
  if (typeof config.propsAllowList === 'string') {
    config.propsAllowList = config.propsAllowList.split(',').map((s) => s.trim()).filter(Boolean);
  }
  return config as Partial<Config>;
}
