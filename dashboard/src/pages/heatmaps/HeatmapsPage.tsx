// The heatmaps: where a page's visitors click, move and rage-click, drawn over a
// picture of the page from its latest recording, and how far down they scroll.
import { useEffect, useState } from 'react';
import { Link } from 'react-router';
import { useBreakdown } from '../../api/hooks';
import { usePageTitle } from '../../app/usePageTitle';
import { formatUtc } from '../../lib/dates';
import { sharedSearch } from '../../state/dashboardSearch';
import { useDashboard } from '../../state/useDashboard';
import { HeatmapControls } from './HeatmapControls';
import { NOMINAL_VIEWPORTS } from './geometry';
import { FIXED_HIDDEN, FIXED_PARAM, KIND_LABELS, TYPE_PARAM, heatmapRead, readHeatmapView } from './heatmapView';
import { HeatmapPanel } from './HeatmapPanel';
import { type PagePictureState, usePagePicture } from './usePagePicture';

/** Pages offered in the picker. */
export const PAGE_LIMIT = 100;
/** The panel's width before it is measured (and in tests, where nothing is laid out). */
const DEFAULT_PANEL_WIDTH = 960;

/** The width of an element, following its changes. */
function useElementWidth(element: HTMLElement | null): number {
  const [width, setWidth] = useState(0);
  useEffect(() => {
    if (element === null) return;
    setWidth(element.clientWidth);
    if (typeof ResizeObserver !== 'function') return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(entry.contentRect.width);
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, [element]);
  return width;
}

function PictureNote({ picture, device, search }: { picture: PagePictureState; device: string; search: string }) {
  if (picture.state === 'loading') return null;
  if (picture.state === 'shown') {
    const { snapshot, size } = picture;
    return (
      <p className="text-sm text-slate-700">
        Drawn over the page as a recording of {formatUtc(snapshot.captured_at)} captured it, on a screen{' '}
        {size.width} × {size.viewportHeight} px (
        <Link
          className="font-medium text-indigo-800 underline"
          to={`/sessions/${encodeURIComponent(snapshot.session_id)}${search}`}
        >
          watch the recording
        </Link>
        ).
      </p>
    );
  }
  const nominal = NOMINAL_VIEWPORTS[device] ?? NOMINAL_VIEWPORTS.desktop!;
  return (
    <p className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
      {picture.reason} The grid is drawn over a blank page {nominal.width} px wide, with the first screen{' '}
      {nominal.height} px tall, a usual {device} screen.
    </p>
  );
}

export default function HeatmapsPage() {
  usePageTitle('Heatmaps');
  const dashboard = useDashboard();
  const { view } = dashboard;
  const heatmap = readHeatmapView(view, dashboard.params);
  const pages = useBreakdown(
    { site: view.site, from: view.range.from, to: view.range.to, device: heatmap.device },
    'page',
    PAGE_LIMIT,
  );
  const busiest = pages.data?.rows.find((row) => row.value.startsWith('/'))?.value ?? null;
  const read = heatmapRead(view, heatmap, busiest);
  const picture = usePagePicture(read);
  const [panel, setPanel] = useState<HTMLElement | null>(null);
  const panelWidth = useElementWidth(panel) || DEFAULT_PANEL_WIDTH;
  const search = sharedSearch(dashboard.params);

  return (
    <div className="flex flex-col gap-6">
      <h1 className="text-2xl font-semibold">Heatmaps</h1>
      <HeatmapControls
        view={heatmap}
        path={read.path}
        pages={pages}
        onPath={(path) => dashboard.setFilter('path', path)}
        onKind={(kind) => dashboard.setParam(TYPE_PARAM, kind)}
        onDevice={(device) => dashboard.setFilter('device', device)}
        onShowFixed={(show) => dashboard.setParam(FIXED_PARAM, show ? null : FIXED_HIDDEN)}
      />
      <section
        aria-labelledby="heatmap-title"
        className="flex min-w-0 flex-col gap-3 rounded-lg border border-slate-300 bg-white p-4"
      >
        <h2 id="heatmap-title" className="text-lg font-semibold">
          {KIND_LABELS[heatmap.kind]}
          {read.path !== null ? ` on ${read.path}` : ''}
        </h2>
        {heatmap.countryIgnored ? (
          <p className="text-sm text-slate-700">
            Heatmaps count every country: the country filter does not apply to them.
          </p>
        ) : null}
        {read.path === null ? (
          pages.isPending && pages.fetchStatus !== 'idle' ? (
            <p role="status" className="py-4 text-sm text-slate-600">
              Loading the pages…
            </p>
          ) : (
            <p className="py-4 text-sm text-slate-700">
              No page was viewed on {heatmap.device} in these days: choose other days, another device, or a page with{' '}
              <strong>Filter by</strong>.
            </p>
          )
        ) : picture.state === 'loading' ? (
          <p role="status" className="py-4 text-sm text-slate-600">
            Loading the page&apos;s picture…
          </p>
        ) : (
          <div ref={setPanel} className="flex min-w-0 flex-col gap-3">
            <PictureNote picture={picture} device={read.device} search={search} />
            <HeatmapPanel read={{ ...read, path: read.path }} view={heatmap} picture={picture} panelWidth={panelWidth} />
          </div>
        )}
      </section>
    </div>
  );
}
