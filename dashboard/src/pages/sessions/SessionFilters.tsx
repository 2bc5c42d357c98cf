// The session list's own filters: rage clicks, errors, recording and a minimum duration.
// The page, device and country filters are the dashboard's (the filter bar above).
import type { SessionListFilters } from '../../api/sessions';
import { formatDuration } from '../../lib/format';

/** The minimum durations offered, in seconds (0: any length). */
export const MIN_DURATION_CHOICES = [0, 10, 30, 60, 180, 600, 1800] as const;

export function durationChoiceLabel(seconds: number): string {
  if (seconds === 0) return 'Any';
  if (seconds % 60 === 0) return `${seconds / 60} minute${seconds === 60 ? '' : 's'}`;
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  return formatDuration(seconds);
}

export interface SessionFiltersProps {
  filters: SessionListFilters;
  onChange(filters: SessionListFilters): void;
}

const CONTROL = 'rounded-md border border-slate-400 bg-white px-2 py-1 text-sm';

export function SessionFilters({ filters, onChange }: SessionFiltersProps) {
  const durations: number[] = [...MIN_DURATION_CHOICES];
  // A link may carry another minimum: offer it too, so the select shows what applies.
  if (!durations.includes(filters.minDuration)) durations.push(filters.minDuration);
  durations.sort((a, b) => a - b);
  return (
    <fieldset className="flex flex-wrap items-center gap-x-5 gap-y-2 rounded-lg border border-slate-300 bg-white px-4 py-3">
      <legend className="px-1 text-sm font-semibold">Show sessions</legend>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          className="size-4"
          checked={filters.hasRageClicks}
          onChange={(event) => onChange({ ...filters, hasRageClicks: event.target.checked })}
        />
        With rage clicks
      </label>
      <label className="flex items-center gap-2 text-sm">
        <input
          type="checkbox"
          className="size-4"
          checked={filters.hasErrors}
          onChange={(event) => onChange({ ...filters, hasErrors: event.target.checked })}
        />
        With errors
      </label>
      <label className="flex items-center gap-2 text-sm">
        Recording
        <select
          className={CONTROL}
          value={filters.recording}
          onChange={(event) =>
            onChange({ ...filters, recording: event.target.value as SessionListFilters['recording'] })
          }
        >
          <option value="any">Any</option>
          <option value="with">With a recording</option>
          <option value="without">Without a recording</option>
        </select>
      </label>
      <label className="flex items-center gap-2 text-sm">
        Minimum duration
        <select
          className={CONTROL}
          value={String(filters.minDuration)}
          onChange={(event) => onChange({ ...filters, minDuration: Number(event.target.value) })}
        >
          {durations.map((seconds) => (
            <option key={seconds} value={seconds}>
              {durationChoiceLabel(seconds)}
            </option>
          ))}
        </select>
      </label>
      <p className="basis-full text-xs text-slate-700">
        Page, device and country are the filters above; with a page filter, the list shows the sessions that viewed that
        page.
      </p>
    </fieldset>
  );
}
