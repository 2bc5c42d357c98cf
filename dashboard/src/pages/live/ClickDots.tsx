// Live clicks on one page, drawn where the heatmap counts them and fading in a few
// seconds, over the page's picture from its latest recording (the Heatmaps page's
// picture, when the token may read recordings) or a blank page of the same frame, with
// axes in page pixels. Points on fixed or sticky elements are drawn over the first
// screen (the dashed frame). The page is chosen in a picker; without a choice it is the
// busiest page of the recent events. One device at a time, as heatmaps are.
import { useEffect, useId, useReducer, useState } from 'react';
import { useClock } from '../../app/clock';
import { useAuth } from '../../auth/AuthProvider';
import type { ReceivedEvent } from '../../live/liveStream';
import type { LiveEvent } from '../../live/protocol';
import { formatCount } from '../../lib/format';
import { DEFAULT_CELL_HEIGHT_PX, fitScale, pageFrame } from '../heatmaps/geometry';
import { AXIS_HEIGHT_PX, AXIS_WIDTH_PX, PageAxes } from '../heatmaps/PageAxes';
import { PagePicture } from '../heatmaps/PagePicture';
import { usePagePicture } from '../heatmaps/usePagePicture';
import {
  type ClickDot,
  DOT_LIFETIME_MS,
  type PageActivity,
  clicksOn,
  deepestClickRow,
  estimatedPageSize,
  liveDots,
  onFrame,
  usualDevice,
} from './dotGeometry';
import './live.css';

/** What the page's picture needs (`heatmap/snapshot`): without both it is not asked for. */
export const PICTURE_PERMISSIONS = ['heatmaps:read', 'replay:read'];
const AXIS_RIGHT_PX = 24;
/** The panel's width before it is measured (and in tests, where nothing is laid out). */
const DEFAULT_PANEL_WIDTH = 640;

/** The width of an element, following its changes. */
function useElementWidth(element: HTMLElement | null): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    if (element === null) return undefined;
    setWidth(element.clientWidth);
    if (typeof ResizeObserver !== 'function') return undefined;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(entry.contentRect.width);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [element]);
  return width;
}

/** Re-renders when the oldest dot expires, so a quiet stream still clears its dots. */
function useExpiry(dots: ClickDot[]): void {
  const [, tick] = useReducer((count: number) => count + 1, 0);
  const clock = useClock();
  const oldest = dots.reduce((soonest, dot) => Math.min(soonest, dot.receivedAt), Number.POSITIVE_INFINITY);
  useEffect(() => {
    if (!Number.isFinite(oldest)) return undefined;
    const timer = setTimeout(tick, Math.max(50, oldest + DOT_LIFETIME_MS - clock().getTime()));
    return () => clearTimeout(timer);
  }, [oldest, clock]);
}

function Dot({ dot, scale }: { dot: ClickDot; scale: number }) {
  const shape =
    dot.layer === 'fixed'
      ? 'border-[3px] border-indigo-700 bg-white/60'
      : 'border-2 border-white bg-red-600 shadow';
  return (
    <span
      aria-hidden="true"
      data-layer={dot.layer}
      className={`live-dot absolute h-3.5 w-3.5 rounded-full ${shape}`}
      style={{ left: `${dot.leftPercent}%`, top: dot.topPx * scale }}
    />
  );
}

export interface ClickDotsProps {
  site: string;
  /** The recent events and clicks, newest first, already filtered. */
  events: LiveEvent[];
  clicks: ReceivedEvent[];
  /** The recent pages, busiest first. */
  pages: PageActivity[];
  /** The page chosen (the URL's `page`, or the page filter), or null to follow the busiest. */
  chosen: string | null;
  /** The page filter chooses the page: the picker cannot. */
  filteredByPage: boolean;
  /** The device filter, when set. */
  device: string | null;
  /** The dashboard's days (the picture is the latest whatever the days; the read takes them). */
  range: { from: string; to: string };
  onChoose(path: string | null): void;
}

export function ClickDots(props: ClickDotsProps) {
  const { site, events, clicks, pages, chosen, filteredByPage, range, onChoose } = props;
  const pickerId = useId();
  const noteId = useId();
  const clock = useClock();
  const { token } = useAuth();
  const [panel, setPanel] = useState<HTMLElement | null>(null);
  const panelWidth = useElementWidth(panel) || DEFAULT_PANEL_WIDTH;

  const busiest = pages[0]?.path ?? null;
  const path = chosen ?? busiest;
  const device = props.device ?? (path === null ? 'desktop' : usualDevice(events, path, 'desktop'));
  const pictureAllowed = PICTURE_PERMISSIONS.every((name) => token?.claims.permissions.includes(name));
  const picture = usePagePicture({ site, path: pictureAllowed ? path : null, device, ...range });
  const pageClicks = path === null ? [] : clicksOn(clicks, path, device);
  const dots = liveDots(pageClicks, clock().getTime());
  useExpiry(dots);

  const frame = pageFrame({
    picture: picture.state === 'shown' ? picture.size : estimatedPageSize(pageClicks, device),
    device,
    cellHeight: DEFAULT_CELL_HEIGHT_PX,
    deepestRow: deepestClickRow(pageClicks),
  });
  const scale = fitScale(frame.width, panelWidth - AXIS_WIDTH_PX - AXIS_RIGHT_PX - 2);
  const drawn = dots.filter((dot) => onFrame(dot, frame));
  const onPage = drawn.filter((dot) => dot.layer === 'document').length;
  const onFixed = drawn.length - onPage;
  const seconds = DOT_LIFETIME_MS / 1000;
  const options =
    chosen !== null && !pages.some((page) => page.path === chosen) ? [{ path: chosen, events: 0 }, ...pages] : pages;

  let pictureNote: string;
  if (!pictureAllowed) {
    pictureNote = 'Drawn over a blank page: the page’s picture comes from recordings, which need heatmaps:read and replay:read.';
  } else if (picture.state === 'loading') {
    pictureNote = 'Loading the page’s picture…';
  } else if (picture.state === 'none') {
    pictureNote = `${picture.reason} Drawn over a blank page.`;
  } else {
    pictureNote = 'Drawn over the page as its latest recording captured it.';
  }

  return (
    <section aria-labelledby="live-clicks-title" className="flex min-w-0 flex-col gap-3">
      <div className="flex flex-wrap items-center gap-3">
        <h2 id="live-clicks-title" className="text-lg font-semibold">
          Clicks
        </h2>
        <label htmlFor={pickerId} className="text-sm">
          Page
        </label>
        <select
          id={pickerId}
          className="max-w-72 rounded-md border border-slate-400 bg-white px-2 py-1 text-sm"
          value={chosen ?? ''}
          disabled={filteredByPage}
          aria-describedby={filteredByPage ? noteId : undefined}
          onChange={(event) => onChoose(event.target.value === '' ? null : event.target.value)}
        >
          <option value="">{busiest === null ? 'The busiest page' : `The busiest page (${busiest})`}</option>
          {options.map((page) => (
            <option key={page.path} value={page.path}>
              {page.path} ({formatCount(page.events)} recent events)
            </option>
          ))}
        </select>
        {filteredByPage ? (
          <span id={noteId} className="text-sm text-slate-700">
            (chosen by the page filter)
          </span>
        ) : null}
      </div>
      {path === null ? (
        <p className="text-sm text-slate-700">No page yet: choose one, or wait for the first events.</p>
      ) : (
        <div ref={setPanel} className="flex min-w-0 flex-col gap-2">
          <p className="text-sm text-slate-800">
            <strong className="font-semibold">
              {formatCount(onPage)} {onPage === 1 ? 'click' : 'clicks'}
            </strong>{' '}
            on <code>{path}</code> and {formatCount(onFixed)} on fixed elements in the last {seconds} seconds, from{' '}
            {device}
            {props.device === null ? ' (the device most of its recent events came from; filter by device for another)' : ''}.
          </p>
          <p className="text-sm text-slate-700">{pictureNote}</p>
          <ul className="flex flex-wrap gap-4 text-sm text-slate-700">
            <li className="flex items-center gap-1.5">
              <span aria-hidden="true" className="inline-block h-3 w-3 rounded-full border-2 border-white bg-red-600 shadow" />
              a click on the page
            </li>
            <li className="flex items-center gap-1.5">
              <span aria-hidden="true" className="inline-block h-3 w-3 rounded-full border-[3px] border-indigo-700" />
              a click on a fixed or sticky element, over the first screen (dashed)
            </li>
          </ul>
          <div
            // Scrolls on its own: reachable by keyboard to scroll down a long page.
            tabIndex={0}
            role="region"
            aria-label={`The page ${path}`}
            className="max-h-[40rem] overflow-auto"
          >
            <div
              className="relative"
              // Room for the axis' labels, half of "100 %" included.
              style={{ paddingLeft: AXIS_WIDTH_PX, paddingTop: AXIS_HEIGHT_PX, paddingRight: AXIS_RIGHT_PX }}
            >
              <PageAxes width={frame.width} height={frame.height} scale={scale} />
              <div
                role="img"
                aria-label={`Live clicks on ${path} (${device}): ${onPage} on the page and ${onFixed} on fixed elements in the last ${seconds} seconds`}
                className="relative overflow-hidden border border-slate-300 bg-slate-50"
                style={{ width: frame.width * scale, height: frame.height * scale }}
              >
                {picture.state === 'shown' ? (
                  <PagePicture
                    picture={picture.events}
                    scale={scale}
                    onPageHeight={picture.onPageHeight}
                    onFailed={picture.onFailed}
                  />
                ) : null}
                <div
                  aria-hidden="true"
                  className="pointer-events-none absolute top-0 left-0 border-2 border-dashed border-indigo-900/70"
                  style={{ width: frame.width * scale, height: frame.viewportHeight * scale }}
                />
                {drawn.map((dot) => (
                  <Dot key={dot.id} dot={dot} scale={scale} />
                ))}
              </div>
            </div>
          </div>
        </div>
      )}
    </section>
  );
}
