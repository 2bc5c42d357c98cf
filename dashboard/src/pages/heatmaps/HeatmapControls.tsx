// What the heatmap shows: the page (the site's pages, busiest first), the kind of
// heatmap, the device and whether points on fixed elements are drawn. Every choice is
// a change of the URL (see heatmapView.ts); the days are the dashboard's own control.
import type { UseQueryResult } from '@tanstack/react-query';
import type { Breakdown } from '../../api/types';
import { describeError } from '../../components/ApiErrorMessage';
import { TOGGLE_BUTTON } from '../../components/styles';
import { formatCount } from '../../lib/format';
import { HEATMAP_DEVICES, HEATMAP_KINDS, type HeatmapKind, type HeatmapView, KIND_LABELS } from './heatmapView';

const SELECT = 'rounded-md border border-slate-400 bg-white px-2 py-1.5 text-sm';

export interface HeatmapControlsProps {
  view: HeatmapView;
  /** The page shown (asked for, or the busiest). */
  path: string | null;
  pages: UseQueryResult<Breakdown>;
  onPath(path: string): void;
  onKind(kind: HeatmapKind): void;
  onDevice(device: string): void;
  onShowFixed(show: boolean): void;
}

/** The pages offered: the breakdown's paths, busiest first, and the page shown if it is not among them. */
export function pageOptions(answer: Breakdown | undefined, shown: string | null): Array<{ path: string; label: string }> {
  const options = (answer?.rows ?? [])
    .filter((row) => row.value.startsWith('/'))
    .map((row) => ({ path: row.value, label: `${row.value} (${formatCount(row.pageviews)} views)` }));
  if (shown !== null && !options.some((option) => option.path === shown)) options.unshift({ path: shown, label: shown });
  return options;
}

export function HeatmapControls({ view, path, pages, onPath, onKind, onDevice, onShowFixed }: HeatmapControlsProps) {
  const options = pageOptions(pages.data, path);
  const devices: string[] = [...HEATMAP_DEVICES];
  if (!devices.includes(view.device)) devices.push(view.device);
  return (
    <div className="flex flex-col gap-3">
      <div className="flex flex-wrap items-end gap-x-6 gap-y-3">
        <label className="flex flex-col gap-1 text-sm font-medium">
          Page to show
          <select
            className={`${SELECT} max-w-md`}
            value={path ?? ''}
            disabled={options.length === 0}
            onChange={(event) => onPath(event.target.value)}
          >
            {options.length === 0 ? (
              <option value="">{pages.isPending && pages.fetchStatus !== 'idle' ? 'Loading pages…' : 'No pages'}</option>
            ) : null}
            {options.map((option) => (
              <option key={option.path} value={option.path}>
                {option.label}
              </option>
            ))}
          </select>
        </label>
        <label className="flex flex-col gap-1 text-sm font-medium">
          Device to show
          <select className={SELECT} value={view.device} onChange={(event) => onDevice(event.target.value)}>
            {devices.map((device) => (
              <option key={device} value={device}>
                {device}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="flex flex-wrap items-center gap-2">
          <legend className="mb-1 text-sm font-medium">Show</legend>
          {HEATMAP_KINDS.map((kind) => (
            <button
              key={kind}
              type="button"
              className={TOGGLE_BUTTON}
              aria-pressed={view.kind === kind}
              onClick={() => onKind(kind)}
            >
              {KIND_LABELS[kind]}
            </button>
          ))}
        </fieldset>
        <label className="flex items-center gap-2 pb-1.5 text-sm">
          <input
            type="checkbox"
            className="h-4 w-4"
            checked={view.showFixed}
            disabled={view.kind === 'scroll'}
            onChange={(event) => onShowFixed(event.target.checked)}
          />
          Points on fixed elements
        </label>
      </div>
      {pages.isError ? (
        <p className="text-sm text-slate-700">
          The list of pages could not be loaded ({describeError(pages.error)}); choose a page with{' '}
          <strong>Filter by</strong> Page above.
        </p>
      ) : null}
    </div>
  );
}
