// A recorded session's page: the recording's summary, its events, the player, and what
// stands in the way, on rrweb's Replayer replaced by a fake.
import { screen, waitFor, within } from '@testing-library/react';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Session } from '../src/api/sessions';
import { fakeApi, renderApp } from './helpers';
import { FakeReplayer, lastReplayer, recording, resetReplayers } from './sessionsFakes';

vi.mock('@rrweb/replay', async () => ({ Replayer: (await import('./sessionsFakes')).FakeReplayer }));

beforeEach(resetReplayers);

const ID = '5f1c2e8a-0000-4000-8000-000000000001';
const PREFIX = '/v1/sites/shop.example.com';

function recordedSession(): Session {
  return {
    id: ID,
    start_time: '2026-11-25T11:00:00Z',
    end_time: '2026-11-25T11:00:40Z',
    duration_seconds: 40,
    page_count: 3,
    event_count: 12,
    device: 'desktop',
    country: 'DE',
    has_errors: true,
    has_rage_clicks: true,
    entry_path: '/pricing',
    exit_path: '/thanks',
    rage_click_count: 3,
    error_count: 2,
    has_recording: true,
  };
}

const REPLAY = {
  session_id: ID,
  start_time: '2026-11-25T11:00:00Z',
  end_time: '2026-11-25T11:00:40Z',
  duration_seconds: 40,
  active_seconds: 12,
  chunk_count: 3,
  event_count: 36,
  bytes: 48_213,
  pages: ['/checkout', '/pricing', '/thanks'],
  click_count: 6,
  rage_click_count: 3,
  error_count: 2,
  device_type: 'desktop',
  country_code: 'DE',
};

function recordingApi(
  replay: () => { status?: number; body?: unknown },
  events: () => { status?: number; body?: unknown },
) {
  return fakeApi({
    [`${PREFIX}/sessions/${ID}`]: () => ({ body: { session: recordedSession(), events: [], events_truncated: false } }),
    [`${PREFIX}/replays/${ID}`]: replay,
    [`${PREFIX}/replays/${ID}/events`]: events,
  });
}

describe('a recorded session', () => {
  it('loads the summary, then the events, then the player', async () => {
    const api = recordingApi(
      () => ({ body: REPLAY }),
      () => ({ body: recording() }),
    );
    renderApp({ url: `/sessions/${ID}?site=shop.example.com`, api });
    const panel = await screen.findByRole('region', { name: 'Recording' });
    expect(
      await within(panel).findByText(/40s recorded \(12s active\), 3 pages, 6 clicks, 3 rage clicks, 2 errors/),
    ).toBeInTheDocument();
    expect(await within(panel).findByRole('button', { name: 'Play' })).toBeInTheDocument();
    // The Replayer is made once the player is on the page.
    await waitFor(() => expect(lastReplayer().events).toHaveLength(recording().length));
    const paths = api.requests.map((url) => url.pathname).filter((path) => path.includes('/replays/'));
    expect(paths).toEqual([`${PREFIX}/replays/${ID}`, `${PREFIX}/replays/${ID}/events`]);
  });

  it('says that an expired recording is gone', async () => {
    const api = recordingApi(
      () => ({ body: REPLAY }),
      () => ({ status: 404, body: { error: 'not_found', message: 'no such recording' } }),
    );
    renderApp({ url: `/sessions/${ID}?site=shop.example.com`, api });
    const panel = await screen.findByRole('region', { name: 'Recording' });
    expect(await within(panel).findByRole('alert')).toHaveTextContent(
      'This recording is no longer available: it expired (recordings are kept a set number of days after their last event, 30 by default) or was deleted. The API said: no such recording (404 not_found).',
    );
  });

  it('says which permission a token lacks, and then reads no events', async () => {
    const api = recordingApi(
      () => ({
        status: 403,
        body: { error: 'forbidden', message: 'permission replay:read not granted by this token' },
      }),
      () => ({ body: recording() }),
    );
    renderApp({ url: `/sessions/${ID}?site=shop.example.com`, api });
    const panel = await screen.findByRole('region', { name: 'Recording' });
    expect(await within(panel).findByRole('alert')).toHaveTextContent(
      'Watching recordings needs the permission replay:read, which this token does not grant.',
    );
    expect(api.requests.some((url) => url.pathname.endsWith('/events'))).toBe(false);
    // The rest of the session is still there.
    expect(screen.getByRole('region', { name: 'Timeline' })).toBeInTheDocument();
  });

  it('says when the recording has nothing to play', async () => {
    const api = recordingApi(
      () => ({ body: REPLAY }),
      () => ({ body: recording().filter((event) => event.type !== 2) }),
    );
    renderApp({ url: `/sessions/${ID}?site=shop.example.com`, api });
    expect(await screen.findByText(/holds no snapshot of the page to start from/)).toBeInTheDocument();
    expect(FakeReplayer.instances).toHaveLength(0);
  });
});
