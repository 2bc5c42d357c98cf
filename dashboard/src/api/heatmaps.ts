// The query API's heatmap reads (docs/api.md: heatmap, scroll-depth, Page pictures for
// heatmaps): answer types, the query each read sends, and one hook per read.
import { type UseQueryResult, keepPreviousData, useQuery } from '@tanstack/react-query';
import { useApi } from './ApiProvider';
import type { Suppressed } from './types';

/** The interaction types of `GET /heatmap`; `*_fixed` are points on fixed or sticky elements. */
export const HEATMAP_API_TYPES = [
  'click',
  'move',
  'rage_click',
  'click_fixed',
  'move_fixed',
  'rage_click_fixed',
] as const;
export type HeatmapApiType = (typeof HEATMAP_API_TYPES)[number];

/** Cell i is x[i] (percent of the viewport width, 0-99), y[i] (row of cell_height_px page px), count[i]. */
export interface HeatmapCells {
  x: number[];
  y: number[];
  count: number[];
}

export interface HeatmapAnswer {
  site: string;
  path: string;
  type: string;
  device: string | null;
  date_from: string;
  date_to: string;
  cell_height_px: number;
  columns: number;
  total: number;
  cells: HeatmapCells;
  /** What the minimum crowd held back (read defensively, by suppressionOf). */
  suppressed?: unknown;
  // The earlier names of the same figures, still read by suppressionOf.
  suppressed_cells?: unknown;
  suppressed_count?: unknown;
  min_count?: unknown;
}

export interface ScrollDepthPoint {
  row: number;
  depth_px: number;
  views_reaching: number;
  /** Share of page views whose viewport reached this row, 0..1. */
  share: number;
}

export interface ScrollDepthAnswer {
  site: string;
  path: string;
  device: string | null;
  date_from: string;
  date_to: string;
  cell_height_px: number;
  total_views: number;
  points: ScrollDepthPoint[];
  /** The depth rows held back by the minimum crowd (absent from older APIs). */
  suppressed?: Suppressed;
}

/** The page as its latest recording on the device captured it: rrweb's [Meta, FullSnapshot]. */
export interface HeatmapSnapshot {
  session_id: string;
  captured_at: string;
  /** The viewport of the Meta event, px. */
  width: number;
  height: number;
  events: unknown[];
}

/** What one heatmap read is about: a page of a site, on one device, over the days. */
export interface HeatmapRead {
  site: string | null;
  path: string | null;
  device: string;
  from: string;
  to: string;
}

/** The query `GET /heatmap` takes. */
export function heatmapQuery(read: HeatmapRead, type: HeatmapApiType) {
  return { path: read.path, type, device: read.device, from: read.from, to: read.to };
}

/** The query `GET /scroll-depth` takes. */
export function scrollDepthQuery(read: HeatmapRead) {
  return { path: read.path, device: read.device, from: read.from, to: read.to };
}

/** The query `GET /heatmap/snapshot` takes: the latest picture, whatever the days. */
export function snapshotQuery(read: HeatmapRead) {
  return { path: read.path, device: read.device };
}

function sitePath(site: string, rest: string): string {
  return `/v1/sites/${encodeURIComponent(site)}${rest}`;
}

const enabled = (read: HeatmapRead) => read.site !== null && read.path !== null;

export function useHeatmap(
  read: HeatmapRead,
  type: HeatmapApiType,
  options: { enabled?: boolean } = {},
): UseQueryResult<HeatmapAnswer> {
  const api = useApi();
  return useQuery({
    queryKey: ['heatmap', read.site, heatmapQuery(read, type)],
    queryFn: () => api.get<HeatmapAnswer>(sitePath(read.site as string, '/heatmap'), heatmapQuery(read, type)),
    enabled: enabled(read) && (options.enabled ?? true),
    // Keep the last grid on screen while another type or range loads.
    placeholderData: keepPreviousData,
  });
}

export function useScrollDepth(read: HeatmapRead, options: { enabled?: boolean } = {}): UseQueryResult<ScrollDepthAnswer> {
  const api = useApi();
  return useQuery({
    queryKey: ['scroll-depth', read.site, scrollDepthQuery(read)],
    queryFn: () => api.get<ScrollDepthAnswer>(sitePath(read.site as string, '/scroll-depth'), scrollDepthQuery(read)),
    enabled: enabled(read) && (options.enabled ?? true),
  });
}

export function useHeatmapSnapshot(read: HeatmapRead): UseQueryResult<HeatmapSnapshot> {
  const api = useApi();
  return useQuery({
    queryKey: ['heatmap-snapshot', read.site, snapshotQuery(read)],
    queryFn: () =>
      api.get<HeatmapSnapshot>(sitePath(read.site as string, '/heatmap/snapshot'), snapshotQuery(read)),
    enabled: enabled(read),
    // A page's picture is large and changes only with new recordings.
    staleTime: 5 * 60_000,
  });
}

/** What the API says it left out to protect small crowds, when it says anything. */
export interface Suppression {
  /** Cells left out, when told. */
  cells: number | null;
  /** Interactions in them, when told. */
  interactions: number | null;
  /** The smallest count shown, when told. */
  minCount: number | null;
}

function positiveCount(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.floor(value) : null;
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** The answer's suppression, or null when it reports none. */
export function suppressionOf(answer: HeatmapAnswer): Suppression | null {
  const held = answer.suppressed;
  const cells = positiveCount(field(held, 'rows')) ?? positiveCount(answer.suppressed_cells);
  const interactions = positiveCount(field(held, 'interactions')) ?? positiveCount(answer.suppressed_count);
  if (cells === null && interactions === null) return null;
  const minCount = positiveCount(field(held, 'min_crowd')) ?? positiveCount(answer.min_count);
  return { cells, interactions, minCount };
}
