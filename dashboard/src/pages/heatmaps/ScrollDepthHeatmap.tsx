// How far down the page its views got: every row tinted by the share of views that
// reached it, and the lines 75 %, 50 % and 25 % of the views reached, at their depth.
import type { ScrollDepthAnswer } from '../../api/heatmaps';
import { SuppressedNote } from '../../components/SuppressedNote';
import { formatCount, formatPercent } from '../../lib/format';
import { describeDepthRow } from './cellText';
import { drawScrollDepth } from './draw';
import type { GridPosition, PageFrame } from './geometry';
import { DepthLegend } from './Legend';
import type { FoldLine } from './scrollDepth';

/** "75.0% of views reached 1,200 px". */
export function foldText(line: FoldLine): string {
  return `${formatPercent(line.share)} of views reached ${formatCount(line.depthPx)} px`;
}

export function paintDepth(
  answer: ScrollDepthAnswer,
  folds: FoldLine[],
  frame: PageFrame,
  scale: number,
  gridLines: boolean,
) {
  const depths = folds.map((line) => line.depthPx);
  return (context: CanvasRenderingContext2D, pixels: number) =>
    drawScrollDepth(context, pixels, { frame, scale, answer, folds: depths, gridLines });
}

export function describeDepth(answer: ScrollDepthAnswer, frame: PageFrame) {
  return (position: GridPosition) => describeDepthRow(position.row, answer, frame);
}

export function DepthSummary({ answer, folds, device }: { answer: ScrollDepthAnswer; folds: FoldLine[]; device: string }) {
  return (
    <>
      <p className="text-sm text-slate-800" data-testid="heatmap-total">
        <strong className="font-semibold">{formatCount(answer.total_views)} page views</strong> with their depth
        counted, {answer.date_from} to {answer.date_to} (UTC), {device}.
      </p>
      {answer.total_views === 0 ? (
        <p className="text-sm text-slate-700">No view of this page on this device counted its depth in these days.</p>
      ) : (
        <ul aria-label="Fold lines" className="flex flex-wrap gap-x-6 text-sm text-slate-800">
          {folds.map((line) => (
            <li key={line.share}>{foldText(line)}</li>
          ))}
        </ul>
      )}
      <SuppressedNote suppressed={answer.suppressed} noun="depth row" />
      <DepthLegend />
    </>
  );
}

/** The fold lines' labels, at their depth on the right of the drawing. */
export function FoldLabels({ folds, scale }: { folds: FoldLine[]; scale: number }) {
  return (
    <>
      {folds.map((line) => (
        <span
          key={line.share}
          aria-hidden="true"
          className="pointer-events-none absolute right-1 rounded-sm bg-slate-900 px-1.5 py-0.5 text-xs font-medium text-white"
          style={{ top: Math.max(0, line.depthPx * scale - 22) }}
        >
          {formatPercent(line.share)} · {formatCount(line.depthPx)} px
        </span>
      ))}
    </>
  );
}
