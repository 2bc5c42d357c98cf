import { type Config, type PluginHost, type ReplayHooks, type ReplayStats, type ResolvedConfig, resolveConfig } from './config';
import { cleanProps, cleanUrl } from './privacy';
import { SessionStore, sampled } from './session';
import { Sender, type SenderStats } from './transport';
import type { Deps, EventFields, EventType, Props, TrackedEvent } from './types';
import { defaultDeps, load, save } from './util';

export type { Config, Plugin, PluginHost, ReplayHooks, ReplayStats, ResolvedConfig } from './config';
export { ConfigError } from './config';
export type Stats = SenderStats & { replay?: ReplayStats };
export type { Deps, ErrorDetails, EventType, PrivacyMode, Props, TrackedEvent } from './types';

export const OPT_OUT_KEY = 'insightlite.optout';

function doNotTrack(): boolean {
  const n = navigator as Navigator & { globalPrivacyControl?: boolean };
  return n.doNotTrack === '1' || n.globalPrivacyControl === true;
}

/**
 * One tracker per page: page views (SPA navigations included), custom events,
 * and whatever its capture modules emit, batched to the collector.
 */
export class Tracker implements PluginHost {
  readonly config: ResolvedConfig;
  pageviews = 0;
  replay?: ReplayHooks;
  private readonly _sessions: SessionStore;
  private readonly _sender: Sender;
  private readonly _teardown: Array<() => void> = [];
  private _lastPage = '';
  private _lastUrl = '';
  private _disabled: boolean;
  private _optedOut = load('localStorage', OPT_OUT_KEY) === '1';

  constructor(config: Config, readonly deps: Deps = defaultDeps) {
    this.config = resolveConfig(config, location.href);
    this._sessions = new SessionStore(deps.uuid);
    this._sender = new Sender(this.config, deps);
    this._disabled = this.config.respectDoNotTrack && doNotTrack();
    if (this._disabled || this._optedOut) this._sender.stop(); // not even what an earlier page stored
    if (this._disabled) return;
    this._pageview(document.referrer);
    this._watchNavigation();
    this._listen(window, 'pagehide', () => this._sender.beacon());
    this._listen(document, 'visibilitychange', () => {
      if (document.visibilityState === 'hidden') this._sender.beacon();
    });
    for (const plugin of this.config.plugins) {
      const stop = plugin(this);
      if (stop) this._teardown.push(stop);
    }
  }

  session(): string {
    return this._sessions.touch(this.deps.now()).id;
  }

  /** Records the session from now on, whatever replaySampleRate said (needs the replay plugin). */
  startReplay(): void {
    if (!this._disabled && !this._optedOut && this.replay) this.replay.start();
  }

  /** Stops recording; `forget` also drops what was recorded and not sent yet. */
  stopReplay(forget?: boolean): void {
    if (this.replay) this.replay.stop(forget);
  }

  /** A custom event; props pass through the privacy mode. */
  track(name: string, props?: Props): void {
    const clean = String(name).slice(0, 128);
    if (clean) this._record('custom', { name: clean, props: cleanProps(props, this.config.privacyMode, this.config.propsAllowList) });
  }

  /** Traits of the visitor, sent as a custom event named "identify" (strict mode sends none). */
  identify(traits: Props): void {
    // Outside strict mode track() masks props as identify should (the allow-list is strict's alone).
    this.track('identify', this.config.privacyMode === 'strict' ? undefined : traits);
  }

  emit(type: 'click' | 'move' | 'scroll' | 'error', fields: EventFields): void {
    this._record(type, fields);
  }

  flush(): Promise<void> {
    return Promise.all([this._sender.flush(), this.replay && this.replay.flush()]).then(() => undefined);
  }

  /** Stops tracking (and recording) on this device, remembered in localStorage; forgets what is queued. */
  optOut(): void {
    save('localStorage', OPT_OUT_KEY, '1');
    this._optedOut = true;
    this._sender.clear();
    this.stopReplay(true);
  }

  optIn(): void {
    save('localStorage', OPT_OUT_KEY, null);
    this._optedOut = false;
    if (!this._disabled) this._sender.resume();
  }

  stats(): Stats {
    return { ...this._sender.stats, queued: this._sender.queued, replay: this.replay && this.replay.stats() };
  }

  /** Removes every listener and restores the history API; queued events are beaconed. */
  destroy(): void {
    this._sender.beacon();
    this._sender.stop();
    this._teardown.splice(0).forEach((stop) => stop());
    this._disabled = true;
  }

  private _record(type: EventType, fields: EventFields): void {
    if (this._disabled || this._optedOut) return;
    const ts = this.deps.now();
    const sessionId = this._sessions.touch(ts).id;
    const event: TrackedEvent = {
      v: 1,
      event_id: this.deps.uuid(),
      site_id: this.config.siteId,
      session_id: sessionId,
      type,
      ts,
      url: this._lastUrl,
      ...fields, // undefined ones are left out of the JSON
    };
    // The recording follows every session, sampled for events or not (its own replaySampleRate).
    if (this.replay) this.replay.event(event);
    if (sampled(sessionId, this.config.sampleRate)) this._sender.add(event);
  }

  /** A page view when the path or query changed (hash-only changes are not new pages). */
  private _pageview(referrer: string): void {
    const page = location.pathname + location.search;
    if (page === this._lastPage) return;
    this._lastPage = page;
    this._lastUrl = cleanUrl(location.href, this.config.privacyMode);
    this.pageviews++;
    const ref = cleanUrl(referrer, this.config.privacyMode);
    this._record('pageview', { referrer: ref || undefined });
  }

  private _watchNavigation(): void {
    const onNavigate = (): void => this._pageview(this._lastUrl);
    for (const method of ['pushState', 'replaceState'] as const) {
      const original = history[method];
      history[method] = function (this: History, ...args: Parameters<History['pushState']>) {
        const result = original.apply(this, args);
        onNavigate();
        return result;
      };
      this._teardown.push(() => {
        history[method] = original;
      });
    }
    this._listen(window, 'popstate', onNavigate);
  }

  private _listen(target: EventTarget, type: string, handler: () => void): void {
    target.addEventListener(type, handler);
    this._teardown.push(() => target.removeEventListener(type, handler));
  }
}

let current: Tracker | undefined;

/** Starts tracking (once per page; a second call returns the running tracker). */
export function init(config: Config, deps?: Deps): Tracker {
  return (current ||= new Tracker(config, deps));
}

export function track(name: string, props?: Props): void {
  if (current) current.track(name, props);
}

export function identify(traits: Props): void {
  if (current) current.identify(traits);
}

export function flush(): Promise<void> {
  return current ? current.flush() : Promise.resolve();
}

export function optOut(): void {
  if (current) current.optOut();
  else save('localStorage', OPT_OUT_KEY, '1');
}

export function optIn(): void {
  if (current) current.optIn();
  else save('localStorage', OPT_OUT_KEY, null);
}

export function stats(): Stats | undefined {
  return current && current.stats();
}

/** Records the session from now on (see Tracker.startReplay). */
export function startReplay(): void {
  if (current) current.startReplay();
}

export function stopReplay(): void {
  if (current) current.stopReplay();
}

/** Stops the running tracker, e.g. between tests or before a re-init with other settings. */
export function shutdown(): void {
  if (current) current.destroy();
  current = undefined;
}
