import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeSocket, liveEvent, summaryMessage } from './liveFakeSocket';
import { fakeApi, makeToken, overviewRoutes, renderApp } from './helpers';

const LIVE_TOKEN = makeToken({ permissions: ['stats:read', 'live:read'] });

async function openSocket(): Promise<FakeSocket> {
  await waitFor(() => expect(FakeSocket.made.length).toBeGreaterThan(0));
  return FakeSocket.latest();
}

beforeEach(() => {
  FakeSocket.reset();
  // The page makes the browser's WebSocket: this one is driven by the test.
  vi.stubGlobal('WebSocket', FakeSocket);
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('live page', () => {
  it('hides the figures while fewer visitors than the minimum crowd are active', async () => {
    renderApp({ url: '/live?site=shop.example.com', api: fakeApi({}), token: LIVE_TOKEN });
    const socket = await openSocket();
    act(() => socket.ready());
    act(() => socket.receive({ ...summaryMessage('2026-11-25T12:00:01.000Z', 0, 0), suppressed: true }));
    const figures = screen.getByRole('region', { name: 'Right now' });
    await waitFor(() => expect(within(figures).getByTestId('suppressed-note')).toBeInTheDocument());
    expect(figures).toHaveTextContent('Too few visitors are active right now');
    act(() => socket.receive(summaryMessage('2026-11-25T12:00:02.000Z', 7, 2.5)));
    await waitFor(() => expect(within(figures).getByText('7')).toBeInTheDocument());
    expect(within(figures).queryByTestId('suppressed-note')).not.toBeInTheDocument();
  });

  it('shows the connection state, the figures, the feed and the click dots of the busiest page', async () => {
    const api = fakeApi({});
    renderApp({ url: '/live?site=shop.example.com&device=desktop', api, token: LIVE_TOKEN });
    expect(await screen.findByRole('heading', { name: 'Live', level: 1 })).toBeInTheDocument();
    const socket = await openSocket();
    const status = screen.getByRole('status');
    expect(status).toHaveAttribute('aria-live', 'polite');
    expect(status).toHaveTextContent('Connecting to the live stream…');

    act(() => socket.ready());
    expect(status).toHaveTextContent('Live: events appear as the site receives them.');
    act(() => {
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/', event_type: 'pageview' }) });
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/pricing', event_type: 'pageview' }) });
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/pricing', event_type: 'click', x: 612, y: 400 }) });
      // Another device: the filter keeps it out of the feed and the dots.
      socket.receive({
        type: 'event',
        event: liveEvent({ url_path: '/', event_type: 'click', device_type: 'mobile', x: 1, y: 1 }),
      });
      socket.receive(summaryMessage('2026-11-25T12:00:01.000Z', 41, 12.3));
    });

    const feed = await screen.findByRole('table');
    await waitFor(() => expect(within(feed).getAllByRole('row')).toHaveLength(4));
    expect(within(feed).getAllByRole('row')[1]).toHaveTextContent('Click/pricingdesktopDE');
    expect(within(feed).queryByText('mobile')).not.toBeInTheDocument();

    const figures = screen.getByRole('region', { name: 'Right now' });
    expect(within(figures).getByText('41')).toBeInTheDocument();
    expect(within(figures).getByText('43')).toBeInTheDocument();
    expect(within(figures).getByText('12.3')).toBeInTheDocument();
    expect(figures).toHaveTextContent('These figures are the whole site’s');

    expect(screen.getByRole('combobox', { name: 'Page' })).toHaveDisplayValue('The busiest page (/pricing)');
    const page = screen.getByRole('img', { name: /^Live clicks on \/pricing \(desktop\)/ });
    expect(page.querySelectorAll('.live-dot')).toHaveLength(1);
    // Only the connection state is announced: the feed and figures are no live region.
    expect(feed.closest('[aria-live]')).toBeNull();
    expect(figures.closest('[aria-live]')).toBeNull();
  });

  it('keeps the chosen page in the URL', async () => {
    const user = userEvent.setup();
    const app = renderApp({ url: '/live?site=shop.example.com', api: fakeApi({}), token: LIVE_TOKEN });
    const socket = await openSocket();
    act(() => {
      socket.ready();
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/pricing' }) });
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/pricing' }) });
      socket.receive({ type: 'event', event: liveEvent({ url_path: '/docs' }) });
    });
    const picker = await screen.findByRole('combobox', { name: 'Page' });
    await waitFor(() => expect(within(picker).getAllByRole('option')).toHaveLength(3));
    await user.selectOptions(picker, '/docs');
    await waitFor(() => expect(app.url()).toBe('/live?site=shop.example.com&page=%2Fdocs'));
    expect(screen.getByRole('img', { name: /^Live clicks on \/docs/ })).toBeInTheDocument();
  });

  it('shows a refusal with its reason and does not connect again', async () => {
    renderApp({ url: '/live?site=shop.example.com', api: fakeApi({}), token: LIVE_TOKEN });
    const socket = await openSocket();
    act(() => socket.serverClose(4403, 'site not granted by this token'));
    expect(screen.getByRole('status')).toHaveTextContent(
      'The API refused the live stream: site not granted by this token (4403).',
    );
    expect(screen.getByText(/needs a token that grants this site and the/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Reconnect now' })).not.toBeInTheDocument();
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('closes the stream when another page opens', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/live?site=shop.example.com', api: fakeApi(overviewRoutes()), token: LIVE_TOKEN });
    const socket = await openSocket();
    act(() => socket.ready());
    await user.click(screen.getByRole('link', { name: 'Overview' }));
    expect(await screen.findByRole('heading', { name: 'Overview' })).toBeInTheDocument();
    // The old page's effects are cleaned up after the new page is drawn.
    await waitFor(() => expect(socket.closedByClient).toEqual({ code: 1000, reason: 'page left' }));
    expect(FakeSocket.made).toHaveLength(1);
  });

  it('returns to the sign-in page with the reason when the API refuses the token (4401)', async () => {
    const app = renderApp({ url: '/live?site=shop.example.com', api: fakeApi({}), token: LIVE_TOKEN });
    const socket = await openSocket();
    act(() => socket.serverClose(4401, 'token expired'));
    expect(await screen.findByRole('heading', { name: 'Sign in to InsightLite' })).toBeInTheDocument();
    expect(screen.getByText('The API refused the token (token expired). Sign in again.')).toBeInTheDocument();
    expect(app.url()).toBe('/sign-in');
  });

  it('explains that the token lacks live:read without connecting', async () => {
    renderApp({ url: '/live?site=shop.example.com', api: fakeApi({}), token: makeToken() });
    expect(await screen.findByRole('status')).toHaveTextContent(
      'The API refused the live stream: permission live:read not granted by this token (4403).',
    );
    expect(FakeSocket.made).toHaveLength(0);
  });
});
