// The filters applied to every page, as chips that remove them, and a small form that
// adds one. Clicking a row of the overview's tables adds one too.
import { type FormEvent, useId, useState } from 'react';
import { DEVICES, FILTER_KEYS, type FilterKey, type Filters, normaliseFilter } from '../state/dashboardSearch';

export const FILTER_LABELS: Record<FilterKey, string> = { path: 'Page', device: 'Device', country: 'Country' };

const HINTS: Record<FilterKey, string> = {
  path: 'A page path starts with /.',
  device: 'Choose a device.',
  country: 'A country is a two-letter code, such as DE.',
};

export interface FilterBarProps {
  filters: Filters;
  onChange(key: FilterKey, value: string | null): void;
  onClear(): void;
}

export function FilterBar({ filters, onChange, onClear }: FilterBarProps) {
  const [key, setKey] = useState<FilterKey>('path');
  const [value, setValue] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const problemId = useId();
  const active = FILTER_KEYS.filter((name) => filters[name] !== undefined);

  function add(event: FormEvent) {
    event.preventDefault();
    const normalised = normaliseFilter(key, value);
    if (normalised === null) {
      setProblem(HINTS[key]);
      return;
    }
    setProblem(null);
    setValue('');
    onChange(key, normalised);
  }

  return (
    <section aria-label="Filters" className="flex flex-wrap items-center gap-3">
      {active.length > 0 ? (
        <ul className="flex flex-wrap items-center gap-2" aria-label="Active filters">
          {active.map((name) => (
            <li
              key={name}
              className="flex items-center gap-1 rounded-full border border-indigo-300 bg-indigo-50 py-0.5 pl-3 pr-1 text-sm text-indigo-900"
            >
              <span>
                {FILTER_LABELS[name]}: <strong className="font-semibold">{filters[name]}</strong>
              </span>
              <button
                type="button"
                className="rounded-full px-1.5 text-base leading-none hover:bg-indigo-200"
                aria-label={`Remove filter ${FILTER_LABELS[name]} ${filters[name]}`}
                onClick={() => onChange(name, null)}
              >
                ×
              </button>
            </li>
          ))}
          {active.length > 1 ? (
            <li>
              <button type="button" className="text-sm text-indigo-800 underline" onClick={onClear}>
                Clear all filters
              </button>
            </li>
          ) : null}
        </ul>
      ) : (
        <p className="text-sm text-slate-700">No filters: every page, device and country.</p>
      )}
      <form className="flex flex-wrap items-center gap-2" onSubmit={add} aria-label="Add a filter">
        <label className="flex items-center gap-1 text-sm">
          Filter by
          <select
            className="rounded-md border border-slate-400 bg-white px-2 py-1"
            value={key}
            onChange={(event) => {
              setKey(event.target.value as FilterKey);
              setValue('');
              setProblem(null);
            }}
          >
            {FILTER_KEYS.map((name) => (
              <option key={name} value={name}>
                {FILTER_LABELS[name]}
              </option>
            ))}
          </select>
        </label>
        {key === 'device' ? (
          <label className="flex items-center gap-1 text-sm">
            <span className="sr-only">Device</span>
            <select
              className="rounded-md border border-slate-400 bg-white px-2 py-1"
              value={value}
              onChange={(event) => setValue(event.target.value)}
              aria-describedby={problem ? problemId : undefined}
            >
              <option value="">Choose…</option>
              {DEVICES.map((device) => (
                <option key={device} value={device}>
                  {device}
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label className="flex items-center gap-1 text-sm">
            <span className="sr-only">{FILTER_LABELS[key]}</span>
            <input
              className="w-40 rounded-md border border-slate-400 px-2 py-1"
              value={value}
              placeholder={key === 'path' ? '/pricing' : 'DE'}
              onChange={(event) => setValue(event.target.value)}
              aria-describedby={problem ? problemId : undefined}
              aria-invalid={problem !== null}
            />
          </label>
        )}
        <button type="submit" className="rounded-md border border-slate-400 px-2.5 py-1 text-sm font-medium">
          Add filter
        </button>
        {problem ? (
          <span id={problemId} role="alert" className="text-sm text-red-800">
            {problem}
          </span>
        ) : null}
      </form>
    </section>
  );
}
