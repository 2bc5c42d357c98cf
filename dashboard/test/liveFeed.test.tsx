import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { ReceivedEvent } from '../src/live/liveStream';
import type { LiveEvent } from '../src/live/protocol';
import { LiveFeed } from '../src/pages/live/LiveFeed';
import { liveEvent } from './liveFakeSocket';

function received(...events: LiveEvent[]): ReceivedEvent[] {
  // Newest first, as the stream keeps them.
  return events.map((event) => ({ event, receivedAt: 0 })).reverse();
}

function pagesShown(): string[] {
  const rows = within(screen.getByRole('table')).getAllByRole('row').slice(1);
  return rows.map((row) => within(row).getAllByRole('cell')[2]?.textContent ?? '');
}

describe('live feed', () => {
  it('shows each event as sent, newest first, with its time, type, page, device, country and detail', () => {
    const events = received(
      liveEvent({ url_path: '/', referrer: 'https://news.example.org/', timestamp: '2026-11-25T12:00:01.500Z' }),
      liveEvent({ url_path: '/checkout', event_type: 'error', error_class: 'type_error', country_code: '', device_type: 'mobile', timestamp: '2026-11-25T12:00:02.000Z' }),
    );
    render(<LiveFeed events={events} />);
    const [, first, second] = screen.getAllByRole('row');
    expect(first).toHaveTextContent('12:00:02Error/checkoutmobileUnknowntype_error');
    expect(second).toHaveTextContent('12:00:01Page view/desktopDEfrom https://news.example.org/');
  });

  it('holds the rows while paused, counts what arrives, and shows the newest on resume', async () => {
    const user = userEvent.setup();
    const a = liveEvent({ url_path: '/a' });
    const b = liveEvent({ url_path: '/b' });
    const c = liveEvent({ url_path: '/c' });
    const d = liveEvent({ url_path: '/d' });
    const { rerender } = render(<LiveFeed events={received(a, b)} />);
    expect(pagesShown()).toEqual(['/b', '/a']);

    await user.click(screen.getByRole('button', { name: 'Pause the feed' }));
    rerender(<LiveFeed events={received(a, b, c, d)} />);
    expect(pagesShown()).toEqual(['/b', '/a']);
    expect(screen.getByText('Paused; 2 new events since.')).toBeInTheDocument();

    // The paused rows left the stream's buffer: the count is a lower bound.
    rerender(<LiveFeed events={received(c, d)} />);
    expect(pagesShown()).toEqual(['/b', '/a']);
    expect(screen.getByText('Paused; more than 2 new events since.')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Resume the feed' }));
    expect(pagesShown()).toEqual(['/d', '/c']);
    expect(screen.queryByText(/Paused;/)).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Pause the feed' })).toBeInTheDocument();
  });

  it('hides moves and scrolls unless asked', async () => {
    const user = userEvent.setup();
    const events = received(
      liveEvent({ url_path: '/a', event_type: 'move' }),
      liveEvent({ url_path: '/b', event_type: 'click' }),
      liveEvent({ url_path: '/c', event_type: 'scroll' }),
    );
    render(<LiveFeed events={events} />);
    expect(pagesShown()).toEqual(['/b']);
    await user.click(screen.getByRole('checkbox', { name: 'Show moves and scrolls' }));
    expect(pagesShown()).toEqual(['/c', '/b', '/a']);
  });

  it('says when there is nothing yet', () => {
    render(<LiveFeed events={[]} />);
    expect(screen.getByText('No events yet: they appear here as they come.')).toBeInTheDocument();
  });
});
