// The colour scales' legends: what a colour of the drawing means, in numbers.
import { formatCount, formatPercent } from '../../lib/format';
import { DEPTH_RAMP, type Rgb, legendTicks, rampGradient } from './colourScale';
import { FIXED_OUTLINE } from './draw';

export interface RampLegendProps {
  title: string;
  ramp: readonly Rgb[];
  /** The largest count of a cell. */
  max: number;
  /** What is counted ("clicks"). */
  unit: string;
  /** Fixed-element cells are outlined: the legend's swatch is too. */
  outlined?: boolean;
}

export function RampLegend({ title, ramp, max, unit, outlined = false }: RampLegendProps) {
  const ticks = legendTicks(max);
  return (
    <figure className="flex flex-col gap-1 text-xs text-slate-700">
      <figcaption className="font-medium text-slate-900">{title}</figcaption>
      <div
        aria-hidden="true"
        className="h-3 w-48 rounded-sm"
        style={{
          background: rampGradient(ramp),
          ...(outlined ? { outline: `2px dashed ${FIXED_OUTLINE}`, outlineOffset: 1 } : {}),
        }}
      />
      <p aria-hidden="true" className="flex w-48 justify-between tabular-nums">
        {ticks.map((tick) => (
          <span key={tick}>{formatCount(tick)}</span>
        ))}
      </p>
      <p className="sr-only">
        From {ticks.map(formatCount).join(' to ')} {unit} per cell, on a logarithmic scale.
      </p>
    </figure>
  );
}

export function DepthLegend() {
  return (
    <figure className="flex flex-col gap-1 text-xs text-slate-700">
      <figcaption className="font-medium text-slate-900">Share of page views reaching the depth</figcaption>
      <div aria-hidden="true" className="h-3 w-48 rounded-sm" style={{ background: rampGradient(DEPTH_RAMP) }} />
      <p className="flex w-48 justify-between tabular-nums">
        <span>{formatPercent(0)}</span>
        <span>{formatPercent(0.5)}</span>
        <span>{formatPercent(1)}</span>
      </p>
    </figure>
  );
}
