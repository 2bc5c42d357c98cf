// What the heatmap says about one cell (on hover, and to keyboard and screen-reader
// users as focus moves): where it is, its count and its share of the total.
import type { ScrollDepthAnswer } from '../../api/heatmaps';
import { formatCount, formatPercent } from '../../lib/format';
import { type CellIndex, shareOf } from './cellIndex';
import { type GridPosition, type PageFrame, cellRect } from './geometry';
import { type PointKind, countNoun } from './heatmapView';
import { shareAtRow } from './scrollDepth';

/** "31-32 % across, 80-96 px down". */
export function cellPlace({ column, row }: GridPosition, frame: PageFrame): string {
  const top = row * frame.cellHeight;
  return `${column}–${column + 1} % across, ${formatCount(top)}–${formatCount(top + frame.cellHeight)} px down`;
}

/** "11 clicks (0.6% of 1,893)", "no clicks". */
export function layerCount(index: CellIndex, kind: PointKind, position: GridPosition): string {
  const count = index.countAt(position.column, position.row);
  if (count === 0) return `no ${countNoun(kind, 0)}`;
  const share = formatPercent(shareOf(count, index.total));
  return `${formatCount(count)} ${countNoun(kind, count)} (${share} of ${formatCount(index.total)})`;
}

export interface CellLayers {
  kind: PointKind;
  frame: PageFrame;
  document: CellIndex | null;
  /** Null when hidden. */
  fixed: CellIndex | null;
}

/** The whole description of a cell: its place, its page points and, inside the first viewport, its fixed-element points. */
export function describeCell(position: GridPosition, layers: CellLayers): string {
  const parts = [cellPlace(position, layers.frame)];
  if (layers.document) parts.push(`page: ${layerCount(layers.document, layers.kind, position)}`);
  if (layers.fixed && cellRect(position.column, position.row, 'fixed', layers.frame) !== null) {
    parts.push(`fixed elements: ${layerCount(layers.fixed, layers.kind, position)}`);
  }
  return parts.join('; ');
}

/** A row of the scroll-depth view: how many of the views reached it. */
export function describeDepthRow(row: number, answer: ScrollDepthAnswer, frame: PageFrame): string {
  const top = row * frame.cellHeight;
  const place = `${formatCount(top)}–${formatCount(top + frame.cellHeight)} px down`;
  const point = shareAtRow(answer, row);
  if (point === null || point.views_reaching === 0) return `${place}: no view reached it`;
  const views = formatCount(answer.total_views);
  return `${place}: ${formatPercent(point.share)} of ${views} views reached it (${formatCount(point.views_reaching)})`;
}
