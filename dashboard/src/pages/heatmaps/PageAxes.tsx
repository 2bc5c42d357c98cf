// The axes drawn around a page in page pixels: width in percent along the top, depth
// in pixels down the left. Shared by the heatmap and the live clicks.
import { formatCount } from '../../lib/format';
import { axisStep } from './geometry';

export const AXIS_WIDTH_PX = 64;
export const AXIS_HEIGHT_PX = 20;

export function PageAxes({ width, height, scale }: { width: number; height: number; scale: number }) {
  const step = axisStep(scale);
  const depths: number[] = [];
  for (let depth = 0; depth < height; depth += step) depths.push(depth);
  return (
    <div aria-hidden="true" className="text-xs tabular-nums text-slate-600">
      {[0, 25, 50, 75, 100].map((percent) => (
        <span
          key={percent}
          className="absolute top-0 -translate-x-1/2 whitespace-nowrap"
          style={{ left: AXIS_WIDTH_PX + (percent / 100) * width * scale }}
        >
          {percent} %
        </span>
      ))}
      {depths.map((depth) => (
        <span
          key={depth}
          className="absolute left-0 -translate-y-1/2 pr-2 text-right"
          style={{ top: AXIS_HEIGHT_PX + depth * scale, width: AXIS_WIDTH_PX }}
        >
          {formatCount(depth)} px
        </span>
      ))}
    </div>
  );
}
