// One page's heatmap: the reads of the kind shown, the page drawn (the picture's size,
// or a usual screen of the device), and one drawing surface over one picture. The
// surface and the picture stay mounted whatever the kind, so switching between clicks,
// moves, rage clicks and scroll depth redraws the canvas but never rebuilds the page.
import { useMemo } from 'react';
import { type HeatmapAnswer, type HeatmapRead, useHeatmap, useScrollDepth } from '../../api/heatmaps';
import { ApiErrorMessage } from '../../components/ApiErrorMessage';
import { QueryState } from '../../components/QueryState';
import { BusiestCells } from './BusiestCells';
import { indexCells } from './cellIndex';
import { cellPlace } from './cellText';
import { drawBlank } from './draw';
import { DEFAULT_CELL_HEIGHT_PX, type GridPosition, deepestRow, fitScale, pageFrame } from './geometry';
import { HeatmapSurface } from './HeatmapSurface';
import { AXIS_WIDTH_PX } from './PageAxes';
import { type HeatmapView, KIND_LABELS, type PointKind, apiTypes, countNoun } from './heatmapView';
import { PagePicture } from './PagePicture';
import { type PointLayers, PointSummary, describePoints, paintPoints } from './PointHeatmap';
import { DepthSummary, FoldLabels, describeDepth, paintDepth } from './ScrollDepthHeatmap';
import { deepestDepthRow, foldLines } from './scrollDepth';
import type { PagePictureState } from './usePagePicture';

export interface HeatmapPanelProps {
  read: HeatmapRead & { path: string };
  view: HeatmapView;
  picture: Exclude<PagePictureState, { state: 'loading' }>;
  /** The width the drawing may take, CSS px. */
  panelWidth: number;
}

/** The surface's border, both sides. */
const BORDERS_PX = 2;
const TOP = { column: 0, row: 0 };

function usePointLayers(
  kind: PointKind,
  answer: HeatmapAnswer | undefined,
  fixedAnswer: HeatmapAnswer | undefined,
  showFixed: boolean,
): PointLayers | null {
  const document = useMemo(() => (answer ? indexCells('document', answer.cells, answer.total) : null), [answer]);
  const fixed = useMemo(
    () => (fixedAnswer ? indexCells('fixed', fixedAnswer.cells, fixedAnswer.total) : null),
    [fixedAnswer],
  );
  return useMemo(
    () =>
      answer && document
        ? { kind, answer, document, fixed, fixedTotal: fixedAnswer?.total ?? null, showFixed }
        : null,
    [kind, answer, document, fixed, fixedAnswer, showFixed],
  );
}

export function HeatmapPanel({ read, view, picture, panelWidth }: HeatmapPanelProps) {
  const pointKind = view.kind === 'scroll' ? null : view.kind;
  const types = apiTypes(pointKind ?? 'click');
  const documentQuery = useHeatmap(read, types.document, { enabled: pointKind !== null });
  const fixedQuery = useHeatmap(read, types.fixed, { enabled: pointKind !== null });
  const depthQuery = useScrollDepth(read, { enabled: pointKind === null });
  const fixedAnswer = fixedQuery.isError ? undefined : fixedQuery.data;
  const layers = usePointLayers(pointKind ?? 'click', documentQuery.data, fixedAnswer, view.showFixed);
  const depth = pointKind === null ? depthQuery.data : undefined;
  const folds = useMemo(() => (depth ? foldLines(depth) : []), [depth]);
  const points = pointKind === null ? null : layers;

  const size = picture.state === 'shown' ? picture.size : null;
  const cellHeight = (points ? points.answer.cell_height_px : depth?.cell_height_px) ?? DEFAULT_CELL_HEIGHT_PX;
  const deepest = points ? deepestRow(points.answer.cells) : depth ? deepestDepthRow(depth) : -1;
  const frame = useMemo(
    () => pageFrame({ picture: size, device: read.device, cellHeight, deepestRow: deepest }),
    // The size's fields, not the object: it is made anew on every render.
    [size?.width, size?.viewportHeight, size?.pageHeight, read.device, cellHeight, deepest],
  );
  const scale = fitScale(frame.width, panelWidth - AXIS_WIDTH_PX - BORDERS_PX);
  const gridLines = picture.state !== 'shown';
  const drawing = useMemo(() => {
    if (points) {
      return {
        paint: paintPoints(points, frame, scale, gridLines),
        describe: describePoints(points, frame),
        start: points.document.busiest ?? (points.showFixed ? points.fixed?.busiest : null) ?? TOP,
      };
    }
    if (depth) {
      return { paint: paintDepth(depth, folds, frame, scale, gridLines), describe: describeDepth(depth, frame), start: TOP };
    }
    // Nothing loaded yet: the page alone.
    return {
      paint: (context: CanvasRenderingContext2D, pixels: number) => drawBlank(context, pixels, frame, scale, gridLines),
      describe: (position: GridPosition) => cellPlace(position, frame),
      start: TOP,
    };
  }, [points, depth, folds, frame, scale, gridLines]);

  const what = KIND_LABELS[view.kind].toLowerCase();
  const label =
    pointKind === null
      ? `Scroll depth of ${read.path} (${read.device})`
      : `Heatmap of ${countNoun(pointKind, 2)} on ${read.path} (${read.device})`;

  return (
    <>
      {pointKind === null ? (
        <QueryState query={depthQuery} what="the scroll depth">
          {(answer) => <DepthSummary answer={answer} folds={folds} device={read.device} />}
        </QueryState>
      ) : (
        <QueryState query={documentQuery} what={`the ${what}`}>
          {() => (
            <>
              {fixedQuery.isError ? <ApiErrorMessage what="the points on fixed elements" error={fixedQuery.error} /> : null}
              {documentQuery.isPlaceholderData ? (
                <p role="status" className="text-sm text-slate-600">
                  Loading the {what}…
                </p>
              ) : null}
              {points ? <PointSummary layers={points} frame={frame} device={read.device} /> : null}
            </>
          )}
        </QueryState>
      )}
      <HeatmapSurface
        frame={frame}
        scale={scale}
        rowsOnly={pointKind === null}
        label={label}
        start={drawing.start}
        describe={drawing.describe}
        paint={drawing.paint}
        picture={
          picture.state === 'shown' ? (
            <PagePicture
              picture={picture.events}
              scale={scale}
              onPageHeight={picture.onPageHeight}
              onFailed={picture.onFailed}
            />
          ) : null
        }
        overlay={pointKind === null ? <FoldLabels folds={folds} scale={scale} /> : null}
      />
      {points ? (
        <BusiestCells
          kind={points.kind}
          frame={frame}
          layers={points.showFixed && points.fixed ? [points.document, points.fixed] : [points.document]}
        />
      ) : null}
    </>
  );
}
