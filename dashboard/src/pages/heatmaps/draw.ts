// Drawing a heatmap on its canvas in one pass: every cell is one fillRect, whatever the
// number of cells (a busy page has tens of thousands), never one element per cell.
// `pixels` is canvas pixels per page pixel (the screen's ratio times the picture's scale).
import type { ScrollDepthAnswer } from '../../api/heatmaps';
import type { CellIndex } from './cellIndex';
import { DOCUMENT_RAMP, FIXED_RAMP, cellFill, depthFill } from './colourScale';
import { GRID_COLUMNS, type PageFrame, axisStep, cellRect, rowCount, toCanvasPixels } from './geometry';
import { shareAtRow } from './scrollDepth';

/** The outline of fixed-element cells and of the viewport they are drawn in. */
export const FIXED_OUTLINE = 'rgba(30, 27, 75, 0.9)';
const GRID_LINE = 'rgba(100, 116, 139, 0.25)';
const MIN_OUTLINED_PX = 6;

function drawLayer(ctx: CanvasRenderingContext2D, index: CellIndex, frame: PageFrame, pixels: number): void {
  const { x, y, count } = index.cells;
  const ramp = index.layer === 'fixed' ? FIXED_RAMP : DOCUMENT_RAMP;
  const outline = index.layer === 'fixed';
  // Many cells share a count: each colour is made once.
  const fills = new Map<number, string>();
  if (outline) {
    ctx.strokeStyle = FIXED_OUTLINE;
    ctx.lineWidth = 1;
  }
  for (let i = 0; i < count.length; i++) {
    const rect = cellRect(x[i]!, y[i]!, index.layer, frame);
    if (rect === null || !(count[i]! > 0)) continue;
    const box = toCanvasPixels(rect, pixels);
    let fill = fills.get(count[i]!);
    if (fill === undefined) {
      fill = cellFill(ramp, count[i]!, index.max);
      fills.set(count[i]!, fill);
    }
    ctx.fillStyle = fill;
    ctx.fillRect(box.left, box.top, box.width, box.height);
    // A cell too small for an outline and its colour keeps its colour: the cool ramp and
    // the dashed frame still tell it from document points.
    if (outline && box.width >= MIN_OUTLINED_PX && box.height >= MIN_OUTLINED_PX) {
      ctx.strokeRect(box.left + 0.5, box.top + 0.5, box.width - 1, box.height - 1);
    }
  }
}

/** The first viewport, where fixed-element points are drawn: a dashed frame. */
function drawViewport(ctx: CanvasRenderingContext2D, frame: PageFrame, pixels: number): void {
  const box = toCanvasPixels({ left: 0, top: 0, width: frame.width, height: frame.viewportHeight }, pixels);
  ctx.save();
  ctx.setLineDash([8, 6]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = FIXED_OUTLINE;
  ctx.strokeRect(box.left + 1, box.top + 1, box.width - 2, box.height - 2);
  ctx.restore();
}

/** Faint lines every 10 % across and at the axis' steps down: the blank page's grid. */
function drawGridLines(ctx: CanvasRenderingContext2D, frame: PageFrame, pixels: number, scale: number): void {
  ctx.fillStyle = GRID_LINE;
  const height = Math.round(frame.height * pixels);
  const width = Math.round(frame.width * pixels);
  for (let column = 10; column < GRID_COLUMNS; column += 10) {
    ctx.fillRect(Math.round(((column * frame.width) / GRID_COLUMNS) * pixels), 0, 1, height);
  }
  const step = axisStep(scale);
  for (let depth = step; depth < frame.height; depth += step) ctx.fillRect(0, Math.round(depth * pixels), width, 1);
}

/** The page without data yet: cleared, with the blank page's grid lines when it has no picture. */
export function drawBlank(
  ctx: CanvasRenderingContext2D,
  pixels: number,
  frame: PageFrame,
  scale: number,
  gridLines: boolean,
): void {
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (gridLines) drawGridLines(ctx, frame, pixels, scale);
}

export interface HeatmapDrawing {
  frame: PageFrame;
  /** CSS px per page px. */
  scale: number;
  document: CellIndex | null;
  /** Null when hidden or not loaded. */
  fixed: CellIndex | null;
  /** Without a picture the page is blank: its grid lines are drawn. */
  gridLines: boolean;
}

export function drawHeatmap(ctx: CanvasRenderingContext2D, pixels: number, drawing: HeatmapDrawing): void {
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (drawing.gridLines) drawGridLines(ctx, drawing.frame, pixels, drawing.scale);
  if (drawing.document) drawLayer(ctx, drawing.document, drawing.frame, pixels);
  if (drawing.fixed) {
    drawViewport(ctx, drawing.frame, pixels);
    drawLayer(ctx, drawing.fixed, drawing.frame, pixels);
  }
}

export interface DepthDrawing {
  frame: PageFrame;
  scale: number;
  answer: ScrollDepthAnswer;
  /** Depths of the fold lines, page px. */
  folds: number[];
  gridLines: boolean;
}

/** Each row tinted by the share of views that reached it, and the fold lines across. */
export function drawScrollDepth(ctx: CanvasRenderingContext2D, pixels: number, drawing: DepthDrawing): void {
  const { frame, answer } = drawing;
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (drawing.gridLines) drawGridLines(ctx, frame, pixels, drawing.scale);
  const rows = rowCount(frame);
  for (let row = 0; row < rows; row++) {
    const rect = cellRect(0, row, 'document', frame);
    if (rect === null) break;
    const box = toCanvasPixels({ ...rect, width: frame.width }, pixels);
    ctx.fillStyle = depthFill(shareAtRow(answer, row)?.share ?? 0);
    ctx.fillRect(box.left, box.top, box.width, box.height);
  }
  ctx.save();
  ctx.setLineDash([10, 6]);
  ctx.lineWidth = 2;
  ctx.strokeStyle = 'rgba(15, 23, 42, 0.95)';
  for (const depth of drawing.folds) {
    const y = Math.round(depth * pixels) + 1;
    ctx.beginPath();
    ctx.moveTo(0, y);
    ctx.lineTo(Math.round(frame.width * pixels), y);
    ctx.stroke();
  }
  ctx.restore();
}
