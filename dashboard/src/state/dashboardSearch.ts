// The dashboard's view kept in the URL's search params, so a link opens the same view:
//   site      the site shown
//   range     today | 7d | 30d | custom (with from and to, inclusive UTC days)
//   path, device, country   filters applied to every page
// Pages may add their own params (the overview's `interval`); those are not carried
// from one page to another. Values a link carries that the API would refuse are
// ignored, so a damaged link still opens a working view.
import { addDays, daysInRange, isDay } from '../lib/dates';

export const RANGE_PRESETS = ['today', '7d', '30d', 'custom'] as const;
export type RangePreset = (typeof RANGE_PRESETS)[number];
export const DEFAULT_PRESET: RangePreset = '30d';
/** The API's longest range (INSIGHTLITE_API_MAX_RANGE_DAYS by default). */
export const MAX_RANGE_DAYS = 366;

export const DEVICES = ['desktop', 'mobile', 'tablet', 'other'] as const;
export type Device = (typeof DEVICES)[number];

export const FILTER_KEYS = ['path', 'device', 'country'] as const;
export type FilterKey = (typeof FILTER_KEYS)[number];
export type Filters = Partial<Record<FilterKey, string>>;

/** The params every page shares; the navigation carries these and only these. */
const SHARED_KEYS = ['site', 'range', 'from', 'to', ...FILTER_KEYS] as const;

export interface DayRange {
  from: string;
  to: string;
}

export interface DashboardView {
  site: string | null;
  preset: RangePreset;
  range: DayRange;
  filters: Filters;
}

const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** The filter's value as the API takes it, or null when the API would refuse it. */
export function normaliseFilter(key: FilterKey, raw: string): string | null {
  const value = raw.trim();
  switch (key) {
    case 'path':
      return value.startsWith('/') && value.length <= 1024 && !CONTROL_CHARACTER.test(value) ? value : null;
    case 'device':
      return (DEVICES as readonly string[]).includes(value.toLowerCase()) ? value.toLowerCase() : null;
    case 'country':
      return /^[A-Za-z]{2}$/.test(value) ? value.toUpperCase() : null;
  }
}

/** The inclusive days of a preset ending today. */
export function presetRange(preset: Exclude<RangePreset, 'custom'>, today: string): DayRange {
  const length = { today: 1, '7d': 7, '30d': 30 }[preset];
  return { from: addDays(today, -(length - 1)), to: today };
}

/** Why a custom range cannot be used, or null when it can. */
export function customRangeProblem(from: string, to: string): string | null {
  if (!isDay(from) || !isDay(to)) return 'Enter both days as YYYY-MM-DD.';
  if (from > to) return 'The first day is after the last day.';
  if (daysInRange(from, to) > MAX_RANGE_DAYS) return `A range is at most ${MAX_RANGE_DAYS} days.`;
  return null;
}

/** The period of the same length just before `range` (for "change vs previous"). */
export function previousRange(range: DayRange): DayRange {
  const length = daysInRange(range.from, range.to);
  return { from: addDays(range.from, -length), to: addDays(range.from, -1) };
}

export function readView(params: URLSearchParams, today: string): DashboardView {
  const site = params.get('site') || null;
  let preset = params.get('range') as RangePreset | null;
  if (!preset || !(RANGE_PRESETS as readonly string[]).includes(preset)) preset = DEFAULT_PRESET;
  let range: DayRange;
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  if (preset === 'custom' && customRangeProblem(from, to) === null) {
    range = { from, to };
  } else {
    if (preset === 'custom') preset = DEFAULT_PRESET;
    range = presetRange(preset as Exclude<RangePreset, 'custom'>, today);
  }
  const filters: Filters = {};
  for (const key of FILTER_KEYS) {
    const raw = params.get(key);
    const value = raw === null ? null : normaliseFilter(key, raw);
    if (value !== null) filters[key] = value;
  }
  return { site, preset, range, filters };
}

export function withPreset(params: URLSearchParams, preset: Exclude<RangePreset, 'custom'>): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set('range', preset);
  next.delete('from');
  next.delete('to');
  return next;
}

export function withCustomRange(params: URLSearchParams, range: DayRange): URLSearchParams {
  const next = new URLSearchParams(params);
  next.set('range', 'custom');
  next.set('from', range.from);
  next.set('to', range.to);
  return next;
}

/** Sets a filter (null removes it); a value the API would refuse is not set. */
export function withFilter(params: URLSearchParams, key: FilterKey, value: string | null): URLSearchParams {
  const next = new URLSearchParams(params);
  const normalised = value === null ? null : normaliseFilter(key, value);
  if (normalised === null) next.delete(key);
  else next.set(key, normalised);
  return next;
}

export function withoutFilters(params: URLSearchParams): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const key of FILTER_KEYS) next.delete(key);
  return next;
}

/** Another site: the range stays, the filters go (one site's pages are not another's). */
export function withSite(params: URLSearchParams, site: string): URLSearchParams {
  const next = withoutFilters(params);
  next.set('site', site);
  return next;
}

/** The search string ("?site=...") of the params all pages share. */
export function sharedSearch(params: URLSearchParams): string {
  const shared = new URLSearchParams();
  for (const key of SHARED_KEYS) {
    const value = params.get(key);
    if (value !== null) shared.set(key, value);
  }
  const text = shared.toString();
  return text ? `?${text}` : '';
}
