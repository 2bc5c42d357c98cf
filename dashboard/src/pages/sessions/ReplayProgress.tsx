// The player's progress bar: a slider over the recording's length with its markers
// drawn on the track (clicks, rage clicks, errors, page views). The markers are a
// picture: the slider and the "next ..." buttons are how to reach them by keyboard.
import { memo } from 'react';
import type { Marker, MarkerKind, RecordingMarkers } from './replayMarkers';

/** Milliseconds as the player shows them: "1:05", "1:02:05". */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export const MARKER_STYLE: Record<MarkerKind, { label: string; className: string; row: string }> = {
  page: { label: 'Page view', className: 'bg-emerald-700', row: 'top-0 h-full w-0.5' },
  click: { label: 'Click', className: 'bg-slate-600', row: 'top-1 h-2 w-0.5' },
  rage_click: { label: 'Rage click', className: 'bg-amber-500', row: 'top-0.5 h-3 w-1.5 rounded-sm' },
  error: { label: 'Error', className: 'bg-red-700', row: 'bottom-0 h-2.5 w-1.5 rounded-sm' },
};

const Ticks = memo(function Ticks({ markers, durationMs }: { markers: Marker[]; durationMs: number }) {
  return (
    <>
      {markers.map((marker, index) => {
        const style = MARKER_STYLE[marker.kind];
        const left = durationMs > 0 ? (100 * marker.timeMs) / durationMs : 0;
        return (
          <span
            // Markers are fixed for a recording and never reordered.
            key={index}
            data-marker={marker.kind}
            title={`${marker.label} at ${formatClock(marker.timeMs)}`}
            className={`absolute -translate-x-1/2 ${style.row} ${style.className}`}
            style={{ left: `${left}%` }}
          />
        );
      })}
    </>
  );
});

export interface ReplayProgressProps {
  markers: RecordingMarkers;
  positionMs: number;
  onSeek(ms: number): void;
}

export function ReplayProgress({ markers, positionMs, onSeek }: ReplayProgressProps) {
  const { durationMs } = markers;
  return (
    <div className="flex flex-col gap-1">
      <div className="relative h-4" aria-hidden="true" data-testid="replay-markers">
        <Ticks markers={markers.pages} durationMs={durationMs} />
        <Ticks markers={markers.clicks} durationMs={durationMs} />
        <Ticks markers={markers.rageClicks} durationMs={durationMs} />
        <Ticks markers={markers.errors} durationMs={durationMs} />
      </div>
      <input
        type="range"
        className="w-full accent-indigo-700"
        aria-label="Position in the recording"
        aria-valuetext={`${formatClock(positionMs)} of ${formatClock(durationMs)}`}
        min={0}
        max={Math.max(durationMs, 1)}
        step={100}
        value={Math.min(positionMs, durationMs)}
        onChange={(event) => onSeek(Number(event.target.value))}
      />
      <ul className="flex flex-wrap gap-x-4 text-xs text-slate-700" aria-label="Marker legend">
        {(['page', 'click', 'rage_click', 'error'] as const).map((kind) => (
          <li key={kind} className="flex items-center gap-1">
            <span aria-hidden="true" className={`inline-block h-2.5 w-1.5 ${MARKER_STYLE[kind].className}`} />
            {MARKER_STYLE[kind].label}
          </li>
        ))}
      </ul>
    </div>
  );
}
