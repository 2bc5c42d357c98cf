/**
 * The <script src> and Tag Manager build: settings from the tag's data-*
 * attributes (or window.insightliteConfig), the API on window.insightlite, and
 * calls queued before the script loaded (window.insightliteQ) replayed.
 */
import type { Config } from './config';
import { fromAttributes } from './attributes';
import { flush, identify, init, optIn, optOut, startReplay, stats, stopReplay, track } from './core';
import { errors } from './errors';
import { heatmap } from './heatmap';
import { lazyReplay, scriptLoader } from './replay-loader';

type Call = [string, ...unknown[]];
type Host = Window & { insightliteConfig?: Partial<Config>; insightliteQ?: Call[]; insightlite?: unknown };

const api = { track, identify, flush, optOut, optIn, stats, startReplay, stopReplay };

const w = window as Host;
const tag = document.currentScript as HTMLScriptElement | null;
try {
  const config = { ...w.insightliteConfig, ...(tag ? fromAttributes(tag.dataset) : {}) } as Config;
  // Default endpoint: the collector that served this script.
  if (!config.endpoint && tag && tag.src) config.endpoint = new URL('/ingest', tag.src).href;
  init({ ...config, plugins: config.plugins || [heatmap, errors, lazyReplay(scriptLoader(tag))] });
  const run = ([method, ...args]: Call): void => {
    const fn = (api as Record<string, (...a: unknown[]) => unknown>)[method];
    if (fn) fn(...args);
  };
  (w.insightliteQ || []).forEach(run);
  // Later pushes (e.g. from Tag Manager tags) run at once.
  w.insightliteQ = { push: run } as unknown as Call[];
  w.insightlite = api;
} catch (error) {
  // A bad setting must not break the page: say which one, and stay inert.
  console.error(error instanceof Error ? error.message : error);
}
