// Class names shared by controls that look alike.

/** A button of a group where one is chosen (aria-pressed): presets, intervals. */
export const TOGGLE_BUTTON =
  'rounded-md border border-slate-400 px-2.5 py-1.5 text-sm font-medium ' +
  'aria-pressed:border-indigo-700 aria-pressed:bg-indigo-700 aria-pressed:text-white ' +
  'disabled:border-slate-300 disabled:text-slate-500';
