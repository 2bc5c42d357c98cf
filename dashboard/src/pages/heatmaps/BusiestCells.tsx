// The busiest cells as a table: the drawing's main facts for screen readers and for
// copying, as the overview's chart has its figures beside it.
import { formatCount, formatPercent } from '../../lib/format';
import { type CellIndex, busiestCells, shareOf } from './cellIndex';
import { cellPlace } from './cellText';
import type { PageFrame } from './geometry';
import { type PointKind, KIND_LABELS } from './heatmapView';

export const BUSIEST_ROWS = 10;

export interface BusiestCellsProps {
  kind: PointKind;
  frame: PageFrame;
  layers: CellIndex[];
}

/** The busiest cells of all layers together, largest first. */
export function busiestOfLayers(layers: CellIndex[], limit: number) {
  return layers
    .flatMap((index) => busiestCells(index, limit).map((cell) => ({ ...cell, index })))
    .sort((a, b) => b.count - a.count)
    .slice(0, limit);
}

export function BusiestCells({ kind, frame, layers }: BusiestCellsProps) {
  const rows = busiestOfLayers(layers, BUSIEST_ROWS);
  if (rows.length === 0) return null;
  return (
    <details className="text-sm">
      <summary className="cursor-pointer font-medium text-indigo-800">The busiest cells as a table</summary>
      <table className="mt-2 w-full max-w-2xl text-left">
        <thead>
          <tr className="border-b border-slate-300">
            <th scope="col" className="py-1 font-medium">
              Where
            </th>
            <th scope="col" className="py-1 font-medium">
              On
            </th>
            <th scope="col" className="py-1 text-right font-medium">
              {KIND_LABELS[kind]}
            </th>
            <th scope="col" className="py-1 text-right font-medium">
              Share
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map(({ column, row, count, index }) => (
            <tr key={`${index.layer}-${column}-${row}`} className="border-b border-slate-200">
              <td className="py-1">{cellPlace({ column, row }, frame)}</td>
              <td className="py-1">{index.layer === 'fixed' ? 'fixed elements' : 'the page'}</td>
              <td className="py-1 text-right tabular-nums">{formatCount(count)}</td>
              <td className="py-1 text-right tabular-nums">{formatPercent(shareOf(count, index.total))}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </details>
  );
}
