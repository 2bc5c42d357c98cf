// What a read shows before its answer is there: loading (and why it waits, when the
// API asked to wait), or the failure with the API's reason.
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { ApiErrorMessage } from './ApiErrorMessage';

export interface QueryStateProps<T> {
  query: UseQueryResult<T>;
  /** What is loaded, for messages: "top pages". */
  what: string;
  children: (data: T) => ReactNode;
}

export function QueryState<T>({ query, what, children }: QueryStateProps<T>) {
  if (query.data !== undefined) return <>{children(query.data)}</>;
  if (query.isError) return <ApiErrorMessage what={what} error={query.error} />;
  const waiting = query.failureReason instanceof ApiError ? query.failureReason : null;
  return (
    <p role="status" className="py-4 text-sm text-slate-600">
      {waiting ? `The API asked to wait (${waiting.message}); trying ${what} again…` : `Loading ${what}…`}
    </p>
  );
}
