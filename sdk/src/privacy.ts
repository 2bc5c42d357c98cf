import type { PrivacyMode, Props } from './types';

/** Attribute that keeps an element and everything inside it out of the data. */
export const IGNORE_ATTRIBUTE = 'data-insightlite-ignore';
/** Session replay: the element is recorded as an empty box of its size. */
export const BLOCK_ATTRIBUTE = 'data-insightlite-block';
/** Session replay: the element's text is recorded as `*`. */
export const MASK_ATTRIBUTE = 'data-insightlite-mask';

const EMAIL = /[^\s@<>()"',;:]+@[^\s@<>()"',;:]+\.[A-Za-z]{2,}/g;
const MAX_TEXT = 1024;

/** Emails become [email]. */
export function maskEmails(text: string): string {
  return text.replace(EMAIL, '[email]');
}

/**
 * Balanced mode's masking: emails become [email], every digit becomes * (so
 * phone, card and social security numbers never leave the page).
 */
export function maskText(text: string): string {
  return maskEmails(text).replace(/\d/g, '*');
}

/** A URL as the mode allows it: strict keeps origin and path, balanced masks the query. */
export function cleanUrl(href: string, mode: PrivacyMode): string {
  if (mode === 'permissive' || !href) return href;
  let url: URL;
  try {
    url = new URL(href);
  } catch {
    return '';
  }
  if (mode === 'strict') return url.origin + url.pathname;
  url.hash = '';
  const query = url.search.slice(1);
  if (!query) return url.href;
  // Mask values only, so the parameter names (utm_source, page) stay readable.
  url.search = query
    .split('&')
    .map((pair) => {
      const at = pair.indexOf('=');
      return at < 0 ? pair : pair.slice(0, at + 1) + maskText(decodeSafe(pair.slice(at + 1)));
    })
    .join('&');
  return url.href;
}

function decodeSafe(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

function cleanValue(value: unknown, mode: PrivacyMode, depth: number): unknown {
  if (typeof value === 'string') {
    const text = value.slice(0, MAX_TEXT);
    return mode === 'permissive' ? text : maskText(text);
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (depth > 4 || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) return value.slice(0, 100).map((item) => cleanValue(item, mode, depth + 1));
  const out: Props = {};
  for (const key of Object.keys(value as Props).slice(0, 100)) {
    const cleaned = cleanValue((value as Props)[key], mode, depth + 1);
    if (cleaned !== undefined) out[key] = cleaned;
  }
  return out;
}

/**
 * Properties as the mode allows them: strict keeps only allow-listed keys with
 * scalar values, strict and balanced mask every string, permissive only bounds sizes.
 * Functions, symbols and deep nesting are dropped in every mode.
 */
export function cleanProps(props: unknown, mode: PrivacyMode, allow: string[]): Props | undefined {
  if (!props || typeof props !== 'object' || Array.isArray(props)) return undefined;
  let source = props as Props;
  if (mode === 'strict') {
    source = {};
    for (const key of allow) {
      const value = (props as Props)[key];
      // Scalars only; cleanValue then drops functions, symbols and the like.
      if (value === null || typeof value !== 'object') source[key] = value;
    }
  }
  const out = cleanValue(source, mode, 0) as Props;
  return Object.keys(out).length ? out : undefined;
}

/** True when the element or one of its ancestors carries the ignore attribute. */
export function isIgnored(element: Element | null): boolean {
  return !!element && typeof element.closest === 'function' && !!element.closest(`[${IGNORE_ATTRIBUTE}]`);
}
