// A layer's cells as the page reads them: the count at a grid position (hover and
// keyboard), the largest count (the colour scale), the busiest cell, and the total.
// Built once per answer; the API sends the cells as parallel columns.
import type { HeatmapCells } from '../../api/heatmaps';
import { GRID_COLUMNS, type GridPosition, type Layer, type PageFrame, cellRect } from './geometry';

export interface CellIndex {
  layer: Layer;
  cells: HeatmapCells;
  /** The sum of the counts, as the API says (its `total`). */
  total: number;
  /** The largest count of a cell; 0 without cells. */
  max: number;
  busiest: GridPosition | null;
  countAt(column: number, row: number): number;
}

const key = (column: number, row: number) => row * GRID_COLUMNS + column;

export function indexCells(layer: Layer, cells: HeatmapCells, total: number): CellIndex {
  const counts = new Map<number, number>();
  let max = 0;
  let busiest: GridPosition | null = null;
  const length = Math.min(cells.x.length, cells.y.length, cells.count.length);
  for (let i = 0; i < length; i++) {
    const column = cells.x[i]!;
    const row = cells.y[i]!;
    const count = cells.count[i]!;
    if (!(count > 0)) continue;
    // The API sums each cell once; adding keeps a repeated cell right all the same.
    const sum = (counts.get(key(column, row)) ?? 0) + count;
    counts.set(key(column, row), sum);
    if (sum > max) {
      max = sum;
      busiest = { column, row };
    }
  }
  return { layer, cells, total, max, busiest, countAt: (column, row) => counts.get(key(column, row)) ?? 0 };
}

/** The interactions of a layer that fall outside what is drawn (see cellRect). */
export function countNotDrawn(index: CellIndex, frame: PageFrame): number {
  const { x, y, count } = index.cells;
  let hidden = 0;
  for (let i = 0; i < count.length; i++) {
    if (cellRect(x[i]!, y[i]!, index.layer, frame) === null) hidden += count[i]!;
  }
  return hidden;
}

/** The busiest cells, largest first (ties top to bottom, then left to right). */
export function busiestCells(index: CellIndex, limit: number): Array<GridPosition & { count: number }> {
  const { x, y, count } = index.cells;
  const order = Array.from(count.keys()).filter((i) => count[i]! > 0);
  order.sort((a, b) => count[b]! - count[a]! || y[a]! - y[b]! || x[a]! - x[b]!);
  return order.slice(0, limit).map((i) => ({ column: x[i]!, row: y[i]!, count: count[i]! }));
}

/** A share of a total, 0 when there is no total. */
export function shareOf(count: number, total: number): number {
  return total > 0 ? count / total : 0;
}
