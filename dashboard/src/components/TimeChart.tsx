// A time-series line chart on uPlot, loaded with the page that needs it. Times are
// drawn in UTC, as the API counts them. The chart is a picture to assistive
// technology (its label says what it shows); the figures themselves are in a table
// next to it.
import { useEffect, useRef, useState } from 'react';
import type uPlot from 'uplot';

export interface TimeSeries {
  label: string;
  /** A line colour with at least 3:1 contrast on white. */
  color: string;
  values: number[];
}

export interface TimeChartProps {
  /** What the chart shows, read out instead of the picture. */
  label: string;
  /** Unix seconds of each point. */
  times: number[];
  series: TimeSeries[];
  /** The points' spacing in seconds: no axis tick is finer (no hours on a chart of days). */
  step: number;
  height?: number;
}

const DAY = 86_400;
// Tick spacings uPlot may choose from, in seconds.
const TICKS = [
  3600,
  2 * 3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  DAY,
  2 * DAY,
  7 * DAY,
  14 * DAY,
  28 * DAY,
  91 * DAY,
  365 * DAY,
];

/** uPlot draws on a canvas and reads the screen's resolution: without either there is no chart. */
function canDraw(): boolean {
  return typeof window.matchMedia === 'function' && typeof ResizeObserver === 'function';
}

export function TimeChart({ label, times, series, step, height = 260 }: TimeChartProps) {
  const container = useRef<HTMLDivElement>(null);
  const [failed, setFailed] = useState(!canDraw());

  useEffect(() => {
    const element = container.current;
    if (failed || element === null) return undefined;
    let chart: uPlot | null = null;
    let observer: ResizeObserver | null = null;
    let cancelled = false;
    Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')])
      .then(([{ default: UPlot }]) => {
        if (cancelled) return;
        const options: uPlot.Options = {
          width: element.clientWidth || 600,
          height,
          tzDate: (seconds) => UPlot.tzDate(new Date(seconds * 1000), 'Etc/UTC'),
          series: [{}, ...series.map((line) => ({ label: line.label, stroke: line.color, width: 2 }))],
          axes: [{ space: 60, incrs: TICKS.filter((tick) => tick >= step) }, { size: 60 }],
          legend: { live: true },
        };
        chart = new UPlot(options, [times, ...series.map((line) => line.values)], element);
        observer = new ResizeObserver(() => chart?.setSize({ width: element.clientWidth, height }));
        observer.observe(element);
      })
      .catch(() => setFailed(true));
    return () => {
      cancelled = true;
      observer?.disconnect();
      chart?.destroy();
    };
  }, [failed, times, series, step, height]);

  if (failed) {
    return (
      <p className="py-4 text-sm text-slate-700">
        The chart cannot be drawn in this browser; the figures are in the table below.
      </p>
    );
  }
  return <div ref={container} role="img" aria-label={label} style={{ minHeight: height }} />;
}
