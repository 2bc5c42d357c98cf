// The signed-in dashboard: navigation on the left; the site, the days and sign-out
// above; the filters; then the page. Without a token it sends the user to sign in,
// remembering where they were going (a shared link opens after sign-in).
import { Suspense, useEffect } from 'react';
import { Link, Navigate, Outlet, useLocation, useSearchParams } from 'react-router';
import { useAuth } from '../auth/AuthProvider';
import { type SignedInToken, timeLeft } from '../auth/token';
import { DateRangePicker } from '../components/DateRangePicker';
import { FilterBar } from '../components/FilterBar';
import { SitePicker } from '../components/SitePicker';
import { sharedSearch, withSite } from '../state/dashboardSearch';
import { useDashboard } from '../state/useDashboard';
import { useClock } from './clock';
import { Navigation } from './Navigation';

export interface SignInState {
  /** The path and search to return to after signing in. */
  from?: string;
}

export function Layout() {
  const { token } = useAuth();
  const location = useLocation();
  if (token === null) {
    const state: SignInState = { from: location.pathname + location.search };
    return <Navigate to="/sign-in" replace state={state} />;
  }
  return <Shell token={token} />;
}

function Shell({ token }: { token: SignedInToken }) {
  const { signOut } = useAuth();
  const clock = useClock();
  const dashboard = useDashboard();
  const [, setParams] = useSearchParams();
  const { site } = dashboard.view;
  const sites = token.claims.sites;

  // A link without a site opens the token's first site, in place (no extra history entry).
  useEffect(() => {
    if (site === null && sites[0] !== undefined) {
      setParams((current) => withSite(current, sites[0] as string), { replace: true });
    }
  }, [site, sites, setParams]);

  const granted = site !== null && sites.includes(site);
  return (
    <div className="flex min-h-screen flex-col md:flex-row">
      <a
        href="#main"
        // Focus the page in place: a fragment navigation would add a history entry.
        onClick={(event) => {
          event.preventDefault();
          document.getElementById('main')?.focus();
        }}
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-10 focus:rounded-md focus:bg-white focus:px-3 focus:py-2"
      >
        Skip to the page
      </a>
      <nav
        aria-label="Dashboard"
        className="shrink-0 border-b border-slate-300 bg-white pb-3 md:w-52 md:border-b-0 md:border-r"
      >
        <p className="px-5 py-4 text-lg font-semibold text-indigo-900">InsightLite</p>
        <Navigation search={sharedSearch(dashboard.params)} />
      </nav>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex flex-wrap items-center gap-x-6 gap-y-3 border-b border-slate-300 bg-white px-6 py-3">
          <SitePicker sites={sites} value={site} onChange={dashboard.setSite} />
          <DateRangePicker
            preset={dashboard.view.preset}
            range={dashboard.view.range}
            onPreset={dashboard.setPreset}
            onCustom={dashboard.setCustomRange}
          />
          <div className="ml-auto flex items-center gap-3 text-sm text-slate-700">
            <span>
              {token.claims.sub ?? 'Signed in'}, token expires {timeLeft(token.claims.exp, clock())}
            </span>
            <button
              type="button"
              className="rounded-md border border-slate-400 px-2.5 py-1.5 font-medium text-slate-900"
              onClick={() => signOut()}
            >
              Sign out
            </button>
          </div>
        </header>
        <div className="border-b border-slate-300 bg-white px-6 py-2">
          <FilterBar filters={dashboard.view.filters} onChange={dashboard.setFilter} onClear={dashboard.clearFilters} />
        </div>
        <main id="main" tabIndex={-1} className="flex-1 px-6 py-6">
          {site !== null && !granted ? (
            <div
              role="alert"
              className="max-w-xl rounded-md border border-amber-400 bg-amber-50 px-4 py-3 text-amber-950"
            >
              This token does not grant the site <strong>{site}</strong>. Choose one of its sites above.
            </div>
          ) : site === null ? null : (
            <Suspense fallback={<p role="status">Loading the page…</p>}>
              <Outlet />
            </Suspense>
          )}
        </main>
      </div>
    </div>
  );
}

export function NotFoundPage() {
  const [params] = useSearchParams();
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" className="text-2xl font-semibold">
        No such page
      </h1>
      <p className="mt-2">
        <Link className="text-indigo-800 underline" to={{ pathname: '/', search: sharedSearch(params) }}>
          Go to the overview
        </Link>
      </p>
    </section>
  );
}
