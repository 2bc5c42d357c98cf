/**
 * The full tracker: the core plus the heatmap, errors and replay modules (the
 * replay recorder itself is a chunk of its own, loaded only for sessions that
 * are recorded). Import `@insightlite/sdk/core` (and the modules you want) to
 * ship less.
 */
import { type Config, init as initCore, type Tracker } from './core';
import type { Deps } from './types';
import { errors } from './errors';
import { heatmap } from './heatmap';
import { lazyReplay } from './replay-loader';

export * from './core';
export { errors } from './errors';
export { heatmap } from './heatmap';
export { lazyReplay, type ReplayModule } from './replay-loader';
export { BLOCK_ATTRIBUTE, IGNORE_ATTRIBUTE, MASK_ATTRIBUTE } from './privacy';

/** Session replay, with the recorder loaded on demand: `import('./replay')` is a chunk of its own. */
export const replay = /* @__PURE__ */ lazyReplay(() => import('./replay'));

/** Starts tracking with every capture module unless `plugins` says otherwise. */
export function init(config: Config, deps?: Deps): Tracker {
  return initCore({ ...config, plugins: config.plugins || [heatmap, errors, replay] }, deps);
}
