// The session-replay player: rrweb's Replayer with play and pause, speed, skipping
// inactivity, a progress bar with the recording's markers, jumps to the next click,
// rage click or error, and the path of the page shown. This module and rrweb are a
// chunk of their own ("replay..."), loaded only when a recording is watched.
//
// The Replayer rebuilds the recorded page in an iframe sandboxed to
// `allow-same-origin` only (rrweb's createSandboxedIframe): no script of a recorded
// page ever runs. The player never turns on rrweb's UNSAFE_replayCanvas (which would
// allow scripts), and refuses to play in a frame that allows them.
//
// Keyboard, anywhere in the player: Space plays or pauses (except on a button, where
// it presses the button), the left and right arrows go back or forward 5 seconds.
import { Replayer } from '@rrweb/replay';
import '@rrweb/replay/dist/style.css';
import { type KeyboardEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { RrwebEvent } from '../../api/sessions';
import { TOGGLE_BUTTON } from '../../components/styles';
import { ReplayProgress, formatClock } from './ReplayProgress';
import { type Marker, extractMarkers, nextMarker, pageAt } from './replayMarkers';

export const SPEEDS = [1, 2, 4, 8] as const;
export const SEEK_STEP_MS = 5000;
/** How often the position is read from the Replayer while playing. */
export const POSITION_POLL_MS = 200;

type Speed = (typeof SPEEDS)[number];

export interface ReplayPlayerProps {
  events: RrwebEvent[];
}

/** True when the frame's sandbox allows nothing but same-origin access (no scripts). */
export function isScriptFree(frame: HTMLIFrameElement | undefined): boolean {
  if (!frame || !frame.hasAttribute('sandbox')) return false;
  const tokens = (frame.getAttribute('sandbox') ?? '').split(/\s+/).filter(Boolean);
  return !tokens.includes('allow-scripts');
}

const BUTTON =
  'rounded-md border border-slate-400 bg-white px-2.5 py-1.5 text-sm font-medium disabled:border-slate-300 disabled:text-slate-500';

export default function ReplayPlayer({ events }: ReplayPlayerProps) {
  const markers = useMemo(() => extractMarkers(events), [events]);
  const total = markers.durationMs;
  const stage = useRef<HTMLDivElement>(null);
  const frame = useRef<HTMLDivElement>(null);
  const replayer = useRef<Replayer | null>(null);
  const [playing, setPlaying] = useState(false);
  const [position, setPosition] = useState(0);
  const [speed, setSpeed] = useState<Speed>(1);
  const [skipInactive, setSkipInactive] = useState(true);
  const [skipping, setSkipping] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  const [room, setRoom] = useState<number | null>(null);
  // The first settings a new Replayer starts with (later changes go through setConfig).
  const initial = useRef({ speed, skipInactive });

  useEffect(() => {
    const root = stage.current;
    if (root === null) return undefined;
    let player: Replayer;
    try {
      player = new Replayer(events as never, {
        root,
        speed: initial.current.speed,
        skipInactive: initial.current.skipInactive,
        UNSAFE_replayCanvas: false,
        showWarning: false,
        triggerFocus: false,
        mouseTail: false,
      });
    } catch {
      setFailure('The recording could not be rebuilt in this browser.');
      return undefined;
    }
    if (!isScriptFree(player.iframe)) {
      player.destroy();
      setFailure('The player refused to show this recording: its frame would allow scripts.');
      return undefined;
    }
    player.on('finish', () => {
      setPlaying(false);
      setSkipping(false);
      setPosition(player.getMetaData().totalTime);
    });
    player.on('resize', (dimension) => {
      const { width, height } = (dimension ?? {}) as { width?: unknown; height?: unknown };
      if (typeof width === 'number' && typeof height === 'number' && width > 0 && height > 0)
        setSize({ width, height });
    });
    player.on('skip-start', () => setSkipping(true));
    player.on('skip-end', () => setSkipping(false));
    replayer.current = player;
    return () => {
      replayer.current = null;
      player.destroy();
    };
  }, [events]);

  // The recorded page is drawn at its own size, scaled down to the room there is.
  useEffect(() => {
    const box = frame.current;
    if (box === null || typeof ResizeObserver === 'undefined') return undefined;
    const observer = new ResizeObserver(([entry]) => setRoom(entry ? entry.contentRect.width : null));
    observer.observe(box);
    return () => observer.disconnect();
  }, []);

  useEffect(() => {
    if (!playing) return undefined;
    const timer = setInterval(() => {
      const player = replayer.current;
      if (player) setPosition(Math.min(total, Math.max(0, player.getCurrentTime())));
    }, POSITION_POLL_MS);
    return () => clearInterval(timer);
  }, [playing, total]);

  const seek = useCallback(
    (to: number) => {
      const player = replayer.current;
      if (player === null) return;
      const target = Math.min(total, Math.max(0, to));
      if (playing) player.play(target);
      else player.pause(target);
      // rrweb ends a fast-forward on the next interaction it plays, which a seek may skip.
      setSkipping(false);
      setPosition(target);
    },
    [playing, total],
  );

  const togglePlay = useCallback(() => {
    const player = replayer.current;
    if (player === null) return;
    if (playing) {
      player.pause();
      setPosition(Math.min(total, Math.max(0, player.getCurrentTime())));
      setPlaying(false);
      setSkipping(false);
    } else {
      // At the end, play starts again from the beginning.
      const from = position >= total ? 0 : position;
      player.play(from);
      setPosition(from);
      setPlaying(true);
    }
  }, [playing, position, total]);

  const changeSpeed = (value: Speed) => {
    replayer.current?.setConfig({ speed: value });
    setSpeed(value);
  };

  const changeSkip = (value: boolean) => {
    replayer.current?.setConfig({ skipInactive: value });
    setSkipInactive(value);
    if (!value) setSkipping(false);
  };

  function onKeyDown(event: KeyboardEvent<HTMLElement>) {
    const target = event.target as HTMLElement;
    const tag = target.tagName;
    const isRange = tag === 'INPUT' && (target as HTMLInputElement).type === 'range';
    if (event.key === ' ') {
      // Space presses a focused button or ticks a checkbox, as everywhere.
      if (tag === 'BUTTON' || tag === 'SELECT' || (tag === 'INPUT' && !isRange)) return;
      event.preventDefault();
      togglePlay();
    } else if (event.key === 'ArrowLeft' || event.key === 'ArrowRight') {
      if (tag === 'SELECT') return;
      event.preventDefault();
      seek(position + (event.key === 'ArrowRight' ? SEEK_STEP_MS : -SEEK_STEP_MS));
    }
  }

  const jump = (list: Marker[]) => {
    const next = nextMarker(list, position);
    if (next) seek(next.timeMs);
  };

  const scale = size && room ? Math.min(1, room / size.width) : 1;
  const page = pageAt(markers.pages, position);

  if (failure !== null) {
    return (
      <div role="alert" className="rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">
        {failure}
      </div>
    );
  }

  return (
    <section aria-label="Recording player" className="flex flex-col gap-3" onKeyDown={onKeyDown}>
      <p className="text-sm" aria-live="polite">
        <span className="text-slate-700">Page: </span>
        <span className="font-mono font-medium" data-testid="replay-page">
          {page ?? 'unknown'}
        </span>
      </p>
      <div ref={frame} className="w-full overflow-hidden rounded-md border border-slate-300 bg-slate-100">
        <div
          style={size ? { height: size.height * scale } : { minHeight: '12rem' }}
          className="relative"
          // A click on the picture plays or pauses, as on a video.
          onClick={togglePlay}
        >
          <div
            ref={stage}
            data-testid="replay-stage"
            className="absolute left-0 top-0 origin-top-left"
            style={size ? { width: size.width, height: size.height, transform: `scale(${scale})` } : undefined}
          />
        </div>
      </div>
      <ReplayProgress markers={markers} positionMs={position} onSeek={seek} />
      <div className="flex flex-wrap items-center gap-x-4 gap-y-2">
        <button type="button" className={`${BUTTON} w-24`} onClick={togglePlay}>
          <span aria-hidden="true">{playing ? '❚❚ ' : '▶ '}</span>
          {playing ? 'Pause' : 'Play'}
        </button>
        <span className="font-mono text-sm tabular-nums">
          {formatClock(position)} / {formatClock(total)}
        </span>
        <div role="group" aria-label="Speed" className="flex items-center gap-1">
          {SPEEDS.map((value) => (
            <button
              key={value}
              type="button"
              className={TOGGLE_BUTTON}
              aria-pressed={speed === value}
              aria-label={`Speed ${value}x`}
              onClick={() => changeSpeed(value)}
            >
              {value}x
            </button>
          ))}
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input
            type="checkbox"
            className="size-4"
            checked={skipInactive}
            onChange={(event) => changeSkip(event.target.checked)}
          />
          Skip inactivity
        </label>
        <span role="status" className="text-sm text-slate-700">
          {skipping ? 'Skipping inactivity…' : ''}
        </span>
      </div>
      <div role="group" aria-label="Jump to" className="flex flex-wrap items-center gap-2">
        <button
          type="button"
          className={BUTTON}
          disabled={nextMarker(markers.clicks, position) === null}
          onClick={() => jump(markers.clicks)}
        >
          Next click
        </button>
        <button
          type="button"
          className={BUTTON}
          disabled={nextMarker(markers.rageClicks, position) === null}
          onClick={() => jump(markers.rageClicks)}
        >
          Next rage click
        </button>
        <button
          type="button"
          className={BUTTON}
          disabled={nextMarker(markers.errors, position) === null}
          onClick={() => jump(markers.errors)}
        >
          Next error
        </button>
      </div>
      <p className="text-xs text-slate-700">
        Keyboard: Space plays or pauses, the left and right arrows go back or forward 5 seconds.
      </p>
    </section>
  );
}
