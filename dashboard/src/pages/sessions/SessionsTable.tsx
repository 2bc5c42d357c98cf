// One page of sessions as a table. Each row opens its session: the start time is the
// link (Tab reaches it, Enter follows it), and a click anywhere on the row does the same.
import { Link, useNavigate } from 'react-router';
import type { Session } from '../../api/sessions';
import { formatUtc } from '../../lib/dates';
import { formatCount, formatDuration } from '../../lib/format';

export interface SessionsTableProps {
  sessions: Session[];
  caption: string;
  /** The search string the session links carry, so Back and "All sessions" return here. */
  search: string;
  busy: boolean;
}

const HEAD = 'py-1.5 px-2 font-medium whitespace-nowrap';
const CELL = 'py-2 px-2';

export function sessionHref(id: string): string {
  return `/sessions/${encodeURIComponent(id)}`;
}

function plural(count: number, one: string, many: string): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

export function SignalBadges({ session }: { session: Session }) {
  const rage = session.has_rage_clicks ? Math.max(session.rage_click_count, 1) : 0;
  const errors = session.has_errors ? Math.max(session.error_count, 1) : 0;
  if (rage === 0 && errors === 0) return <span className="text-slate-700">–</span>;
  return (
    <span className="flex flex-wrap gap-1">
      {rage > 0 ? (
        <span className="rounded bg-amber-100 px-1.5 py-0.5 text-xs font-medium text-amber-950">
          {plural(rage, 'rage click', 'rage clicks')}
        </span>
      ) : null}
      {errors > 0 ? (
        <span className="rounded bg-red-100 px-1.5 py-0.5 text-xs font-medium text-red-900">
          {plural(errors, 'error', 'errors')}
        </span>
      ) : null}
    </span>
  );
}

export function RecordingIndicator({ recorded }: { recorded: boolean | undefined }) {
  if (recorded === true) {
    return (
      <span className="inline-flex items-center gap-1 font-medium text-indigo-900">
        <span aria-hidden="true">▶</span>
        Recorded
      </span>
    );
  }
  return (
    <span className="text-slate-700">
      <span aria-hidden="true">–</span>
      <span className="sr-only">{recorded === false ? 'No recording' : 'Not known'}</span>
    </span>
  );
}

function Path({ path }: { path: string }) {
  return path ? (
    <span className="block max-w-48 truncate" title={path}>
      {path}
    </span>
  ) : (
    <span className="text-slate-700">–</span>
  );
}

export function SessionsTable({ sessions, caption, search, busy }: SessionsTableProps) {
  const navigate = useNavigate();
  return (
    <div className="overflow-x-auto rounded-lg border border-slate-300 bg-white p-4">
      <table className="w-full text-left text-sm" aria-busy={busy}>
        <caption className="mb-2 text-left text-slate-700">{caption}</caption>
        <thead>
          <tr className="border-b border-slate-300">
            <th scope="col" className={HEAD}>
              Start
            </th>
            <th scope="col" className={`${HEAD} text-right`}>
              Duration
            </th>
            <th scope="col" className={`${HEAD} text-right`}>
              Pages
            </th>
            <th scope="col" className={`${HEAD} text-right`}>
              Events
            </th>
            <th scope="col" className={HEAD}>
              Device
            </th>
            <th scope="col" className={HEAD}>
              Country
            </th>
            <th scope="col" className={HEAD}>
              Entry page
            </th>
            <th scope="col" className={HEAD}>
              Exit page
            </th>
            <th scope="col" className={HEAD}>
              Signals
            </th>
            <th scope="col" className={HEAD}>
              Recording
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((session) => {
            const to = { pathname: sessionHref(session.id), search };
            return (
              <tr
                key={session.id}
                className="cursor-pointer border-b border-slate-200 align-top hover:bg-slate-50"
                onClick={(event) => {
                  // The link handles its own clicks (and modifier keys for a new tab).
                  if ((event.target as HTMLElement).closest('a')) return;
                  void navigate(to);
                }}
              >
                <td className={`${CELL} whitespace-nowrap`}>
                  <Link className="font-medium text-indigo-800 underline" to={to}>
                    {formatUtc(session.start_time)}
                  </Link>
                </td>
                <td className={`${CELL} text-right tabular-nums`}>{formatDuration(session.duration_seconds)}</td>
                <td className={`${CELL} text-right tabular-nums`}>{formatCount(session.page_count)}</td>
                <td className={`${CELL} text-right tabular-nums`}>{formatCount(session.event_count)}</td>
                <td className={CELL}>{session.device || 'Unknown'}</td>
                <td className={CELL}>{session.country || 'Unknown'}</td>
                <td className={CELL}>
                  <Path path={session.entry_path} />
                </td>
                <td className={CELL}>
                  <Path path={session.exit_path} />
                </td>
                <td className={CELL}>
                  <SignalBadges session={session} />
                </td>
                <td className={`${CELL} whitespace-nowrap`}>
                  <RecordingIndicator recorded={session.has_recording} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
