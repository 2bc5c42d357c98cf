// The recording player's markers and controls, on rrweb's Replayer replaced by a fake.
import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingEvents } from '../src/api/sessions';
import { extractMarkers, nextMarker, pageAt, pathOf } from '../src/pages/sessions/replayMarkers';
import ReplayPlayer from '../src/pages/sessions/replayPlayer';
import { FakeReplayer, lastReplayer, recording, resetReplayers } from './sessionsFakes';

vi.mock('@rrweb/replay', async () => ({ Replayer: (await import('./sessionsFakes')).FakeReplayer }));

beforeEach(resetReplayers);

describe('recording markers', () => {
  it('finds clicks, rage clicks, errors and page views in the events', () => {
    const markers = extractMarkers(recording());
    expect(markers.durationMs).toBe(40_000);
    expect(markers.clicks.map((marker) => marker.timeMs)).toEqual([2_000, 10_000, 10_300, 11_300, 21_000, 21_400]);
    expect(markers.rageClicks).toEqual([{ kind: 'rage_click', timeMs: 10_000, label: 'Rage click (3 clicks)' }]);
    expect(markers.errors).toEqual([
      { kind: 'error', timeMs: 12_000, label: "Error: Cannot read properties of undefined (reading 'price')" },
      { kind: 'error', timeMs: 35_000, label: 'Error: Failed to fetch' },
    ]);
    // A page load's Meta event and its page-view mark are one page view.
    expect(markers.pages).toEqual([
      { kind: 'page', timeMs: 0, label: '/pricing' },
      { kind: 'page', timeMs: 20_000, label: '/checkout' },
      { kind: 'page', timeMs: 30_000, label: '/thanks' },
    ]);
  });

  it('answers the next marker and the page shown at a time', () => {
    const markers = extractMarkers(recording());
    expect(nextMarker(markers.clicks, 0)?.timeMs).toBe(2_000);
    expect(nextMarker(markers.clicks, 2_000)?.timeMs).toBe(10_000);
    expect(nextMarker(markers.rageClicks, 10_000)).toBeNull();
    expect(pageAt(markers.pages, 19_999)).toBe('/pricing');
    expect(pageAt(markers.pages, 20_000)).toBe('/checkout');
    expect(pageAt(markers.pages, 40_000)).toBe('/thanks');
    expect(pageAt([], 5)).toBeNull();
    expect(pathOf('/a/b?c=1#d')).toBe('/a/b');
  });

  it('takes only well-formed events, in time order', () => {
    expect(recordingEvents({ events: [] })).toEqual([]);
    const events = recordingEvents([
      { type: 3, timestamp: 20 },
      null,
      { type: '4', timestamp: 1 },
      { type: 4, timestamp: 10 },
      { type: 2, timestamp: Number.NaN },
    ]);
    expect(events).toEqual([
      { type: 4, timestamp: 10 },
      { type: 3, timestamp: 20 },
    ]);
  });
});

describe('recording player', () => {
  it('hands the events to a Replayer in a frame without scripts, and sizes the page to fit', async () => {
    const events = recording();
    const { unmount } = render(<ReplayPlayer events={events} />);
    const replayer = lastReplayer();
    expect(replayer.events).toBe(events);
    expect(replayer.config).toMatchObject({ speed: 1, skipInactive: true, UNSAFE_replayCanvas: false });
    expect(replayer.config.root).toBe(screen.getByTestId('replay-stage'));
    act(() => replayer.emit('resize', { width: 1280, height: 720 }));
    expect(screen.getByTestId('replay-stage')).toHaveStyle({ width: '1280px', height: '720px' });
    expect(screen.getByTestId('replay-page')).toHaveTextContent('/pricing');
    expect(screen.getByTestId('replay-markers').querySelectorAll('[data-marker="rage_click"]')).toHaveLength(1);
    unmount();
    expect(replayer.calls.at(-1)).toEqual(['destroy']);
  });

  it('plays, pauses, changes speed and skipping through the Replayer', async () => {
    const user = userEvent.setup();
    render(<ReplayPlayer events={recording()} />);
    const replayer = lastReplayer();
    await user.click(screen.getByRole('button', { name: 'Play' }));
    expect(replayer.calls).toEqual([['play', 0]]);
    // The position follows the Replayer while it plays.
    replayer.time = 7_400;
    await waitFor(() => expect(screen.getByText('0:07 / 0:40')).toBeInTheDocument());
    act(() => replayer.emit('skip-start', { speed: 40 }));
    expect(screen.getByText('Skipping inactivity…')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Pause' }));
    expect(replayer.calls.at(-1)).toEqual(['pause', undefined]);
    expect(screen.queryByText('Skipping inactivity…')).not.toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Speed 4x' }));
    expect(replayer.calls.at(-1)).toEqual(['setConfig', { speed: 4 }]);
    expect(screen.getByRole('button', { name: 'Speed 4x' })).toHaveAttribute('aria-pressed', 'true');
    expect(screen.getByRole('button', { name: 'Speed 1x' })).toHaveAttribute('aria-pressed', 'false');
    await user.click(screen.getByRole('checkbox', { name: 'Skip inactivity' }));
    expect(replayer.calls.at(-1)).toEqual(['setConfig', { skipInactive: false }]);

    // At the end, Play starts again from the beginning.
    act(() => replayer.emit('finish'));
    expect(screen.getByText('0:40 / 0:40')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Play' }));
    expect(replayer.calls.at(-1)).toEqual(['play', 0]);
  });

  it('jumps to the next click, rage click and error, showing the page there', async () => {
    const user = userEvent.setup();
    render(<ReplayPlayer events={recording()} />);
    const replayer = lastReplayer();
    await user.click(screen.getByRole('button', { name: 'Next click' }));
    expect(replayer.calls.at(-1)).toEqual(['pause', 2_000]);
    await user.click(screen.getByRole('button', { name: 'Next rage click' }));
    expect(replayer.calls.at(-1)).toEqual(['pause', 10_000]);
    expect(screen.getByRole('button', { name: 'Next rage click' })).toBeDisabled();
    await user.click(screen.getByRole('button', { name: 'Next error' }));
    expect(replayer.calls.at(-1)).toEqual(['pause', 12_000]);
    await user.click(screen.getByRole('button', { name: 'Next click' }));
    expect(replayer.calls.at(-1)).toEqual(['pause', 21_000]);
    expect(screen.getByTestId('replay-page')).toHaveTextContent('/checkout');
    expect(screen.getByRole('slider', { name: 'Position in the recording' })).toHaveAttribute(
      'aria-valuetext',
      '0:21 of 0:40',
    );
    // While playing, a jump goes on playing from there.
    await user.click(screen.getByRole('button', { name: 'Play' }));
    await user.click(screen.getByRole('button', { name: 'Next error' }));
    expect(replayer.calls.at(-1)).toEqual(['play', 35_000]);
    expect(screen.getByTestId('replay-page')).toHaveTextContent('/thanks');
    expect(screen.getByRole('button', { name: 'Next error' })).toBeDisabled();
  });

  it('plays with Space and seeks 5 seconds with the arrow keys', async () => {
    const user = userEvent.setup();
    render(<ReplayPlayer events={recording()} />);
    const replayer = lastReplayer();
    const slider = screen.getByRole('slider', { name: 'Position in the recording' });
    slider.focus();
    await user.keyboard('{ArrowRight}{ArrowRight}');
    expect(replayer.calls).toEqual([
      ['pause', 5_000],
      ['pause', 10_000],
    ]);
    await user.keyboard(' ');
    expect(replayer.calls.at(-1)).toEqual(['play', 10_000]);
    await user.keyboard('{ArrowLeft}');
    expect(replayer.calls.at(-1)).toEqual(['play', 5_000]);
    await user.keyboard(' ');
    expect(replayer.calls.at(-1)).toEqual(['pause', undefined]);
    await user.keyboard('{ArrowLeft}{ArrowLeft}');
    expect(replayer.calls.at(-1)).toEqual(['pause', 0]);

    // On a button, Space presses that button.
    screen.getByRole('button', { name: 'Speed 2x' }).focus();
    await user.keyboard(' ');
    expect(replayer.calls.at(-1)).toEqual(['setConfig', { speed: 2 }]);
    // Dragging the slider seeks too.
    fireEvent.change(slider, { target: { value: '30000' } });
    expect(replayer.calls.at(-1)).toEqual(['pause', 30_000]);
    expect(screen.getByTestId('replay-page')).toHaveTextContent('/thanks');
  });

  it('refuses a frame that would run scripts, and says when rrweb cannot rebuild the page', () => {
    FakeReplayer.sandbox = 'allow-same-origin allow-scripts';
    const { unmount } = render(<ReplayPlayer events={recording()} />);
    expect(screen.getByRole('alert')).toHaveTextContent('its frame would allow scripts');
    expect(lastReplayer().calls).toEqual([['destroy']]);
    unmount();

    FakeReplayer.sandbox = 'allow-same-origin';
    FakeReplayer.failWith = new Error('no full snapshot');
    render(<ReplayPlayer events={recording()} />);
    expect(screen.getByRole('alert')).toHaveTextContent('The recording could not be rebuilt in this browser.');
  });
});
