// When TanStack Query tries a failed read again: 429 (rate limited, too many requests
// in progress) and 503 (ClickHouse or the archive unavailable) a few times, after the
// API's Retry-After; a network failure or another 5xx once; a 4xx never (the same
// request would get the same answer, and a 401 has already signed the user out).
import { QueryClient } from '@tanstack/react-query';
import { ApiError } from './client';

export const MAX_RETRIES = 3;
/** The longest wait honoured, whatever Retry-After says: the user is watching. */
export const MAX_RETRY_DELAY_MS = 60_000;

export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  if (error.status === 429 || error.status === 503) return failureCount < MAX_RETRIES;
  if (error.status === 0 || error.status >= 500) return failureCount < 1;
  return false;
}

export function retryDelay(failureCount: number, error: unknown): number {
  if (error instanceof ApiError && error.retryAfterSeconds !== null) {
    return Math.min(error.retryAfterSeconds * 1000, MAX_RETRY_DELAY_MS);
  }
  return Math.min(1000 * 2 ** failureCount, 30_000);
}

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        retry: shouldRetry,
        retryDelay,
        // The API caches answers for 5 minutes; asking again sooner rarely helps.
        staleTime: 60_000,
        refetchOnWindowFocus: false,
      },
    },
  });
}
