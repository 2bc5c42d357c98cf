import type { Plugin, PluginHost, ReplayHooks } from './config';
import { OPT_OUT_KEY } from './core';
import { replaySampled } from './session';
import { load as loadKey } from './util';

/** What the replay module (src/replay.ts, or its <script> build) gives the loader. */
export interface ReplayModule {
  createRecorder(host: PluginHost): ReplayHooks;
}

/** The replay module's <script> build: its file, beside the tracker's, and where it puts itself. */
export const REPLAY_SCRIPT = 'insightlite-replay.min.js';
export const REPLAY_GLOBAL = 'insightliteReplay';

type WithReplay = Window & { [REPLAY_GLOBAL]?: ReplayModule };

/**
 * Loads the replay module's <script> build from the folder of the tracker's
 * own script `tag`, with the tag's nonce (a Content-Security-Policy that let
 * the tracker run lets the module run too).
 */
export function scriptLoader(tag: HTMLScriptElement | null): () => Promise<ReplayModule> {
  return () =>
    new Promise((resolve, reject) => {
      if (!tag || !tag.src) return reject(new Error('insightlite: replay needs the tracker loaded by <script src>'));
      const script = document.createElement('script');
      script.src = new URL(REPLAY_SCRIPT, tag.src).href;
      script.async = true;
      script.nonce = tag.nonce;
      script.onload = () => {
        const module = (window as WithReplay)[REPLAY_GLOBAL];
        if (module) resolve(module);
        else reject(new Error('insightlite: the replay module did not load'));
      };
      script.onerror = reject;
      document.head.appendChild(script);
    });
}

/**
 * The replay plugin: sets the tracker's `replay` hooks, and loads the recorder
 * (rrweb, tens of KB) only when a session is to be recorded: `enableReplay`
 * and sampled in by `replaySampleRate` (decided again for each new session),
 * or `startReplay()`, which overrules the sampling until `stopReplay()`.
 * Calls made while it loads run in order once it is there; if it cannot load,
 * there is no recording and nothing else changes.
 */
export function lazyReplay(load: () => Promise<ReplayModule>): Plugin {
  return (host) => {
    let loading: Promise<ReplayHooks | undefined> | undefined;
    let recorder: ReplayHooks | undefined;
    // startReplay() / stopReplay(), over the sampling; a visitor who opted out is not recorded
    // (the tracker read the same key; later opt-outs stop the recorder through the hooks).
    let forced: boolean | undefined = loadKey('localStorage', OPT_OUT_KEY) === '1' ? false : undefined;
    let session = host.session();
    const wanted = (): boolean =>
      forced !== undefined ? forced : host.config.enableReplay && replaySampled(session, host.config.replaySampleRate);
    // A failure in the recorder must not surface as one of the page's unhandled rejections.
    const later = (call: (r: ReplayHooks) => unknown): void => {
      if (loading) loading.then((r) => r && call(r)).catch(() => undefined);
    };
    const apply = (): void => {
      if (wanted()) {
        loading ||= load().then(
          (module) => (recorder = module.createRecorder(host)),
          () => undefined,
        );
        later((r) => r.start());
      } else later((r) => r.stop());
    };
    const hooks: ReplayHooks = {
      start() {
        forced = true;
        apply();
      },
      stop(forget) {
        forced = false;
        later((r) => r.stop(forget));
      },
      event(event) {
        if (event.session_id !== session) {
          session = event.session_id;
          // Stop, or load and start, before the recorder sees the new session.
          if (forced === undefined) apply();
        }
        later((r) => r.event(event));
      },
      mark(tag, payload) {
        later((r) => r.mark(tag, payload));
      },
      flush: () => (loading ? loading.then((r) => r && r.flush()) : Promise.resolve()),
      stats: () => recorder && recorder.stats(),
      destroy() {
        later((r) => r.destroy());
      },
    };
    host.replay = hooks;
    apply();
    return () => {
      hooks.destroy();
      if (host.replay === hooks) host.replay = undefined;
    };
  };
}
