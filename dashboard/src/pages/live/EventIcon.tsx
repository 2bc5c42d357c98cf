// A small picture per event type, beside its name (the name is always written: the
// icon is decoration).

const PATHS: Record<string, string> = {
  // A page.
  pageview: 'M4 1.5h5.5L13 5v9.5H4z M9.5 1.5V5H13',
  // A pointer.
  click: 'M4 2l8 5.5-3.6.9 2.2 4.4-1.6.8-2.2-4.4L4 11.5z',
  // Crossing arrows.
  move: 'M8 1.5v13 M1.5 8h13 M6 3.5l2-2 2 2 M6 12.5l2 2 2-2 M3.5 6l-2 2 2 2 M12.5 6l2 2-2 2',
  // Up and down.
  scroll: 'M8 1.5v13 M5 4.5l3-3 3 3 M5 11.5l3 3 3-3',
  // A warning sign.
  error: 'M8 1.5l6.5 12H1.5z M8 6v3.5 M8 11.5v.5',
  // A star.
  custom: 'M8 1.5l1.9 4.1 4.4.5-3.3 3 .9 4.4L8 11.3l-3.9 2.2.9-4.4-3.3-3 4.4-.5z',
};

const FALLBACK = 'M8 4.5a3.5 3.5 0 1 0 0 7a3.5 3.5 0 1 0 0-7z';

export function EventIcon({ type }: { type: string }) {
  return (
    <svg
      aria-hidden="true"
      viewBox="0 0 16 16"
      className={`h-4 w-4 shrink-0 ${type === 'error' ? 'text-red-700' : 'text-indigo-700'}`}
    >
      <path d={PATHS[type] ?? FALLBACK} fill="none" stroke="currentColor" strokeWidth="1.4" strokeLinejoin="round" />
    </svg>
  );
}
