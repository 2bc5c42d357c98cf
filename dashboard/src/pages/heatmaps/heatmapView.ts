// What the heatmaps page shows, from the URL: the page is the dashboard's `path` filter
// and the device its `device` filter (so a view carries over from the other pages), the
// kind of heatmap and whether points on fixed elements are drawn are the page's own
// params (`type`, `fixed`).
import type { HeatmapApiType, HeatmapRead } from '../../api/heatmaps';
import type { DashboardView } from '../../state/dashboardSearch';

export const HEATMAP_KINDS = ['click', 'move', 'rage_click', 'scroll'] as const;
export type HeatmapKind = (typeof HEATMAP_KINDS)[number];
export type PointKind = Exclude<HeatmapKind, 'scroll'>;

export const KIND_LABELS: Record<HeatmapKind, string> = {
  click: 'Clicks',
  move: 'Moves',
  rage_click: 'Rage clicks',
  scroll: 'Scroll depth',
};

/** How one interaction is counted in sentences ("12 clicks"). */
export const KIND_NOUNS: Record<PointKind, [singular: string, plural: string]> = {
  click: ['click', 'clicks'],
  move: ['move', 'moves'],
  rage_click: ['rage click', 'rage clicks'],
};

/** The devices a heatmap is drawn for: one at a time, since page heights differ. */
export const HEATMAP_DEVICES = ['desktop', 'mobile', 'tablet'] as const;
export const DEFAULT_DEVICE = 'desktop';

export const TYPE_PARAM = 'type';
export const FIXED_PARAM = 'fixed';
/** `fixed=hide` hides the points on fixed elements; they are drawn by default. */
export const FIXED_HIDDEN = 'hide';

export interface HeatmapView {
  kind: HeatmapKind;
  /** The page asked for (the `path` filter); null: the site's busiest page. */
  path: string | null;
  device: string;
  showFixed: boolean;
  /** The dashboard has a country filter, which heatmaps cannot apply. */
  countryIgnored: boolean;
}

export function readHeatmapView(view: DashboardView, params: URLSearchParams): HeatmapView {
  const type = params.get(TYPE_PARAM);
  const kind = (HEATMAP_KINDS as readonly string[]).includes(type ?? '') ? (type as HeatmapKind) : 'click';
  return {
    kind,
    path: view.filters.path ?? null,
    // `other` is a device filter of the dashboard too: kept, the API takes it.
    device: view.filters.device ?? DEFAULT_DEVICE,
    showFixed: params.get(FIXED_PARAM) !== FIXED_HIDDEN,
    countryIgnored: view.filters.country !== undefined,
  };
}

/** The API's types for the document points and the fixed-element points of a kind. */
export function apiTypes(kind: PointKind): { document: HeatmapApiType; fixed: HeatmapApiType } {
  return { document: kind, fixed: `${kind}_fixed` };
}

/** The read of one page: the page asked for, else the busiest one offered. */
export function heatmapRead(
  view: DashboardView,
  heatmap: HeatmapView,
  busiestPath: string | null,
): HeatmapRead {
  return {
    site: view.site,
    path: heatmap.path ?? busiestPath,
    device: heatmap.device,
    from: view.range.from,
    to: view.range.to,
  };
}

/** "12 clicks", "1 rage click". */
export function countNoun(kind: PointKind, count: number): string {
  const [singular, plural] = KIND_NOUNS[kind];
  return count === 1 ? singular : plural;
}
