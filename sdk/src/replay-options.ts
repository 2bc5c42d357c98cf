import { BLOCK_ATTRIBUTE, IGNORE_ATTRIBUTE, MASK_ATTRIBUTE, maskText } from './privacy';
import type { RecordedEvent } from './replay-chunks';
import type { PrivacyMode } from './types';

/** The options of rrweb's recorder that this module sets (rrweb's own types stay out of the package's). */
export interface RecordOptions {
  emit?: (event: RecordedEvent) => void;
  maskAllInputs?: boolean;
  blockSelector?: string;
  maskTextSelector?: string;
  maskTextFn?: (text: string, element: HTMLElement | null) => string;
  recordCanvas?: boolean;
  inlineImages?: boolean;
  collectFonts?: boolean;
}

/** Recorded as empty boxes of the same size, in every mode. */
export const BLOCK_SELECTOR = `[${BLOCK_ATTRIBUTE}],[${IGNORE_ATTRIBUTE}]`;
/** Strict mode also blocks media: what they show is content too. */
export const MEDIA_SELECTOR = 'img,video,canvas,picture,svg image';
/**
 * Text recorded as `*` in balanced and permissive modes: marked elements, and
 * what is typed into editable elements (the tracker never reads typed text).
 */
export const MASK_SELECTOR = `[${MASK_ATTRIBUTE}],[contenteditable]`;

/** Every visible character as `*`, as rrweb masks by default: whitespace stays, so the layout holds. */
export function maskAll(text: string): string {
  return text.replace(/\S/g, '*');
}

/**
 * Balanced mode's text in a recording: all of it under a masked or editable
 * element, otherwise the tracker's own rules (emails, and every digit: phones,
 * cards, social security numbers).
 */
export function maskReplayText(text: string, element: HTMLElement | null): string {
  return element && element.closest(MASK_SELECTOR) ? maskAll(text) : maskText(text);
}

/**
 * rrweb's recorder options for a privacy mode: what never leaves the page.
 * Every input, textarea and select value is masked in every mode, password or
 * not; nothing records canvases, inlines images or collects fonts.
 */
export function recordOptions(mode: PrivacyMode): RecordOptions {
  const options: RecordOptions = {
    maskAllInputs: true,
    blockSelector: BLOCK_SELECTOR,
    maskTextSelector: MASK_SELECTOR,
    recordCanvas: false,
    inlineImages: false,
    collectFonts: false,
  };
  if (mode === 'strict') {
    options.blockSelector = `${BLOCK_SELECTOR},${MEDIA_SELECTOR}`;
    options.maskTextSelector = '*'; // all text, with rrweb's own `*` masking
  } else if (mode === 'balanced') {
    // rrweb calls maskTextFn only for text under maskTextSelector: '*' sends every text through it.
    options.maskTextSelector = '*';
    options.maskTextFn = maskReplayText;
  }
  return options;
}
