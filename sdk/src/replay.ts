/**
 * Session replay: rrweb's recorder, masked by the tracker's privacy mode, cut
 * into chunks of the replay-chunk contract and sent to the collector's replay
 * endpoint. The tracker loads this module only for sessions it records
 * (`enableReplay` and `replaySampleRate`, or `startReplay()`).
 */
import { record } from '@rrweb/record';
import { PAGEVIEW_TAG, type PluginHost, type ReplayHooks, type ReplayStats } from './config';
import { cleanUrl } from './privacy';
import { ChunkSender, type RecordedEvent } from './replay-chunks';
import { type RecordOptions, recordOptions } from './replay-options';
import type { TrackedEvent } from './types';

export { CHUNK_BYTES, type ReplayChunk, type RecordedEvent } from './replay-chunks';
export { maskReplayText, type RecordOptions, recordOptions } from './replay-options';
export { ERROR_TAG, PAGEVIEW_TAG } from './config';

/** rrweb's record function, as this module uses it. */
export interface RecordFn {
  (options: RecordOptions): (() => void) | undefined;
  takeFullSnapshot(isCheckout?: boolean): void;
}

/** rrweb's EventType: Meta carries the page's address, Custom our markers. */
const META = 4;
const CUSTOM = 5;

class Recorder implements ReplayHooks {
  private readonly _chunks: ChunkSender;
  private _stopRecording: (() => void) | undefined;
  private _session = '';
  private _page: string | undefined; // the last page marked in this recording
  private readonly _onPageHide = (): void => this._chunks.beacon(true);
  private readonly _onVisibility = (): void => {
    if (document.visibilityState === 'hidden') this._chunks.beacon(false);
  };

  constructor(
    private readonly _host: PluginHost,
    private readonly _record: RecordFn,
  ) {
    this._chunks = new ChunkSender(_host.config, _host.deps);
    window.addEventListener('pagehide', this._onPageHide);
    document.addEventListener('visibilitychange', this._onVisibility);
  }

  start(): void {
    if (this._stopRecording) return;
    this._begin(this._host.session());
    try {
      this._stopRecording = this._record({ ...recordOptions(this._host.config.privacyMode), emit: (event) => this._add(event) });
    } catch {
      this._stopRecording = undefined; // a page rrweb cannot record: no recording, and no broken page
    }
    this._chunks.stats.recording = !!this._stopRecording;
    this._markPage(cleanUrl(location.href, this._host.config.privacyMode));
  }

  stop(forget?: boolean): void {
    this._halt();
    if (forget) this._chunks.clear();
    else void this._chunks.flush();
  }

  event(event: TrackedEvent): void {
    if (event.session_id !== this._session) {
      // The tracker's session rotated (30 minutes idle): a new recording under the new id.
      this._begin(event.session_id);
      if (this._stopRecording) {
        try {
          this._record.takeFullSnapshot(true);
        } catch {
          /* the page has not loaded yet: rrweb takes its first snapshot then */
        }
        this._markPage(event.url);
      }
    }
    if (event.type === 'pageview') this._markPage(event.url);
  }

  mark(tag: string, payload: Record<string, unknown>): void {
    // Added here rather than by rrweb's addCustomEvent, which throws until the page has loaded;
    // Date.now() as rrweb stamps its own events, so that the markers fall in place.
    if (this._stopRecording) this._add({ type: CUSTOM, data: { tag, payload }, timestamp: Date.now() });
  }

  flush(): Promise<void> {
    return this._chunks.flush();
  }

  stats(): ReplayStats {
    return { ...this._chunks.stats };
  }

  destroy(): void {
    this._halt();
    this._chunks.beacon(true);
    window.removeEventListener('pagehide', this._onPageHide);
    document.removeEventListener('visibilitychange', this._onVisibility);
  }

  private _halt(): void {
    if (this._stopRecording) this._stopRecording();
    this._stopRecording = undefined;
    this._chunks.stats.recording = false;
  }

  private _begin(session: string): void {
    this._session = session;
    this._page = undefined;
    this._chunks.begin(session);
  }

  private _markPage(url: string): void {
    if (url === this._page) return; // the recording's first view, or a rotation on a page view
    this._page = url;
    this.mark(PAGEVIEW_TAG, { url });
  }

  private _add(event: RecordedEvent): void {
    const data = event.data as { href?: unknown } | undefined;
    // The page address leaves as the tracker's privacy mode sends it.
    if (event.type === META && data && typeof data.href === 'string') data.href = cleanUrl(data.href, this._host.config.privacyMode);
    this._chunks.add(event);
  }
}

/**
 * The recorder for a tracker, which drives it through `host.replay` (see
 * lazyReplay, the plugin that loads this module). `rec` is rrweb's record.
 */
export function createRecorder(host: PluginHost, rec: RecordFn = record): ReplayHooks {
  return new Recorder(host, rec);
}

