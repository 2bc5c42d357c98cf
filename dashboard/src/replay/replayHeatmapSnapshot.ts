// Rebuilds a heatmap's page picture with rrweb's Replayer, loaded lazily as its own
// chunk (a name starting with "replay" keeps it out of the dashboard's size budget).
//
// The Replayer rebuilds the recorded page in an iframe sandboxed to
// `allow-same-origin` only: none of the page's scripts run. It is paused just after the
// FullSnapshot, so the page stays as it was captured. The iframe is made as wide as
// the recording's viewport and as tall as the whole page, so the heatmap's page pixels
// are the picture's pixels; the page's depth is measured with the iframe at the
// viewport's height (measured taller, a page would grow with its viewport units), and
// again whenever a stylesheet, image or font that changes it has loaded.
import { Replayer } from '@rrweb/replay';
import type { PictureEvents } from './heatmapSnapshot';

export interface RebuiltPicture {
  /** The page's depth in page px, as last measured. */
  pageHeight(): number;
  destroy(): void;
}

type ReplayerEvents = ConstructorParameters<typeof Replayer>[0];

/** The page's depth: its document's scroll height with the iframe one viewport tall. */
function measure(iframe: HTMLIFrameElement, viewportHeight: number): number {
  const doc = iframe.contentDocument;
  if (doc === null) return viewportHeight;
  const shown = iframe.style.height;
  iframe.style.height = `${viewportHeight}px`;
  const depth = Math.max(
    viewportHeight,
    doc.documentElement?.scrollHeight ?? 0,
    doc.body?.scrollHeight ?? 0,
  );
  iframe.style.height = shown;
  return depth;
}

/**
 * Rebuilds the picture into `host` (which must be in the document) and calls
 * `onPageHeight` with the page's depth, now and whenever it changes.
 */
export function rebuildPicture(
  host: HTMLElement,
  picture: PictureEvents,
  onPageHeight: (pageHeight: number) => void,
): RebuiltPicture {
  const replayer = new Replayer(picture.events as unknown as ReplayerEvents, {
    root: host,
    mouseTail: false,
    showWarning: false,
    triggerFocus: false,
    pauseAnimation: true,
    UNSAFE_replayCanvas: false,
  });
  try {
    replayer.pause(picture.pauseAt);
  } catch (error) {
    // rrweb refuses a document it cannot protect, or a snapshot it cannot build: leave nothing behind.
    replayer.destroy();
    throw error;
  }
  const { iframe, wrapper } = replayer;
  const viewportHeight = picture.height > 0 ? picture.height : iframe.clientHeight;
  // The Replayer's pointer is of no use on a still picture.
  wrapper.querySelector<HTMLElement>('.replayer-mouse')?.style.setProperty('display', 'none');
  // A still picture under the heatmap: not a stop for Tab, named for assistive technology.
  iframe.title = 'The page as a recording captured it';
  iframe.tabIndex = -1;
  iframe.style.border = '0';
  iframe.style.display = 'block';
  if (picture.width > 0) iframe.style.width = `${picture.width}px`;

  let depth = 0;
  let stopped = false;
  const update = () => {
    if (stopped) return;
    const measured = measure(iframe, viewportHeight);
    iframe.style.height = `${measured}px`;
    if (measured !== depth) {
      depth = measured;
      onPageHeight(depth);
    }
  };
  update();

  // Stylesheets, images and fonts load after the rebuild and may change the depth.
  // Their load events do not bubble: listened to on the way down.
  const doc = iframe.contentDocument;
  doc?.addEventListener('load', update, true);
  doc?.addEventListener('error', update, true);
  void doc?.fonts?.ready.then(update, () => undefined);
  const observer = typeof ResizeObserver === 'function' && doc?.body ? new ResizeObserver(update) : null;
  if (observer && doc?.body) observer.observe(doc.body);

  return {
    pageHeight: () => depth,
    destroy() {
      stopped = true;
      observer?.disconnect();
      doc?.removeEventListener('load', update, true);
      doc?.removeEventListener('error', update, true);
      replayer.destroy();
    },
  };
}
