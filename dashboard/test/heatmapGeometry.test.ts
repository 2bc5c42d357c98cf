import { describe, expect, it } from 'vitest';
import type { ScrollDepthAnswer } from '../src/api/heatmaps';
import { busiestCells, countNotDrawn, indexCells } from '../src/pages/heatmaps/cellIndex';
import { describeCell, describeDepthRow } from '../src/pages/heatmaps/cellText';
import {
  DOCUMENT_RAMP,
  FIXED_RAMP,
  MAX_ALPHA,
  MIN_ALPHA,
  cellFill,
  countAtPosition,
  legendTicks,
  rampColour,
  scalePosition,
} from '../src/pages/heatmaps/colourScale';
import {
  MAX_CANVAS_AREA_PX,
  MAX_CANVAS_SIDE_PX,
  MAX_PAGE_HEIGHT_PX,
  type PageFrame,
  backingRatio,
  cellAt,
  cellRect,
  fitScale,
  pageFrame,
  toCanvasPixels,
} from '../src/pages/heatmaps/geometry';
import { keyMove } from '../src/pages/heatmaps/HeatmapSurface';
import { deepestDepthRow, foldLines } from '../src/pages/heatmaps/scrollDepth';

const FRAME: PageFrame = { width: 1280, viewportHeight: 800, height: 4000, cellHeight: 16 };

describe('cell geometry', () => {
  it('puts a document cell at x % of the page width and y rows of the cell height down the page', () => {
    expect(cellRect(31, 5, 'document', FRAME)).toEqual({ left: 396.8, top: 80, width: 12.8, height: 16 });
    expect(cellRect(99, 249, 'document', FRAME)).toEqual({ left: 1267.2, top: 3984, width: 12.8, height: 16 });
    // Row 250 starts at 4000 px: below the page drawn.
    expect(cellRect(0, 250, 'document', FRAME)).toBeNull();
    expect(cellRect(100, 0, 'document', FRAME)).toBeNull();
  });

  it('keeps fixed-element cells inside the first viewport, whatever the page depth', () => {
    expect(cellRect(50, 10, 'fixed', FRAME)).toEqual({ left: 640, top: 160, width: 12.8, height: 16 });
    // 800 px is one screen: row 49 ends there, row 50 is from a taller screen.
    expect(cellRect(50, 49, 'fixed', FRAME)?.top).toBe(784);
    expect(cellRect(50, 50, 'fixed', FRAME)).toBeNull();
    expect(cellRect(50, 50, 'document', FRAME)).not.toBeNull();
    // A viewport that is not a whole number of rows cuts its last row.
    const odd = { ...FRAME, viewportHeight: 790 };
    expect(cellRect(0, 49, 'fixed', odd)).toEqual({ left: 0, top: 784, width: 12.8, height: 6 });
  });

  it('sizes the page from the picture, the deepest row and the viewport, within the limit', () => {
    const picture = { width: 1440, viewportHeight: 900, pageHeight: 3000 };
    expect(pageFrame({ picture, device: 'desktop', cellHeight: 16, deepestRow: 10 })).toEqual({
      width: 1440,
      viewportHeight: 900,
      height: 3000,
      cellHeight: 16,
    });
    // Points below the picture (a longer page at another width) make it deeper.
    expect(pageFrame({ picture, device: 'desktop', cellHeight: 16, deepestRow: 299 }).height).toBe(4800);
    // A picture not measured yet is at least one screen tall.
    expect(pageFrame({ picture: { ...picture, pageHeight: 0 }, device: 'desktop', cellHeight: 16, deepestRow: -1 }).height).toBe(900);
    expect(pageFrame({ picture, device: 'desktop', cellHeight: 16, deepestRow: 65_535 }).height).toBe(MAX_PAGE_HEIGHT_PX);
  });

  it('draws a usual screen of the device without a picture', () => {
    expect(pageFrame({ picture: null, device: 'mobile', cellHeight: 16, deepestRow: 99 })).toEqual({
      width: 390,
      viewportHeight: 844,
      height: 1600,
      cellHeight: 16,
    });
    expect(pageFrame({ picture: null, device: 'tablet', cellHeight: 0, deepestRow: -1 })).toMatchObject({
      width: 768,
      viewportHeight: 1024,
      cellHeight: 16,
    });
  });

  it('scales the page to the panel, never up', () => {
    expect(fitScale(1280, 640)).toBe(0.5);
    expect(fitScale(390, 900)).toBe(1);
    expect(fitScale(1280, 0)).toBe(1);
  });

  it('finds the cell under the pointer on the scaled picture', () => {
    // At half size, (198.4, 40) CSS px is (396.8, 80) page px: the start of cell (31, 5).
    expect(cellAt(198.4, 40, FRAME, 0.5)).toEqual({ column: 31, row: 5 });
    expect(cellAt(198.3, 39.9, FRAME, 0.5)).toEqual({ column: 30, row: 4 });
    expect(cellAt(639.9, 1999, FRAME, 0.5)).toEqual({ column: 99, row: 249 });
    expect(cellAt(641, 10, FRAME, 0.5)).toBeNull();
    expect(cellAt(-1, 10, FRAME, 0.5)).toBeNull();
  });

  it('snaps cells to whole canvas pixels so neighbours neither gap nor overlap', () => {
    const pixels = 2 * 0.7;
    const first = toCanvasPixels(cellRect(30, 5, 'document', FRAME)!, pixels);
    const second = toCanvasPixels(cellRect(31, 5, 'document', FRAME)!, pixels);
    const below = toCanvasPixels(cellRect(30, 6, 'document', FRAME)!, pixels);
    expect(first.left + first.width).toBe(second.left);
    expect(first.top + first.height).toBe(below.top);
    expect(Number.isInteger(second.left) && Number.isInteger(second.width)).toBe(true);
  });

  it('lowers the canvas resolution of a long page to what browsers draw', () => {
    expect(backingRatio(800, 2000, 2)).toBe(2);
    const ratio = backingRatio(800, 30_000, 2);
    expect(800 * ratio * 30_000 * ratio).toBeLessThanOrEqual(MAX_CANVAS_AREA_PX + 1);
    expect(30_000 * ratio).toBeLessThanOrEqual(MAX_CANVAS_SIDE_PX);
    expect(backingRatio(100, 40_000, 1) * 40_000).toBeLessThanOrEqual(MAX_CANVAS_SIDE_PX);
  });
});

describe('colour scale', () => {
  it('places counts on a log scale of the largest', () => {
    expect(scalePosition(0, 100)).toBe(0);
    expect(scalePosition(100, 100)).toBe(1);
    expect(scalePosition(9, 99)).toBeCloseTo(0.5, 10);
    expect(scalePosition(500, 100)).toBe(1);
    expect(countAtPosition(0.5, 99)).toBe(9);
  });

  it('runs each ramp from its first to its last colour, more opaque as counts grow', () => {
    expect(rampColour(DOCUMENT_RAMP, 0)).toEqual(DOCUMENT_RAMP[0]);
    expect(rampColour(DOCUMENT_RAMP, 1)).toEqual(DOCUMENT_RAMP[3]);
    expect(rampColour(DOCUMENT_RAMP, 0.5)).toEqual([247, 119, 54]);
    expect(rampColour(DOCUMENT_RAMP, Number.NaN)).toEqual(DOCUMENT_RAMP[0]);
    expect(cellFill(DOCUMENT_RAMP, 1000, 1000)).toBe(`rgba(128, 0, 38, ${MAX_ALPHA.toFixed(3)})`);
    expect(cellFill(FIXED_RAMP, 1000, 1000)).toBe(`rgba(109, 40, 217, ${MAX_ALPHA.toFixed(3)})`);
    const small = cellFill(DOCUMENT_RAMP, 1, 1000);
    expect(Number(small.slice(small.lastIndexOf(',') + 1, -1))).toBeGreaterThan(MIN_ALPHA);
    expect(cellFill(DOCUMENT_RAMP, 5, 1000)).not.toBe(cellFill(FIXED_RAMP, 5, 1000));
  });

  it('labels the legend with 1, the middle of the scale and the largest count', () => {
    // sqrt(1 + 1893) - 1 = 42.5: the count half-way along a log scale.
    expect(legendTicks(1893)).toEqual([1, 43, 1893]);
    expect(legendTicks(1)).toEqual([1]);
    expect(legendTicks(0)).toEqual([]);
  });
});

function depthAnswer(reaching: number[], total = reaching[0] ?? 0): ScrollDepthAnswer {
  return {
    site: 'shop.example.com',
    path: '/',
    device: 'desktop',
    date_from: '2026-11-01',
    date_to: '2026-11-30',
    cell_height_px: 16,
    total_views: total,
    points: reaching.map((views, row) => ({
      row,
      depth_px: row * 16,
      views_reaching: views,
      share: total ? Math.round((views / total) * 1e6) / 1e6 : 0,
    })),
  };
}

describe('scroll-depth fold lines', () => {
  it('puts each line at the deepest row that share of the views reached', () => {
    //            row: 0    1   2   3   4   5   6
    const answer = depthAnswer([200, 180, 150, 101, 100, 50, 10]);
    expect(foldLines(answer)).toEqual([
      { share: 0.75, depthPx: 32, row: 2 },
      { share: 0.5, depthPx: 64, row: 4 },
      { share: 0.25, depthPx: 80, row: 5 },
    ]);
  });

  it('counts a share the API rounded as reaching its line', () => {
    // 2 of 3 views: 0.666667; 3 of 4: exactly 0.75.
    expect(foldLines(depthAnswer([4, 3, 1]))[0]).toEqual({ share: 0.75, depthPx: 16, row: 1 });
    expect(foldLines(depthAnswer([3, 2, 2, 1]), [2 / 3])).toEqual([{ share: 2 / 3, depthPx: 32, row: 2 }]);
  });

  it('draws every line at the bottom when every view reached it, and none without views', () => {
    expect(foldLines(depthAnswer([5, 5, 5])).map((line) => line.row)).toEqual([2, 2, 2]);
    expect(foldLines(depthAnswer([]))).toEqual([]);
    expect(deepestDepthRow(depthAnswer([5, 5, 5]))).toBe(2);
  });

  it('describes a row by the views that reached it', () => {
    const answer = depthAnswer([200, 100]);
    expect(describeDepthRow(1, answer, FRAME)).toBe('16–32 px down: 50.0% of 200 views reached it (100)');
    expect(describeDepthRow(7, answer, FRAME)).toBe('112–128 px down: no view reached it');
  });
});

describe('cells', () => {
  const cells = { x: [10, 11, 50, 50], y: [0, 0, 10, 60], count: [3, 40, 7, 0] };

  it('indexes counts by position and finds the busiest cell', () => {
    const index = indexCells('document', cells, 50);
    expect(index.max).toBe(40);
    expect(index.busiest).toEqual({ column: 11, row: 0 });
    expect(index.countAt(50, 10)).toBe(7);
    expect(index.countAt(50, 60)).toBe(0);
    expect(busiestCells(index, 2)).toEqual([
      { column: 11, row: 0, count: 40 },
      { column: 50, row: 10, count: 7 },
    ]);
  });

  it('counts the fixed points below the picture’s viewport, which are not drawn', () => {
    const fixed = indexCells('fixed', { x: [1, 2], y: [10, 70], count: [4, 6] }, 10);
    expect(countNotDrawn(fixed, FRAME)).toBe(6);
    expect(countNotDrawn(indexCells('document', { x: [1], y: [70], count: [6] }, 6), FRAME)).toBe(0);
  });

  it('describes a cell: its place, count and share, and the fixed points inside the viewport', () => {
    const document = indexCells('document', cells, 50);
    const fixed = indexCells('fixed', { x: [11], y: [0], count: [3] }, 12);
    const layers = { kind: 'click' as const, frame: FRAME, document, fixed };
    expect(describeCell({ column: 11, row: 0 }, layers)).toBe(
      '11–12 % across, 0–16 px down; page: 40 clicks (80.0% of 50); fixed elements: 3 clicks (25.0% of 12)',
    );
    expect(describeCell({ column: 50, row: 60 }, layers)).toBe('50–51 % across, 960–976 px down; page: no clicks');
    expect(describeCell({ column: 12, row: 0 }, { ...layers, kind: 'rage_click', fixed: null })).toBe(
      '12–13 % across, 0–16 px down; page: no rage clicks',
    );
  });
});

describe('keyboard moves', () => {
  const start = { column: 40, row: 3 };

  it('moves by a cell, a screen, to the busiest cell and to the bottom, within the page', () => {
    const at = { column: 0, row: 0 };
    expect(keyMove('ArrowRight', at, FRAME, start, false)).toEqual({ column: 1, row: 0 });
    expect(keyMove('ArrowLeft', at, FRAME, start, false)).toEqual({ column: 0, row: 0 });
    expect(keyMove('ArrowUp', at, FRAME, start, false)).toEqual({ column: 0, row: 0 });
    expect(keyMove('PageDown', at, FRAME, start, false)).toEqual({ column: 0, row: 50 });
    expect(keyMove('End', at, FRAME, start, false)).toEqual({ column: 0, row: 249 });
    expect(keyMove('Home', { column: 9, row: 200 }, FRAME, start, false)).toEqual(start);
    expect(keyMove('ArrowRight', { column: 99, row: 0 }, FRAME, start, false)).toEqual({ column: 99, row: 0 });
    expect(keyMove('a', at, FRAME, start, false)).toBeNull();
  });

  it('moves by rows only in the scroll-depth view', () => {
    expect(keyMove('ArrowRight', { column: 0, row: 4 }, FRAME, start, true)).toBeNull();
    expect(keyMove('ArrowDown', { column: 0, row: 4 }, FRAME, start, true)).toEqual({ column: 0, row: 5 });
  });
});
