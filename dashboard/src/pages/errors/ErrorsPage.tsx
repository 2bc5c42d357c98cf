// The site's JavaScript errors of the days shown, grouped by class and message: how
// often, in how many sessions, first and last seen, a page they happened on (a button
// that filters the dashboard to it) and, when the API names one, a session to look at.
import { Link } from 'react-router';
import { useErrors } from '../../api/hooks';
import type { ErrorGroup } from '../../api/types';
import { usePageTitle } from '../../app/usePageTitle';
import { QueryState } from '../../components/QueryState';
import { SuppressedNote } from '../../components/SuppressedNote';
import { formatUtc } from '../../lib/dates';
import { formatCount } from '../../lib/format';
import { sharedSearch } from '../../state/dashboardSearch';
import { useDashboard, useSiteRead } from '../../state/useDashboard';

export const ERROR_GROUPS_LIMIT = 100;

function GroupRow({
  group,
  search,
  onPath,
  activePath,
}: {
  group: ErrorGroup;
  search: string;
  onPath(path: string | null): void;
  activePath: string | undefined;
}) {
  const active = activePath === group.example_path;
  return (
    <tr className="border-b border-slate-200 align-top">
      <td className="max-w-md py-2 pr-3">
        <span className="mr-2 rounded bg-slate-200 px-1.5 py-0.5 font-mono text-xs text-slate-900">
          {group.error_class || 'unclassified'}
        </span>
        <span className="break-words">{group.message || '(no message)'}</span>
      </td>
      <td className="py-2 pl-3 text-right tabular-nums">{formatCount(group.occurrences)}</td>
      <td className="py-2 pl-3 text-right tabular-nums">{formatCount(group.sessions)}</td>
      <td className="py-2 pl-3 whitespace-nowrap">{formatUtc(group.first_seen)}</td>
      <td className="py-2 pl-3 whitespace-nowrap">{formatUtc(group.last_seen)}</td>
      <td className="max-w-48 py-2 pl-3">
        {group.example_path ? (
          <button
            type="button"
            aria-pressed={active}
            title={active ? `Remove the filter ${group.example_path}` : `Show only ${group.example_path}`}
            className="block max-w-full truncate text-left font-medium text-indigo-900 hover:underline aria-pressed:underline"
            onClick={() => onPath(active ? null : group.example_path)}
          >
            {group.example_path}
          </button>
        ) : (
          '–'
        )}
      </td>
      <td className="py-2 pl-3 whitespace-nowrap">
        {group.example_session_id ? (
          <Link
            className="font-medium text-indigo-800 underline"
            to={{ pathname: `/sessions/${encodeURIComponent(group.example_session_id)}`, search }}
          >
            View session
          </Link>
        ) : (
          <span className="text-slate-700">–</span>
        )}
      </td>
    </tr>
  );
}

export default function ErrorsPage() {
  usePageTitle('Errors');
  const dashboard = useDashboard();
  const read = useSiteRead();
  const query = useErrors(read, ERROR_GROUPS_LIMIT);
  const search = sharedSearch(dashboard.params);
  return (
    <section aria-labelledby="page-title" className="flex flex-col gap-4">
      <h1 id="page-title" className="text-2xl font-semibold">
        Errors
      </h1>
      <QueryState query={query} what="the errors">
        {(answer) =>
          answer.groups.length === 0 ? (
            <div>
              <p className="text-slate-700">No errors on these days.</p>
              <SuppressedNote suppressed={answer.suppressed} noun="error group" />
            </div>
          ) : (
            <div className="overflow-x-auto rounded-lg border border-slate-300 bg-white p-4">
              <table className="w-full text-left text-sm">
                <caption className="mb-2 text-left text-slate-700">
                  {formatCount(answer.groups.length)} error groups,{' '}
                  {formatCount(answer.groups.reduce((sum, group) => sum + group.occurrences, 0))} occurrences,{' '}
                  {answer.date_from} to {answer.date_to} (UTC)
                </caption>
                <thead>
                  <tr className="border-b border-slate-300">
                    <th scope="col" className="py-1.5 pr-3 font-medium">
                      Error
                    </th>
                    <th scope="col" className="py-1.5 pl-3 text-right font-medium">
                      Occurrences
                    </th>
                    <th scope="col" className="py-1.5 pl-3 text-right font-medium">
                      Sessions
                    </th>
                    <th scope="col" className="py-1.5 pl-3 font-medium">
                      First seen
                    </th>
                    <th scope="col" className="py-1.5 pl-3 font-medium">
                      Last seen
                    </th>
                    <th scope="col" className="py-1.5 pl-3 font-medium">
                      Example page
                    </th>
                    <th scope="col" className="py-1.5 pl-3 font-medium">
                      Session
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {answer.groups.map((group) => (
                    <GroupRow
                      key={`${group.error_class}\u0000${group.message}`}
                      group={group}
                      search={search}
                      activePath={dashboard.view.filters.path}
                      onPath={(path) => dashboard.setFilter('path', path)}
                    />
                  ))}
                </tbody>
              </table>
              <SuppressedNote suppressed={answer.suppressed} noun="error group" />
            </div>
          )
        }
      </QueryState>
    </section>
  );
}
