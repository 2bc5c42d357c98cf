// The connection's state, in words and colour, announced politely to screen readers
// when it changes (never for each event: the feed is not a live region).
import type { ConnectionState } from '../../live/liveStream';
import { CLOSE_FORBIDDEN } from '../../live/protocol';

const TONE = {
  idle: 'bg-slate-400',
  connecting: 'bg-amber-500',
  live: 'bg-emerald-600',
  reconnecting: 'bg-amber-500',
  refused: 'bg-red-700',
  'signed-out': 'bg-red-700',
} as const;

/** The sentence read out for a state; it changes only when the state does. */
export function describeConnection(connection: ConnectionState): string {
  switch (connection.status) {
    case 'idle':
      return 'Not connected.';
    case 'connecting':
      return connection.attempt === 0
        ? 'Connecting to the live stream…'
        : `Connecting to the live stream again (attempt ${connection.attempt + 1})…`;
    case 'live':
      return 'Live: events appear as the site receives them.';
    case 'reconnecting':
      return `Disconnected (${connection.reason}). Reconnecting in ${Math.max(1, Math.round(connection.delayMs / 1000))} s.`;
    case 'refused':
      return `The API refused the live stream: ${connection.reason} (${connection.code}).`;
    case 'signed-out':
      return `The API refused the token (${connection.reason}).`;
  }
}

export interface ConnectionStatusProps {
  connection: ConnectionState;
  onReconnect(): void;
}

export function ConnectionStatus({ connection, onReconnect }: ConnectionStatusProps) {
  return (
    <div className="flex flex-wrap items-center gap-3">
      <p role="status" aria-live="polite" className="flex items-center gap-2 text-sm font-medium text-slate-900">
        <span aria-hidden="true" className={`inline-block h-2.5 w-2.5 rounded-full ${TONE[connection.status]}`} />
        {describeConnection(connection)}
      </p>
      {connection.status === 'reconnecting' ? (
        <button
          type="button"
          className="rounded-md border border-slate-400 px-2.5 py-1 text-sm font-medium"
          onClick={onReconnect}
        >
          Reconnect now
        </button>
      ) : null}
      {connection.status === 'refused' && connection.code === CLOSE_FORBIDDEN ? (
        <p className="w-full text-sm text-slate-700">
          The live stream needs a token that grants this site and the <code>live:read</code> permission.
        </p>
      ) : null}
    </div>
  );
}
