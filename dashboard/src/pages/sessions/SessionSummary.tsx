// A session's figures: when, how long, how many pages and events, where from, where it
// entered and left, and what went wrong.
import type { ReactNode } from 'react';
import type { Session } from '../../api/sessions';
import { formatUtc } from '../../lib/dates';
import { formatCount, formatDuration } from '../../lib/format';

function Figure({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium uppercase tracking-wide text-slate-700">{term}</dt>
      <dd className="truncate text-sm text-slate-900">{children}</dd>
    </div>
  );
}

function recordingText(recorded: boolean | undefined): string {
  if (recorded === true) return 'Kept: watch it below';
  if (recorded === false) return 'None kept';
  return 'Not known';
}

export function SessionSummary({ session }: { session: Session }) {
  return (
    <section aria-labelledby="session-summary" className="rounded-lg border border-slate-300 bg-white p-4">
      <h2 id="session-summary" className="mb-3 text-lg font-semibold">
        Summary
      </h2>
      <dl className="grid grid-cols-2 gap-x-6 gap-y-3 sm:grid-cols-3 lg:grid-cols-4">
        <Figure term="Start">{formatUtc(session.start_time)}</Figure>
        <Figure term="End">{formatUtc(session.end_time)}</Figure>
        <Figure term="Duration">{formatDuration(session.duration_seconds)}</Figure>
        <Figure term="Pages viewed">{formatCount(session.page_count)}</Figure>
        <Figure term="Events">{formatCount(session.event_count)}</Figure>
        <Figure term="Device">{session.device || 'Unknown'}</Figure>
        <Figure term="Country">{session.country || 'Unknown'}</Figure>
        <Figure term="Entry page">{session.entry_path || '–'}</Figure>
        <Figure term="Exit page">{session.exit_path || '–'}</Figure>
        <Figure term="Rage clicks">{formatCount(session.rage_click_count)}</Figure>
        <Figure term="Errors">{formatCount(session.error_count)}</Figure>
        <Figure term="Recording">{recordingText(session.has_recording)}</Figure>
      </dl>
    </section>
  );
}
