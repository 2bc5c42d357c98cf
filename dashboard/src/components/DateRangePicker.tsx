// The days shown: today, the last 7 or 30 days (ending today, UTC), or any range of
// days up to the API's longest.
import { type FormEvent, useEffect, useId, useState } from 'react';
import { type DayRange, type RangePreset, customRangeProblem } from '../state/dashboardSearch';
import { TOGGLE_BUTTON } from './styles';

const PRESETS: Array<{ preset: Exclude<RangePreset, 'custom'>; label: string }> = [
  { preset: 'today', label: 'Today' },
  { preset: '7d', label: '7 days' },
  { preset: '30d', label: '30 days' },
];

export interface DateRangePickerProps {
  preset: RangePreset;
  range: DayRange;
  onPreset(preset: Exclude<RangePreset, 'custom'>): void;
  onCustom(range: DayRange): void;
}

export function DateRangePicker({ preset, range, onPreset, onCustom }: DateRangePickerProps) {
  const [editing, setEditing] = useState(preset === 'custom');
  const [draft, setDraft] = useState<DayRange>(range);
  const [problem, setProblem] = useState<string | null>(null);
  const problemId = useId();
  // A range changed elsewhere (a link, the back button) is the new starting point.
  useEffect(() => setDraft({ from: range.from, to: range.to }), [range.from, range.to]);
  useEffect(() => setEditing(preset === 'custom'), [preset]);

  function apply(event: FormEvent) {
    event.preventDefault();
    const found = customRangeProblem(draft.from, draft.to);
    setProblem(found);
    if (found === null) onCustom(draft);
  }

  return (
    <fieldset className="flex flex-wrap items-center gap-2">
      <legend className="sr-only">Date range</legend>
      {PRESETS.map(({ preset: choice, label }) => (
        <button
          key={choice}
          type="button"
          className={TOGGLE_BUTTON}
          aria-pressed={preset === choice}
          onClick={() => {
            setEditing(false);
            setProblem(null);
            onPreset(choice);
          }}
        >
          {label}
        </button>
      ))}
      <button type="button" className={TOGGLE_BUTTON} aria-pressed={editing} onClick={() => setEditing(true)}>
        Custom
      </button>
      {editing ? (
        <form className="flex flex-wrap items-center gap-2" onSubmit={apply} aria-label="Custom date range">
          <label className="flex items-center gap-1 text-sm">
            From
            <input
              type="date"
              className="rounded-md border border-slate-400 px-2 py-1"
              value={draft.from}
              onChange={(event) => setDraft({ ...draft, from: event.target.value })}
              aria-describedby={problem ? problemId : undefined}
              aria-invalid={problem !== null}
            />
          </label>
          <label className="flex items-center gap-1 text-sm">
            To
            <input
              type="date"
              className="rounded-md border border-slate-400 px-2 py-1"
              value={draft.to}
              onChange={(event) => setDraft({ ...draft, to: event.target.value })}
              aria-describedby={problem ? problemId : undefined}
              aria-invalid={problem !== null}
            />
          </label>
          <button type="submit" className="rounded-md bg-indigo-700 px-2.5 py-1.5 text-sm font-medium text-white">
            Apply
          </button>
          {problem ? (
            <span id={problemId} role="alert" className="text-sm text-red-800">
              {problem}
            </span>
          ) : null}
        </form>
      ) : null}
      <span className="text-sm text-slate-700">
        {range.from === range.to ? range.from : `${range.from} to ${range.to}`} (UTC)
      </span>
    </fieldset>
  );
}
