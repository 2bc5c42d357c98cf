/**
 * The full tracker: the core plus the heatmap and errors modules. Import
 * `@insightlite/sdk/core` (and the modules you want) to ship less.
 */
import { type Config, init as initCore, type Tracker } from './core';
import type { Deps } from './types';
import { errors } from './errors';
import { heatmap } from './heatmap';

export * from './core';
export { errors } from './errors';
export { heatmap } from './heatmap';
export { IGNORE_ATTRIBUTE } from './privacy';

/** Starts tracking with every capture module unless `plugins` says otherwise. */
export function init(config: Config, deps?: Deps): Tracker {
  return initCore({ ...config, plugins: config.plugins || [heatmap, errors] }, deps);
}
