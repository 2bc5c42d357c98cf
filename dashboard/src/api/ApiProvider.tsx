// The API client of the signed-in user: it sends this tab's token, and a 401 signs the
// user out with the API's reason, which the sign-in page then shows.
import { type ReactNode, createContext, useContext, useMemo, useRef } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { type ApiClient, createApiClient } from './client';

const ApiContext = createContext<ApiClient | null>(null);

export function useApi(): ApiClient {
  const api = useContext(ApiContext);
  if (api === null) throw new Error('useApi is used outside ApiProvider');
  return api;
}

export interface ApiProviderProps {
  children: ReactNode;
  baseUrl?: string;
  fetch?: typeof fetch;
}

export function ApiProvider({ children, baseUrl, fetch }: ApiProviderProps) {
  const auth = useAuth();
  // The client reads the current token and sign-out through a ref, so it is made once.
  const current = useRef(auth);
  current.current = auth;
  const client = useMemo(
    () =>
      createApiClient({
        ...(baseUrl === undefined ? {} : { baseUrl }),
        ...(fetch === undefined ? {} : { fetch }),
        getToken: () => current.current.token?.raw ?? null,
        onUnauthorized: (error) => {
          if (current.current.token !== null) {
            current.current.signOut(`The API refused the token (${error.message}). Sign in again.`);
          }
        },
      }),
    [baseUrl, fetch],
  );
  return <ApiContext.Provider value={client}>{children}</ApiContext.Provider>;
}
