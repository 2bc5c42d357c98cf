// The site's sessions of the days shown, newest first, a page at a time (keyset
// cursors), filtered by the dashboard's page, device and country and by the list's own
// filters; each row opens its session.
import { useEffect } from 'react';
import { useLocation, useSearchParams } from 'react-router';
import { type SessionListFilters, type SessionsPage as SessionsAnswer, useSessions } from '../../api/sessions';
import { usePageTitle } from '../../app/usePageTitle';
import { QueryState } from '../../components/QueryState';
import { formatCount } from '../../lib/format';
import { useSiteRead } from '../../state/useDashboard';
import { SessionFilters } from './SessionFilters';
import { SessionsTable } from './SessionsTable';
import {
  MAX_CURSOR_TRAIL,
  cursorTrail,
  hasStalePaging,
  readListFilters,
  withFirstPage,
  withListFilters,
  withNextPage,
  withPreviousPage,
} from './sessionsSearch';

/** Sessions per page. */
export const SESSIONS_PAGE_SIZE = 50;

const PAGER_BUTTON =
  'rounded-md border border-slate-400 bg-white px-2.5 py-1.5 text-sm font-medium disabled:border-slate-300 disabled:text-slate-500';

function pageLabel(trail: readonly string[]): string {
  return trail.length < MAX_CURSOR_TRAIL ? `page ${trail.length + 1}` : 'a later page';
}

function caption(answer: SessionsAnswer, trail: readonly string[]): string {
  const shown = answer.sessions.length;
  return (
    `Sessions that started ${answer.date_from} to ${answer.date_to} (UTC), newest first: ` +
    `${pageLabel(trail)}, ${formatCount(shown)} session${shown === 1 ? '' : 's'}`
  );
}

export default function SessionsPage() {
  usePageTitle('Sessions');
  const [params, setParams] = useSearchParams();
  const location = useLocation();
  const read = useSiteRead();
  const filters = readListFilters(params);
  const trail = cursorTrail(params);
  const query = useSessions({
    ...read,
    filters,
    cursor: trail[trail.length - 1] ?? null,
    limit: SESSIONS_PAGE_SIZE,
  });

  // Cursors of another view (a filter changed above since) lead nowhere: drop them in place.
  const stale = hasStalePaging(params);
  useEffect(() => {
    if (stale) setParams((current) => withFirstPage(current), { replace: true });
  }, [stale, setParams]);

  const change = (update: (current: URLSearchParams) => URLSearchParams) => setParams((current) => update(current));
  const nextCursor = query.data?.next_cursor ?? null;
  const loadingPage = query.isPlaceholderData && query.isFetching;

  return (
    <section aria-labelledby="page-title" className="flex flex-col gap-4">
      <h1 id="page-title" className="text-2xl font-semibold">
        Sessions
      </h1>
      <SessionFilters
        filters={filters}
        onChange={(next: SessionListFilters) => change((current) => withListFilters(current, next))}
      />
      <QueryState query={query} what="the sessions">
        {(answer) =>
          answer.sessions.length === 0 ? (
            <p className="text-slate-700">
              {trail.length === 0 ? 'No sessions match these days and filters.' : 'No more sessions.'}
            </p>
          ) : (
            <SessionsTable
              sessions={answer.sessions}
              caption={caption(answer, trail)}
              search={location.search}
              busy={loadingPage}
            />
          )
        }
      </QueryState>
      <nav aria-label="Pages of sessions" className="flex flex-wrap items-center gap-2">
        <button
          type="button"
          className={PAGER_BUTTON}
          disabled={trail.length === 0}
          onClick={() => change(withFirstPage)}
        >
          First page
        </button>
        <button
          type="button"
          className={PAGER_BUTTON}
          disabled={trail.length === 0}
          onClick={() => change(withPreviousPage)}
        >
          Previous page
        </button>
        <button
          type="button"
          className={PAGER_BUTTON}
          disabled={nextCursor === null || loadingPage}
          onClick={() => nextCursor !== null && change((current) => withNextPage(current, nextCursor))}
        >
          Next page
        </button>
        <span role="status" className="text-sm text-slate-700">
          {loadingPage ? 'Loading the page…' : ''}
        </span>
      </nav>
    </section>
  );
}
