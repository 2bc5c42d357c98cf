// One session: its figures, its recording when one is kept (the player), and its
// events as a timeline per page view.
import { Link, useLocation, useParams } from 'react-router';
import { useSession } from '../../api/sessions';
import { usePageTitle } from '../../app/usePageTitle';
import { QueryState } from '../../components/QueryState';
import { useDashboard } from '../../state/useDashboard';
import { RecordingPanel } from './RecordingPanel';
import { SessionSummary } from './SessionSummary';
import { SessionTimeline } from './SessionTimeline';

/** The API's session ids are UUIDs (any other answers 422): the whole string, any case. */
const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isSessionId(value: string): boolean {
  return SESSION_ID.test(value);
}

export default function SessionPage() {
  usePageTitle('Session');
  const { sessionId = '' } = useParams();
  const location = useLocation();
  const { view } = useDashboard();
  const valid = isSessionId(sessionId);
  const query = useSession(view.site, sessionId, valid);
  return (
    <section aria-labelledby="page-title" className="flex flex-col gap-4">
      <p>
        {/* The list with the same days, filters and page as the link that led here. */}
        <Link
          className="text-sm font-medium text-indigo-800 underline"
          to={{ pathname: '/sessions', search: location.search }}
        >
          <span aria-hidden="true">← </span>All sessions
        </Link>
      </p>
      <div>
        <h1 id="page-title" className="text-2xl font-semibold">
          Session
        </h1>
        <p className="font-mono text-xs break-all text-slate-700">{sessionId}</p>
      </div>
      {!valid ? (
        <div role="alert" className="max-w-xl rounded-md border border-amber-400 bg-amber-50 px-4 py-3 text-amber-950">
          This address does not name a session: a session id is a UUID, such as 5f1c2e8a-0000-4000-8000-000000000001.
        </div>
      ) : (
        <QueryState query={query} what="the session">
          {(detail) => (
            <>
              <SessionSummary session={detail.session} />
              {detail.session.has_recording ? <RecordingPanel site={view.site} sessionId={sessionId} /> : null}
              <SessionTimeline detail={detail} />
            </>
          )}
        </QueryState>
      )}
    </section>
  );
}
