// One hook per read of the query API, on TanStack Query: answers are cached per site,
// days and filters, and retried as api/retry.ts says.
import { type UseQueryResult, keepPreviousData, useQuery } from '@tanstack/react-query';
import type { StatsParams } from './client';
import { useApi } from './ApiProvider';
import type { Breakdown, BreakdownDimension, ErrorsAnswer, Interval, StatsSummary, Timeseries } from './types';

/** A read of one site, or of no site yet (then nothing is fetched). */
export interface SiteRead extends StatsParams {
  site: string | null;
}

function params({ from, to, path, device, country }: SiteRead): StatsParams {
  return { from, to, path, device, country };
}

export const queryKeys = {
  stats: (read: SiteRead) => ['stats', read.site, params(read)] as const,
  timeseries: (read: SiteRead, interval: Interval) => ['timeseries', read.site, interval, params(read)] as const,
  breakdown: (read: SiteRead, by: BreakdownDimension, limit: number) =>
    ['breakdown', read.site, by, limit, params(read)] as const,
  errors: (read: SiteRead, limit: number) => ['errors', read.site, limit, params(read)] as const,
};

export function useStats(read: SiteRead): UseQueryResult<StatsSummary> {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.stats(read),
    queryFn: () => api.stats(read.site as string, params(read)),
    enabled: read.site !== null,
  });
}

export function useTimeseries(read: SiteRead, interval: Interval): UseQueryResult<Timeseries> {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.timeseries(read, interval),
    queryFn: () => api.timeseries(read.site as string, { ...params(read), interval }),
    enabled: read.site !== null,
    // Keep the old chart on screen while the next interval loads.
    placeholderData: keepPreviousData,
  });
}

export function useBreakdown(read: SiteRead, by: BreakdownDimension, limit = 10): UseQueryResult<Breakdown> {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.breakdown(read, by, limit),
    queryFn: () => api.breakdown(read.site as string, { ...params(read), by, limit }),
    enabled: read.site !== null,
  });
}

export function useErrors(read: SiteRead, limit = 100): UseQueryResult<ErrorsAnswer> {
  const api = useApi();
  return useQuery({
    queryKey: queryKeys.errors(read, limit),
    queryFn: () => api.errors(read.site as string, { ...params(read), limit }),
    enabled: read.site !== null,
  });
}
