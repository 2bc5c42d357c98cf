// The scroll-depth view's figures. The API gives, for every row from the top to the
// deepest one reached, the share of the page's views whose viewport reached it (row r
// lies at depth_px = r × cell height). A fold line marks how deep a given share of the
// views got: the 75 % line is at the deepest row that at least 75 % of views reached.
import type { ScrollDepthAnswer, ScrollDepthPoint } from '../../api/heatmaps';

export const FOLD_SHARES = [0.75, 0.5, 0.25] as const;

export interface FoldLine {
  /** The share of views, 0..1. */
  share: number;
  /** The page px that share of views reached. */
  depthPx: number;
  row: number;
}

/**
 * The fold line of each share: the deepest row whose share is at least it. A share no
 * row reaches (no views) has no line. Shares only fall with depth, but the rows are
 * searched whole so that an answer out of order still gives the deepest one.
 */
export function foldLines(answer: ScrollDepthAnswer, shares: readonly number[] = FOLD_SHARES): FoldLine[] {
  const lines: FoldLine[] = [];
  if (!(answer.total_views > 0)) return lines;
  for (const share of shares) {
    let deepest: ScrollDepthPoint | null = null;
    for (const point of answer.points) {
      // A share rounded by the API (6 decimals) still counts as reaching its line.
      if (point.share + 1e-9 >= share && (deepest === null || point.row > deepest.row)) deepest = point;
    }
    if (deepest !== null) lines.push({ share, depthPx: deepest.depth_px, row: deepest.row });
  }
  return lines;
}

/** The share of views that reached a row; 0 below the deepest row reached. */
export function shareAtRow(answer: ScrollDepthAnswer, row: number): ScrollDepthPoint | null {
  const point = answer.points[row];
  // Rows come in order from 0 with no gaps; look further only if one is missing.
  if (point !== undefined && point.row === row) return point;
  return answer.points.find((candidate) => candidate.row === row) ?? null;
}

/** The deepest row with a point, or -1 without any. */
export function deepestDepthRow(answer: ScrollDepthAnswer): number {
  let deepest = -1;
  for (const point of answer.points) if (point.row > deepest) deepest = point.row;
  return deepest;
}

/** The page px where a row begins. */
export function rowDepthPx(answer: ScrollDepthAnswer, row: number): number {
  return row * answer.cell_height_px;
}
