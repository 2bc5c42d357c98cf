// Who is signed in: the token of this tab (sessionStorage), and the notice the sign-in
// page shows after a sign-out the user did not ask for (an expired or refused token).
import { type ReactNode, createContext, useCallback, useContext, useMemo, useState } from 'react';
import { useClock } from '../app/clock';
import { type DecodedToken, type SignedInToken, clearToken, decodeToken, loadToken, saveToken } from './token';

export interface Auth {
  token: SignedInToken | null;
  /** Why the user was signed out, shown on the sign-in page; null after a chosen sign-out. */
  notice: string | null;
  /** Keeps the pasted token when it is usable; answers why not otherwise. */
  signIn(pasted: string): DecodedToken;
  signOut(notice?: string): void;
}

const AuthContext = createContext<Auth | null>(null);

export function useAuth(): Auth {
  const auth = useContext(AuthContext);
  if (auth === null) throw new Error('useAuth is used outside AuthProvider');
  return auth;
}

export interface AuthProviderProps {
  children: ReactNode;
  /** Where the token lives: the tab's sessionStorage unless a test passes another. */
  storage?: Storage;
  /** Called on every sign-out, e.g. to drop the cached answers of the old token. */
  onSignOut?: () => void;
}

export function AuthProvider({ children, storage = window.sessionStorage, onSignOut }: AuthProviderProps) {
  const clock = useClock();
  const [state, setState] = useState<{ token: SignedInToken | null; notice: string | null }>(() => {
    const stored = loadToken(storage, clock());
    if (stored === null) return { token: null, notice: null };
    if (stored.ok) return { token: stored.token, notice: null };
    return { token: null, notice: `${stored.reason} Sign in again.` };
  });

  const signIn = useCallback(
    (pasted: string) => {
      const decoded = decodeToken(pasted, clock());
      if (decoded.ok) {
        saveToken(storage, decoded.token);
        setState({ token: decoded.token, notice: null });
      }
      return decoded;
    },
    [clock, storage],
  );

  const signOut = useCallback(
    (notice?: string) => {
      clearToken(storage);
      setState({ token: null, notice: notice ?? null });
      onSignOut?.();
    },
    [storage, onSignOut],
  );

  const auth = useMemo(() => ({ ...state, signIn, signOut }), [state, signIn, signOut]);
  return <AuthContext.Provider value={auth}>{children}</AuthContext.Provider>;
}
