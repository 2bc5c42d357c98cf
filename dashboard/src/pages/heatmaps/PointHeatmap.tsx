// What the clicks, moves or rage clicks of a page add up to, above their drawing: the
// totals, what is not drawn and why, the legends; and how they are drawn and told.
import { type HeatmapAnswer, suppressionOf } from '../../api/heatmaps';
import { formatCount } from '../../lib/format';
import { type CellIndex, countNotDrawn } from './cellIndex';
import { describeCell } from './cellText';
import { DOCUMENT_RAMP, FIXED_RAMP } from './colourScale';
import { drawHeatmap } from './draw';
import { type GridPosition, MAX_PAGE_HEIGHT_PX, type PageFrame } from './geometry';
import { type PointKind, KIND_LABELS, countNoun } from './heatmapView';
import { RampLegend } from './Legend';

/** The two layers of a kind: the document points and the points on fixed elements. */
export interface PointLayers {
  kind: PointKind;
  answer: HeatmapAnswer;
  document: CellIndex;
  /** Null when not loaded (or refused). */
  fixed: CellIndex | null;
  fixedTotal: number | null;
  showFixed: boolean;
}

/** What the API left out to protect small crowds, in a sentence; null when it says nothing. */
export function suppressionText(answer: HeatmapAnswer, kind: PointKind): string | null {
  const suppression = suppressionOf(answer);
  if (suppression === null) return null;
  const what: string[] = [];
  if (suppression.cells !== null) {
    what.push(`${formatCount(suppression.cells)} ${suppression.cells === 1 ? 'cell' : 'cells'}`);
  }
  if (suppression.interactions !== null) {
    what.push(`${formatCount(suppression.interactions)} ${countNoun(kind, suppression.interactions)}`);
  }
  const below = suppression.minCount !== null ? ` with fewer than ${formatCount(suppression.minCount)} people` : '';
  return (
    `To protect small groups of visitors, the API left out ${what.join(' holding ')}${below}; ` +
    'the totals do not include them.'
  );
}

const shownFixed = (layers: PointLayers) => (layers.showFixed ? layers.fixed : null);

export function paintPoints(layers: PointLayers, frame: PageFrame, scale: number, gridLines: boolean) {
  const fixed = shownFixed(layers);
  return (context: CanvasRenderingContext2D, pixels: number) =>
    drawHeatmap(context, pixels, { frame, scale, document: layers.document, fixed, gridLines });
}

export function describePoints(layers: PointLayers, frame: PageFrame) {
  const fixed = shownFixed(layers);
  return (position: GridPosition) =>
    describeCell(position, { kind: layers.kind, frame, document: layers.document, fixed });
}

export function PointSummary({ layers, frame, device }: { layers: PointLayers; frame: PageFrame; device: string }) {
  const { kind, answer, fixed, showFixed } = layers;
  const unit = countNoun(kind, 2);
  const fixedOutside = fixed ? countNotDrawn(fixed, frame) : 0;
  const documentOutside = countNotDrawn(layers.document, frame);
  const suppression = suppressionText(answer, kind);
  const fixedTotal =
    layers.fixedTotal === null ? null : `${formatCount(layers.fixedTotal)} on fixed elements${showFixed ? '' : ' (hidden)'}`;
  return (
    <>
      <p className="text-sm text-slate-800" data-testid="heatmap-total">
        <strong className="font-semibold">
          {formatCount(answer.total)} {countNoun(kind, answer.total)}
        </strong>{' '}
        on the page{fixedTotal ? ` and ${fixedTotal}` : ''}, {answer.date_from} to {answer.date_to} (UTC), {device}.
      </p>
      <ul className="list-disc pl-5 text-sm text-slate-700 empty:hidden">
        {answer.total === 0 && (layers.fixedTotal ?? 0) === 0 ? (
          <li>No {unit} were counted on this page on this device in these days.</li>
        ) : null}
        {suppression ? <li>{suppression}</li> : null}
        {showFixed && fixed && fixed.total > 0 ? (
          <li>
            Points on fixed or sticky elements (headers, menus, banners) are where they were on the screen: they are
            drawn in cool colours and outlined, over the first screen of the page (the dashed frame).
          </li>
        ) : null}
        {showFixed && fixedOutside > 0 ? (
          <li>
            {formatCount(fixedOutside)} {countNoun(kind, fixedOutside)} on fixed elements were lower than this
            picture&apos;s screen (from taller screens) and are not drawn.
          </li>
        ) : null}
        {documentOutside > 0 ? (
          <li>
            {formatCount(documentOutside)} {countNoun(kind, documentOutside)} deeper than{' '}
            {formatCount(MAX_PAGE_HEIGHT_PX)} px are not drawn.
          </li>
        ) : null}
      </ul>
      <div className="flex flex-wrap gap-6">
        <RampLegend
          title={`${KIND_LABELS[kind]} on the page, per cell (log scale)`}
          ramp={DOCUMENT_RAMP}
          max={layers.document.max}
          unit={unit}
        />
        {showFixed && fixed && fixed.max > 0 ? (
          <RampLegend
            title={`${KIND_LABELS[kind]} on fixed elements, per cell (log scale)`}
            ramp={FIXED_RAMP}
            max={fixed.max}
            unit={unit}
            outlined
          />
        ) : null}
      </div>
    </>
  );
}
