// The page's picture under the heatmap: the snapshot rebuilt by rrweb's Replayer (in
// its own lazily loaded chunk) at the recording's width, scaled to the panel. It is
// rebuilt once per snapshot: a new scale only changes the CSS transform around it.
import { memo, useEffect, useRef } from 'react';
import type { PictureEvents } from '../../replay/heatmapSnapshot';

export interface PagePictureProps {
  picture: PictureEvents;
  /** CSS px per page px. */
  scale: number;
  /** The page's depth as measured, page px: called again when it changes. */
  onPageHeight(pageHeight: number): void;
  /** Why the picture could not be rebuilt. */
  onFailed(reason: string): void;
}

export const PagePicture = memo(function PagePicture({ picture, scale, onPageHeight, onFailed }: PagePictureProps) {
  const host = useRef<HTMLDivElement>(null);
  // The latest callbacks, read by the rebuild without making it run again.
  const callbacks = useRef({ onPageHeight, onFailed });
  callbacks.current = { onPageHeight, onFailed };

  useEffect(() => {
    let stopped = false;
    let destroy: (() => void) | null = null;
    import('../../replay/replayHeatmapSnapshot').then(
      ({ rebuildPicture }) => {
        if (stopped || host.current === null) return;
        try {
          const rebuilt = rebuildPicture(host.current, picture, (height) => callbacks.current.onPageHeight(height));
          destroy = () => rebuilt.destroy();
        } catch (error) {
          callbacks.current.onFailed(error instanceof Error ? error.message : 'the page could not be rebuilt');
        }
      },
      () => {
        if (!stopped) callbacks.current.onFailed('the picture code could not be loaded');
      },
    );
    return () => {
      stopped = true;
      destroy?.();
    };
  }, [picture]);

  return (
    <div aria-hidden="true" className="pointer-events-none absolute inset-0 overflow-hidden bg-white">
      <div
        ref={host}
        data-testid="page-picture"
        style={{ width: picture.width, transform: `scale(${scale})`, transformOrigin: '0 0' }}
      />
    </div>
  );
});
