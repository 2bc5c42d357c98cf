// Where a heatmap's cells go on the page's picture.
//
// The API's grid (docs/api.md, heatmap): column x is the percent of the viewport width
// (0-99), row y is `cell_height_px` page pixels from the top. Document points are in
// page coordinates, so row y lies y × cell height down the whole page. Points on fixed
// or sticky elements (`*_fixed`) are in viewport coordinates: they are drawn over the
// first viewport of the picture, the area those elements cover with the page scrolled
// to the top. Everything here is in page pixels unless it says otherwise; the picture
// is shown scaled by `scale` (CSS px per page px) to fit the panel.
import type { HeatmapCells } from '../../api/heatmaps';

export const GRID_COLUMNS = 100;
/** The pipeline's default row height (INSIGHTLITE_HEATMAP_CELL_HEIGHT_PX). */
export const DEFAULT_CELL_HEIGHT_PX = 16;
/** The deepest page pixel drawn: no browser draws a canvas much taller. */
export const MAX_PAGE_HEIGHT_PX = 50_000;
/** Without a picture, a page of a usual viewport of the device is drawn. */
export const NOMINAL_VIEWPORTS: Record<string, { width: number; height: number }> = {
  desktop: { width: 1280, height: 800 },
  tablet: { width: 768, height: 1024 },
  mobile: { width: 390, height: 844 },
  other: { width: 1280, height: 800 },
};
// Browsers refuse (or silently blank) larger canvases; iOS Safari's limit is the lowest.
export const MAX_CANVAS_SIDE_PX = 32_000;
export const MAX_CANVAS_AREA_PX = 16_000_000;

export type Layer = 'document' | 'fixed';

/** The page drawn: its width, first viewport and depth, in page px. */
export interface PageFrame {
  width: number;
  viewportHeight: number;
  height: number;
  cellHeight: number;
}

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** What the rebuilt picture measured: the snapshot's viewport and the page's depth. */
export interface PictureSize {
  width: number;
  viewportHeight: number;
  pageHeight: number;
}

/** The deepest row with a cell, or -1 without cells. */
export function deepestRow(cells: HeatmapCells | undefined): number {
  let deepest = -1;
  for (const row of cells?.y ?? []) if (row > deepest) deepest = row;
  return deepest;
}

/**
 * The page to draw: the picture's width and viewport (a usual one of the device without
 * a picture), as deep as the picture or the deepest row, whichever is lower, and at
 * most MAX_PAGE_HEIGHT_PX.
 */
export function pageFrame(options: {
  picture: PictureSize | null;
  device: string;
  cellHeight: number;
  deepestRow: number;
}): PageFrame {
  const nominal = NOMINAL_VIEWPORTS[options.device] ?? NOMINAL_VIEWPORTS.desktop!;
  const cellHeight = options.cellHeight > 0 ? options.cellHeight : DEFAULT_CELL_HEIGHT_PX;
  const picture = options.picture;
  const width = picture && picture.width > 0 ? picture.width : nominal.width;
  const viewportHeight = picture && picture.viewportHeight > 0 ? picture.viewportHeight : nominal.height;
  const depth = Math.max(picture?.pageHeight ?? 0, viewportHeight, (options.deepestRow + 1) * cellHeight);
  return { width, viewportHeight, height: Math.min(depth, MAX_PAGE_HEIGHT_PX), cellHeight };
}

/**
 * A cell's rectangle in page px, or null when it is outside what is drawn: a fixed
 * point below the picture's viewport (from a taller screen), a document point below
 * MAX_PAGE_HEIGHT_PX. A cell cut by that limit is drawn cut.
 */
export function cellRect(column: number, row: number, layer: Layer, frame: PageFrame): Rect | null {
  const columnWidth = frame.width / GRID_COLUMNS;
  const top = row * frame.cellHeight;
  const bottom = layer === 'fixed' ? frame.viewportHeight : frame.height;
  if (column < 0 || column >= GRID_COLUMNS || row < 0 || top >= bottom) return null;
  return { left: column * columnWidth, top, width: columnWidth, height: Math.min(frame.cellHeight, bottom - top) };
}

/** CSS px per page px: the page's width fitted into the panel, never enlarged. */
export function fitScale(pageWidth: number, panelWidth: number): number {
  if (!(pageWidth > 0) || !(panelWidth > 0)) return 1;
  return Math.min(1, panelWidth / pageWidth);
}

export interface GridPosition {
  column: number;
  row: number;
}

/** The cell under a point of the shown (scaled) picture, in CSS px from its top left. */
export function cellAt(x: number, y: number, frame: PageFrame, scale: number): GridPosition | null {
  const pageX = x / scale;
  const pageY = y / scale;
  if (!Number.isFinite(pageX) || !Number.isFinite(pageY)) return null;
  if (pageX < 0 || pageY < 0 || pageX >= frame.width || pageY >= frame.height) return null;
  return {
    column: Math.min(GRID_COLUMNS - 1, Math.floor((GRID_COLUMNS * pageX) / frame.width)),
    row: Math.floor(pageY / frame.cellHeight),
  };
}

/** The rows of the drawn page (the last one may be cut). */
export function rowCount(frame: PageFrame): number {
  return Math.ceil(frame.height / frame.cellHeight);
}

/** Rows of one screenful: what Page Up and Page Down move by. */
export function rowsPerViewport(frame: PageFrame): number {
  return Math.max(1, Math.floor(frame.viewportHeight / frame.cellHeight));
}

/**
 * Canvas pixels per CSS px: the screen's ratio, lowered so that the canvas stays within
 * what browsers draw (a long page shown large would exceed it).
 */
export function backingRatio(cssWidth: number, cssHeight: number, devicePixelRatio: number): number {
  const wanted = devicePixelRatio > 0 ? devicePixelRatio : 1;
  if (!(cssWidth > 0) || !(cssHeight > 0)) return wanted;
  const bySide = MAX_CANVAS_SIDE_PX / Math.max(cssWidth, cssHeight);
  const byArea = Math.sqrt(MAX_CANVAS_AREA_PX / (cssWidth * cssHeight));
  return Math.min(wanted, bySide, byArea);
}

/** A rectangle in canvas pixels, its edges on whole pixels so neighbouring cells neither gap nor overlap. */
export function toCanvasPixels(rect: Rect, pixelsPerPagePx: number): Rect {
  const left = Math.round(rect.left * pixelsPerPagePx);
  const top = Math.round(rect.top * pixelsPerPagePx);
  const right = Math.round((rect.left + rect.width) * pixelsPerPagePx);
  const bottom = Math.round((rect.top + rect.height) * pixelsPerPagePx);
  return { left, top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
}

/** The page-px steps between axis labels: the smallest that keeps them `minGapCss` apart. */
export function axisStep(scale: number, minGapCss = 48): number {
  const steps = [50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10_000];
  return steps.find((step) => step * scale >= minGapCss) ?? 10_000;
}
