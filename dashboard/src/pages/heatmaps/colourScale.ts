// The heatmaps' colours. Counts are heavy-tailed (a few cells hold most clicks), so a
// cell's colour follows the logarithm of its count against the largest one, as the
// API's PNG does: on a linear scale all but the hottest cells would look empty.
// Document points run from a pale yellow to a deep red; points on fixed elements use
// a separate cool ramp (cyan to violet) and are outlined, so the two never read alike,
// whether or not colours can be told apart. Colours are drawn translucent over the
// page's picture, more opaque as the count grows.

export type Rgb = readonly [number, number, number];

export const DOCUMENT_RAMP: readonly Rgb[] = [
  [255, 237, 160],
  [254, 178, 76],
  [240, 59, 32],
  [128, 0, 38],
];
export const FIXED_RAMP: readonly Rgb[] = [
  [165, 243, 252],
  [34, 211, 238],
  [59, 130, 246],
  [109, 40, 217],
];
/** Scroll depth: red where every view reached, through yellow, to blue where few did. */
export const DEPTH_RAMP: readonly Rgb[] = [
  [49, 54, 149],
  [69, 117, 180],
  [254, 224, 144],
  [244, 109, 67],
  [165, 0, 38],
];

export const MIN_ALPHA = 0.35;
export const MAX_ALPHA = 0.85;

/** Where a count sits on the scale, 0..1: log(1 + count) / log(1 + max); 0 for no count. */
export function scalePosition(count: number, max: number): number {
  if (!(count > 0) || !(max > 0)) return 0;
  return Math.min(1, Math.log1p(count) / Math.log1p(max));
}

/** The count at a position of the scale (the inverse of scalePosition), rounded. */
export function countAtPosition(position: number, max: number): number {
  return Math.round(Math.expm1(position * Math.log1p(max)));
}

/** The ramp's colour at t (0..1), linearly between its stops. */
export function rampColour(ramp: readonly Rgb[], t: number): Rgb {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const scaled = clamped * (ramp.length - 1);
  const index = Math.min(ramp.length - 2, Math.floor(scaled));
  const within = scaled - index;
  const from = ramp[index]!;
  const to = ramp[index + 1]!;
  return [0, 1, 2].map((channel) => Math.round(from[channel]! + (to[channel]! - from[channel]!) * within)) as unknown as Rgb;
}

export function rgba([red, green, blue]: Rgb, alpha: number): string {
  return `rgba(${red}, ${green}, ${blue}, ${alpha.toFixed(3)})`;
}

/** A cell's fill: its ramp's colour at its place on the log scale, more opaque when larger. */
export function cellFill(ramp: readonly Rgb[], count: number, max: number): string {
  const t = scalePosition(count, max);
  return rgba(rampColour(ramp, t), MIN_ALPHA + (MAX_ALPHA - MIN_ALPHA) * t);
}

/** A CSS gradient of a ramp, left to right, for legends. */
export function rampGradient(ramp: readonly Rgb[], direction = 'to right'): string {
  const stops = ramp.map((colour, index) => `${rgba(colour, 1)} ${Math.round((100 * index) / (ramp.length - 1))}%`);
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

/** The labels of a legend: 1, the count half-way along the scale, and the largest count. */
export function legendTicks(max: number): number[] {
  if (!(max > 0)) return [];
  const ticks = [1, countAtPosition(0.5, max), max];
  return ticks.filter((tick, index) => tick >= 1 && ticks.indexOf(tick) === index);
}

/** A depth band's fill: the share of views that reached it, 0..1, on the depth ramp. */
export function depthFill(share: number): string {
  return rgba(rampColour(DEPTH_RAMP, share), 0.4);
}
