// The page's picture for a heatmap: the latest recording's snapshot of the page on the
// device (`heatmap/snapshot`), or why there is none, in which case the heatmap is drawn
// over a blank page. Its depth is known once the rebuilt page has been measured.
import { useCallback, useMemo, useState } from 'react';
import { ApiError } from '../../api/client';
import { type HeatmapRead, type HeatmapSnapshot, useHeatmapSnapshot } from '../../api/heatmaps';
import { describeError } from '../../components/ApiErrorMessage';
import { type PictureEvents, pictureEvents } from '../../replay/heatmapSnapshot';
import type { PictureSize } from './geometry';

export type PagePictureState =
  | { state: 'loading' }
  | { state: 'none'; reason: string }
  | {
      state: 'shown';
      snapshot: HeatmapSnapshot;
      events: PictureEvents;
      /** The picture's size; its page height is 0 until the rebuilt page is measured. */
      size: PictureSize;
      onPageHeight(pageHeight: number): void;
      onFailed(reason: string): void;
    };

/** Why the API gave no picture, in a sentence. */
export function noPictureReason(error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.status) {
      case 404:
        return `No picture of this page: ${error.message}.`;
      case 403:
        return `No picture of this page: ${error.message} (pictures come from recordings, which need replay:read).`;
    }
  }
  return `The page's picture could not be loaded: ${describeError(error)}.`;
}

export function usePagePicture(read: HeatmapRead): PagePictureState {
  const query = useHeatmapSnapshot(read);
  const snapshot = query.data;
  const checked = useMemo(() => {
    if (snapshot === undefined) return null;
    const found = pictureEvents(snapshot.events);
    if ('problem' in found) return found;
    // The answer's own size when the Meta event lacks one.
    const width = found.width || snapshot.width;
    const height = found.height || snapshot.height;
    return width > 0 && height > 0 ? { ...found, width, height } : { problem: 'the recording has no page size' };
  }, [snapshot]);
  // Both belong to the events they were measured on: another snapshot starts afresh.
  const [measured, setMeasured] = useState<{ of: unknown; height: number } | null>(null);
  const [failure, setFailure] = useState<{ of: unknown; reason: string } | null>(null);
  const onPageHeight = useCallback((height: number) => setMeasured({ of: checked, height }), [checked]);
  const onFailed = useCallback((reason: string) => setFailure({ of: checked, reason }), [checked]);

  if (query.isError) return { state: 'none', reason: noPictureReason(query.error) };
  if (snapshot === undefined || checked === null) {
    return read.path === null ? { state: 'none', reason: 'No page chosen.' } : { state: 'loading' };
  }
  if ('problem' in checked) return { state: 'none', reason: `No picture of this page: ${checked.problem}.` };
  if (failure !== null && failure.of === checked) {
    return { state: 'none', reason: `The page's picture could not be rebuilt: ${failure.reason}.` };
  }
  return {
    state: 'shown',
    snapshot,
    events: checked,
    size: {
      width: checked.width,
      viewportHeight: checked.height,
      pageHeight: measured !== null && measured.of === checked ? measured.height : 0,
    },
    onPageHeight,
    onFailed,
  };
}
