// A session's recording: its summary, then its events and the player (a chunk of its
// own, loaded here). What stands in the way is said in words: a recording that expired
// or was deleted (404), a token without replay:read (403), a player that could not be
// loaded, a recording with nothing to play.
import { Component, type ReactNode, Suspense, lazy } from 'react';
import type { UseQueryResult } from '@tanstack/react-query';
import { ApiError } from '../../api/client';
import { type Replay, type RrwebEvent, useReplay, useReplayEvents } from '../../api/sessions';
import { describeError } from '../../components/ApiErrorMessage';
import { formatCount, formatDuration } from '../../lib/format';

const ReplayPlayer = lazy(() => import('./replayPlayer'));

/** rrweb's FullSnapshot: without one there is no page to rebuild. */
const FULL_SNAPSHOT = 2;

function said(error: ApiError): string {
  return `The API said: ${error.message.replace(/\.$/, '')} (${error.status} ${error.code}).`;
}

/** Why a recording read failed, as the person watching should read it. */
export function recordingProblem(error: unknown): string {
  if (error instanceof ApiError && error.status === 404) {
    return (
      'This recording is no longer available: it expired (recordings are kept a set number of days after ' +
      `their last event, 30 by default) or was deleted. ${said(error)}`
    );
  }
  if (error instanceof ApiError && error.status === 403) {
    return `Watching recordings needs the permission replay:read, which this token does not grant. ${said(error)}`;
  }
  return `Could not load the recording: ${describeError(error)}`;
}

function Problem({ children }: { children: ReactNode }) {
  return (
    <div role="alert" className="rounded-md border border-amber-400 bg-amber-50 px-3 py-2 text-sm text-amber-950">
      {children}
    </div>
  );
}

function Loading({ query, what }: { query: UseQueryResult<unknown>; what: string }) {
  const waiting = query.failureReason instanceof ApiError ? query.failureReason : null;
  return (
    <p role="status" className="py-4 text-sm text-slate-600">
      {waiting ? `The API asked to wait (${waiting.message}); trying ${what} again…` : `Loading ${what}…`}
    </p>
  );
}

/** A player chunk that failed to load (a new deployment, the network) is a message, not a blank page. */
class PlayerBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    if (this.state.failed) {
      return <Problem>The player could not be loaded. Reload the page to try again.</Problem>;
    }
    return this.props.children;
  }
}

function ReplayFigures({ replay }: { replay: Replay }) {
  return (
    <p className="text-sm text-slate-700">
      {formatDuration(replay.duration_seconds)} recorded ({formatDuration(replay.active_seconds)} active),{' '}
      {formatCount(replay.pages.length)} page{replay.pages.length === 1 ? '' : 's'}, {formatCount(replay.click_count)}{' '}
      click{replay.click_count === 1 ? '' : 's'}, {formatCount(replay.rage_click_count)} rage click
      {replay.rage_click_count === 1 ? '' : 's'}, {formatCount(replay.error_count)} error
      {replay.error_count === 1 ? '' : 's'}
    </p>
  );
}

function Player({ events }: { events: RrwebEvent[] }) {
  if (!events.some((event) => event.type === FULL_SNAPSHOT)) {
    return <Problem>This recording holds no snapshot of the page to start from, so it cannot be played.</Problem>;
  }
  return (
    <PlayerBoundary>
      <Suspense
        fallback={
          <p role="status" className="py-4 text-sm text-slate-600">
            Loading the player…
          </p>
        }
      >
        <ReplayPlayer events={events} />
      </Suspense>
    </PlayerBoundary>
  );
}

export function RecordingPanel({ site, sessionId }: { site: string | null; sessionId: string }) {
  const summary = useReplay(site, sessionId, true);
  const events = useReplayEvents(site, sessionId, summary.isSuccess);
  let body: ReactNode;
  if (summary.isError) body = <Problem>{recordingProblem(summary.error)}</Problem>;
  else if (summary.data === undefined) body = <Loading query={summary} what="the recording" />;
  else if (events.isError) body = <Problem>{recordingProblem(events.error)}</Problem>;
  else if (events.data === undefined) body = <Loading query={events} what="the recording's events" />;
  else body = <Player events={events.data} />;
  return (
    <section aria-labelledby="session-recording" className="rounded-lg border border-slate-300 bg-white p-4">
      <h2 id="session-recording" className="mb-1 text-lg font-semibold">
        Recording
      </h2>
      <div className="flex flex-col gap-3">
        {summary.data ? <ReplayFigures replay={summary.data} /> : null}
        {body}
      </div>
    </section>
  );
}
