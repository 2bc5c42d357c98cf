// Everything the pages rely on: the clock, the answer cache, the signed-in token and
// the API client. Tests pass their own clock, storage and fetch.
import { type QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { ApiProvider } from '../api/ApiProvider';
import { createQueryClient } from '../api/retry';
import { AuthProvider } from '../auth/AuthProvider';
import { type Clock, ClockContext, systemClock } from './clock';

export interface AppProvidersProps {
  children: ReactNode;
  clock?: Clock;
  storage?: Storage;
  fetch?: typeof fetch;
  queryClient?: QueryClient;
}

export function AppProviders({ children, clock = systemClock, storage, fetch, queryClient }: AppProvidersProps) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <ClockContext.Provider value={clock}>
      <QueryClientProvider client={client}>
        {/* A sign-out drops every cached answer: the next token may see other sites. */}
        <AuthProvider {...(storage ? { storage } : {})} onSignOut={() => client.clear()}>
          <ApiProvider {...(fetch ? { fetch } : {})}>{children}</ApiProvider>
        </AuthProvider>
      </QueryClientProvider>
    </ClockContext.Provider>
  );
}
