// The dashboard's view from the URL, and the changes pages and controls make to it.
import { useCallback, useMemo } from 'react';
import { useSearchParams } from 'react-router';
import { useClock } from '../app/clock';
import type { SiteRead } from '../api/hooks';
import { utcDay } from '../lib/dates';
import {
  type DashboardView,
  type DayRange,
  type FilterKey,
  type RangePreset,
  readView,
  withCustomRange,
  withFilter,
  withPreset,
  withSite,
  withoutFilters,
} from './dashboardSearch';

export interface Dashboard {
  view: DashboardView;
  params: URLSearchParams;
  today: string;
  setPreset(preset: Exclude<RangePreset, 'custom'>): void;
  setCustomRange(range: DayRange): void;
  /** Sets a filter for every page; null removes it. */
  setFilter(key: FilterKey, value: string | null): void;
  clearFilters(): void;
  setSite(site: string): void;
  /** Sets or removes one of the page's own params (e.g. the overview's interval). */
  setParam(key: string, value: string | null): void;
}

export function useDashboard(): Dashboard {
  const [params, setParams] = useSearchParams();
  const today = utcDay(useClock()());
  const view = useMemo(() => readView(params, today), [params, today]);
  const update = useCallback(
    (change: (current: URLSearchParams) => URLSearchParams) => setParams((current) => change(current)),
    [setParams],
  );
  return {
    view,
    params,
    today,
    setPreset: (preset) => update((current) => withPreset(current, preset)),
    setCustomRange: (range) => update((current) => withCustomRange(current, range)),
    setFilter: (key, value) => update((current) => withFilter(current, key, value)),
    clearFilters: () => update((current) => withoutFilters(current)),
    setSite: (site) => update((current) => withSite(current, site)),
    setParam: (key, value) =>
      update((current) => {
        const next = new URLSearchParams(current);
        if (value === null) next.delete(key);
        else next.set(key, value);
        return next;
      }),
  };
}

/** The site, days and filters every read of the current view uses. */
export function useSiteRead(): SiteRead {
  const { view } = useDashboard();
  return { site: view.site, from: view.range.from, to: view.range.to, ...view.filters };
}
