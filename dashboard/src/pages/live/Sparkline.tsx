// A small line of a figure over the last minutes, drawn as SVG (no chart library: it
// redraws every second). A picture to assistive technology, labelled with its range.

export interface SparkPoint {
  /** Epoch ms. */
  at: number;
  value: number;
}

export const SPARK_WINDOW_MS = 5 * 60_000;
const WIDTH = 120;
const HEIGHT = 28;

/** The polyline's points: the window ends at the last point; values scale to the highest. */
export function sparkPath(points: readonly SparkPoint[], windowMs = SPARK_WINDOW_MS): string {
  const last = points.at(-1);
  if (last === undefined) return '';
  const start = last.at - windowMs;
  const shown = points.filter((point) => point.at >= start);
  const highest = Math.max(1, ...shown.map((point) => point.value));
  return shown
    .map((point) => {
      const x = ((point.at - start) / windowMs) * WIDTH;
      const y = HEIGHT - 1 - (point.value / highest) * (HEIGHT - 2);
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

export interface SparklineProps {
  label: string;
  points: SparkPoint[];
  format(value: number): string;
}

export function Sparkline({ label, points, format }: SparklineProps) {
  const values = points.map((point) => point.value);
  const description =
    values.length === 0
      ? `${label}: no figures yet`
      : `${label}: from ${format(Math.min(...values))} to ${format(Math.max(...values))}`;
  return (
    <svg
      role="img"
      aria-label={description}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      preserveAspectRatio="none"
      className="h-7 w-full"
    >
      <polyline
        points={sparkPath(points)}
        fill="none"
        stroke="#4338ca"
        strokeWidth="1.5"
        vectorEffect="non-scaling-stroke"
      />
    </svg>
  );
}
