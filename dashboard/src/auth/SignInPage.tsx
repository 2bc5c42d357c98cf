// Sign-in: paste an API token. Its claims are read here only to show which sites it
// grants and until when; the API verifies it on every request.
import { type FormEvent, useId, useMemo, useRef, useState } from 'react';
import { Navigate, useLocation, useNavigate } from 'react-router';
import type { SignInState } from '../app/Layout';
import { useClock } from '../app/clock';
import { usePageTitle } from '../app/usePageTitle';
import { useAuth } from './AuthProvider';
import { decodeToken, formatExpiry, timeLeft } from './token';

function returnTo(state: unknown): string {
  const from = (state as SignInState | null)?.from;
  // Only a path of this app: never an address elsewhere.
  return typeof from === 'string' && from.startsWith('/') && !from.startsWith('//') ? from : '/';
}

export function SignInPage() {
  usePageTitle('Sign in');
  const auth = useAuth();
  const clock = useClock();
  const location = useLocation();
  const navigate = useNavigate();
  const [pasted, setPasted] = useState('');
  const [refusal, setRefusal] = useState<string | null>(null);
  const field = useRef<HTMLTextAreaElement>(null);
  const hintId = useId();
  const refusalId = useId();
  const preview = useMemo(() => (pasted.trim() ? decodeToken(pasted, clock()) : null), [pasted, clock]);

  if (auth.token !== null) return <Navigate to={returnTo(location.state)} replace />;

  function submit(event: FormEvent) {
    event.preventDefault();
    const result = auth.signIn(pasted);
    if (result.ok) {
      navigate(returnTo(location.state), { replace: true });
    } else {
      setRefusal(result.reason);
      field.current?.focus();
    }
  }

  return (
    <main className="mx-auto max-w-2xl px-6 py-12">
      <h1 className="text-2xl font-semibold">Sign in to InsightLite</h1>
      {auth.notice ? (
        <p role="alert" className="mt-4 rounded-md border border-amber-400 bg-amber-50 px-4 py-3 text-amber-950">
          {auth.notice}
        </p>
      ) : null}
      <form className="mt-6 flex flex-col gap-3" onSubmit={submit}>
        <label htmlFor="token" className="font-medium">
          API token
        </label>
        <textarea
          id="token"
          ref={field}
          rows={5}
          spellCheck={false}
          autoComplete="off"
          className="rounded-md border border-slate-400 bg-white px-3 py-2 font-mono text-sm break-all"
          value={pasted}
          onChange={(event) => {
            setPasted(event.target.value);
            setRefusal(null);
          }}
          aria-describedby={refusal ? `${refusalId} ${hintId}` : hintId}
          aria-invalid={refusal !== null}
        />
        <p id={hintId} className="text-sm text-slate-700">
          Use a token from <code>insightlite token create --site SITE --permissions stats:read,sessions:read</code>, or
          the one <code>insightlite demo --serve</code> prints. It is kept in this browser tab only, until you sign out
          or close the tab.
        </p>
        {refusal ? (
          <p id={refusalId} role="alert" className="text-sm font-medium text-red-800">
            {refusal}
          </p>
        ) : null}
        {preview?.ok ? (
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 rounded-md border border-slate-300 bg-white px-4 py-3 text-sm">
            <dt className="font-medium">Sites</dt>
            <dd>{preview.token.claims.sites.join(', ')}</dd>
            <dt className="font-medium">Permissions</dt>
            <dd>{preview.token.claims.permissions.join(', ') || 'none'}</dd>
            <dt className="font-medium">Expires</dt>
            <dd>
              {formatExpiry(preview.token.claims.exp)} ({timeLeft(preview.token.claims.exp, clock())})
            </dd>
          </dl>
        ) : preview && !refusal ? (
          <p className="text-sm text-slate-700">{preview.reason}</p>
        ) : null}
        <button type="submit" className="self-start rounded-md bg-indigo-700 px-4 py-2 font-medium text-white">
          Sign in
        </button>
      </form>
    </main>
  );
}
