// The live stream of the site shown, for the signed-in token: open while the component
// using it is mounted, closed and opened anew when the site or the token changes. A
// refused token (4401) signs out as a 401 from the REST API does.
import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { useClock } from '../app/clock';
import { useAuth } from '../auth/AuthProvider';
import { type LiveLimits, type LiveSnapshot, LiveStream, type SocketFactory } from './liveStream';
import { CLOSE_FORBIDDEN, liveUrl } from './protocol';

export const LIVE_PERMISSION = 'live:read';

export interface UseLiveStreamOptions {
  /** Makes the socket; the browser's WebSocket unless a test passes another. */
  createSocket?: SocketFactory;
  /** In [0, 1), for the reconnect jitter. */
  random?: () => number;
  limits?: Partial<LiveLimits>;
}

export interface LiveStreamView extends LiveSnapshot {
  /** Connects at once while waiting to reconnect. */
  reconnectNow(): void;
}

const browserSocket: SocketFactory = (url) => new WebSocket(url);

const EMPTY: LiveSnapshot = {
  connection: { status: 'idle' },
  events: [],
  clicks: [],
  summaries: [],
  received: 0,
  dropped: 0,
};

// The API would refuse it with 4403, and count the refusal against the address: a
// token whose claims lack the permission is not sent at all.
const NOT_PERMITTED: LiveSnapshot = {
  ...EMPTY,
  connection: {
    status: 'refused',
    code: CLOSE_FORBIDDEN,
    reason: `permission ${LIVE_PERMISSION} not granted by this token`,
  },
};

const noSubscription = () => () => undefined;

export function useLiveStream(site: string | null, options: UseLiveStreamOptions = {}): LiveStreamView {
  const auth = useAuth();
  const clock = useClock();
  const token = auth.token?.raw ?? null;
  const permitted = auth.token?.claims.permissions.includes(LIVE_PERMISSION) ?? false;
  // Read through refs: a new callback or clock must not reopen the connection.
  const current = useRef({ auth, clock, options });
  current.current = { auth, clock, options };
  const limits = options.limits;
  const limitsKey = JSON.stringify(limits ?? {});

  const stream = useMemo(() => {
    if (site === null || token === null || !permitted) return null;
    const { createSocket = browserSocket, random = Math.random } = current.current.options;
    return new LiveStream({
      url: liveUrl(site, window.location),
      token,
      createSocket,
      random,
      now: () => current.current.clock().getTime(),
      onUnauthorized: (reason) => {
        if (current.current.auth.token !== null) {
          current.current.auth.signOut(`The API refused the token (${reason}). Sign in again.`);
        }
      },
      ...(limits === undefined ? {} : { limits }),
    });
    // limitsKey stands for limits: a new object with the same numbers is the same stream.
  }, [site, token, permitted, limitsKey]);

  useEffect(() => {
    if (stream === null) return undefined;
    stream.start();
    return () => stream.stop();
  }, [stream]);

  const fallback = token !== null && !permitted ? NOT_PERMITTED : EMPTY;
  const snapshot = useSyncExternalStore(
    stream?.subscribe ?? noSubscription,
    stream?.getSnapshot ?? (() => fallback),
  );
  const reconnectNow = useCallback(() => stream?.reconnectNow(), [stream]);
  return { ...snapshot, reconnectNow };
}
