// The heatmap's drawing surface: the page's picture (or a blank page), one canvas over
// it drawn in a single pass, axes in page pixels, and what a cell holds on hover and
// on keyboard focus. The surface is one focusable widget: the arrow keys move between
// cells (rows in the scroll-depth view), Page Up and Page Down by a screenful, Home to
// the busiest cell, End to the last row; the cell's description is announced.
import { type KeyboardEvent, type MouseEvent, type ReactNode, useEffect, useId, useRef, useState } from 'react';
import {
  GRID_COLUMNS,
  type GridPosition,
  type PageFrame,
  backingRatio,
  cellAt,
  rowCount,
  rowsPerViewport,
} from './geometry';
import { AXIS_HEIGHT_PX, AXIS_WIDTH_PX, PageAxes } from './PageAxes';

const TOOLTIP_WIDTH_PX = 280;
/** About three lines of the tooltip. */
const TOOLTIP_HEIGHT_PX = 60;
const TOOLTIP_GAP_PX = 6;

export interface HeatmapSurfaceProps {
  frame: PageFrame;
  /** CSS px per page px. */
  scale: number;
  /** The widget's accessible name. */
  label: string;
  /** The scroll-depth view: a position is a whole row. */
  rowsOnly?: boolean;
  /** Where keyboard focus starts and Home goes: the busiest cell. */
  start: GridPosition;
  describe(position: GridPosition): string;
  /** Draws the canvas; a new function redraws it. `pixels`: canvas px per page px. */
  paint(context: CanvasRenderingContext2D, pixels: number): void;
  /** Under the canvas: the page's picture. */
  picture?: ReactNode;
  /** Over the canvas: labels that belong to the drawing (fold lines). */
  overlay?: ReactNode;
}

interface Active {
  position: GridPosition;
  from: 'pointer' | 'keyboard';
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}

/** Where a key moves the active position, or null for keys the surface leaves alone. */
export function keyMove(
  key: string,
  position: GridPosition,
  frame: PageFrame,
  start: GridPosition,
  rowsOnly: boolean,
): GridPosition | null {
  const lastRow = rowCount(frame) - 1;
  const page = rowsPerViewport(frame);
  const to = (column: number, row: number) => ({
    column: rowsOnly ? 0 : clamp(column, 0, GRID_COLUMNS - 1),
    row: clamp(row, 0, lastRow),
  });
  switch (key) {
    case 'ArrowLeft':
      return rowsOnly ? null : to(position.column - 1, position.row);
    case 'ArrowRight':
      return rowsOnly ? null : to(position.column + 1, position.row);
    case 'ArrowUp':
      return to(position.column, position.row - 1);
    case 'ArrowDown':
      return to(position.column, position.row + 1);
    case 'PageUp':
      return to(position.column, position.row - page);
    case 'PageDown':
      return to(position.column, position.row + page);
    case 'Home':
      return to(start.column, start.row);
    case 'End':
      return to(position.column, lastRow);
    default:
      return null;
  }
}

export function HeatmapSurface(props: HeatmapSurfaceProps) {
  const { frame, scale, label, rowsOnly = false, start, describe, paint, picture, overlay } = props;
  const canvas = useRef<HTMLCanvasElement>(null);
  const marker = useRef<HTMLDivElement>(null);
  const [active, setActive] = useState<Active | null>(null);
  const helpId = useId();
  const width = frame.width * scale;
  const height = frame.height * scale;

  useEffect(() => {
    const element = canvas.current;
    if (element === null) return;
    const ratio = backingRatio(width, height, window.devicePixelRatio || 1);
    element.width = Math.max(1, Math.round(width * ratio));
    element.height = Math.max(1, Math.round(height * ratio));
    // jsdom has no 2D context; a browser always has one.
    const context = typeof element.getContext === 'function' ? element.getContext('2d') : null;
    if (context !== null) paint(context, ratio * scale);
  }, [paint, width, height, scale]);

  // A position off the page after it changed (another page, type or device) is dropped.
  const lastRow = rowCount(frame) - 1;
  const shown = active !== null && active.position.row <= lastRow ? active : null;

  useEffect(() => {
    if (shown?.from === 'keyboard') marker.current?.scrollIntoView?.({ block: 'nearest', inline: 'nearest' });
  }, [shown?.from, shown?.position.column, shown?.position.row]);

  function onKeyDown(event: KeyboardEvent) {
    if (event.key === 'Escape') {
      setActive(null);
      return;
    }
    const from = shown?.position ?? start;
    const next = keyMove(event.key, from, frame, start, rowsOnly);
    if (next === null) return;
    event.preventDefault();
    setActive({ position: next, from: 'keyboard' });
  }

  function onMouseMove(event: MouseEvent) {
    const box = event.currentTarget.getBoundingClientRect();
    const position = cellAt(event.clientX - box.left, event.clientY - box.top, frame, scale);
    if (position === null) setActive(null);
    else setActive({ position: rowsOnly ? { column: 0, row: position.row } : position, from: 'pointer' });
  }

  const markerBox = shown && {
    left: rowsOnly ? 0 : (shown.position.column * frame.width * scale) / GRID_COLUMNS,
    top: shown.position.row * frame.cellHeight * scale,
    width: rowsOnly ? width : (frame.width * scale) / GRID_COLUMNS,
    height: Math.min(frame.cellHeight, frame.height - shown.position.row * frame.cellHeight) * scale,
  };
  const text = shown ? describe(shown.position) : '';

  return (
    <div className="relative" style={{ paddingLeft: AXIS_WIDTH_PX, paddingTop: AXIS_HEIGHT_PX }}>
      <PageAxes width={frame.width} height={frame.height} scale={scale} />
      <div
        role="application"
        aria-roledescription="heatmap"
        aria-label={label}
        aria-describedby={helpId}
        tabIndex={0}
        className="relative overflow-hidden border border-slate-300 bg-slate-50"
        style={{ width, height }}
        onKeyDown={onKeyDown}
        onFocus={() => setActive((current) => current ?? { position: start, from: 'keyboard' })}
        onBlur={() => setActive((current) => (current?.from === 'keyboard' ? null : current))}
        // Mouse events, not pointer events: a tap on a touch screen sends them too, and shows its cell.
        onMouseMove={onMouseMove}
        onMouseLeave={() => setActive((current) => (current?.from === 'pointer' ? null : current))}
      >
        {picture}
        <canvas ref={canvas} aria-hidden="true" className="absolute inset-0" style={{ width, height }} />
        {overlay}
        {markerBox ? (
          <div
            ref={marker}
            aria-hidden="true"
            className="pointer-events-none absolute outline outline-2 outline-offset-1 outline-slate-900"
            style={markerBox}
          />
        ) : null}
        {markerBox ? (
          <div
            role="tooltip"
            className="pointer-events-none absolute z-10 rounded-md bg-slate-900 px-2 py-1 text-xs text-white shadow"
            style={{
              width: TOOLTIP_WIDTH_PX,
              left: clamp(markerBox.left, 0, Math.max(0, width - TOOLTIP_WIDTH_PX)),
              // Below the cell, or above it near the bottom of the drawing.
              top:
                markerBox.top + markerBox.height + TOOLTIP_GAP_PX + TOOLTIP_HEIGHT_PX > height
                  ? Math.max(0, markerBox.top - TOOLTIP_HEIGHT_PX)
                  : markerBox.top + markerBox.height + TOOLTIP_GAP_PX,
            }}
          >
            {text}
          </div>
        ) : null}
      </div>
      <p id={helpId} className="sr-only">
        {rowsOnly
          ? 'Up and Down arrows move between rows, Page Up and Page Down by a screen, Home to the top, End to the bottom.'
          : 'Arrow keys move between cells, Page Up and Page Down by a screen, Home to the busiest cell, End to the bottom.'}
      </p>
      <p aria-live="polite" className="sr-only">
        {shown?.from === 'keyboard' ? text : ''}
      </p>
    </div>
  );
}
