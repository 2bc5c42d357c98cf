import type { Plugin, PluginHost } from './config';
import { isIgnored, maskText } from './privacy';
import { selectorOf } from './selector';

/** One mouse-move point per this many milliseconds at most. */
export const MOVE_INTERVAL_MS = 500;
/** A scroll is recorded this long after the scrolling stops. */
export const SCROLL_DEBOUNCE_MS = 250;
const MAX_TEXT = 64;
// Elements whose text may be what a person typed: never read, in any mode.
const EDITABLE = 'input,textarea,select,[contenteditable],[contenteditable] *';

/** True when the element sits in a fixed or sticky container (it moves with the viewport). */
export function inFixedContainer(element: Element): boolean {
  for (let el: Element | null = element; el && el.nodeType === 1; el = el.parentElement) {
    const position = getComputedStyle(el).position;
    if (position === 'fixed' || position === 'sticky') return true;
  }
  return false;
}

/** The visible label of a clicked control, as the privacy mode allows (strict: none). */
export function labelOf(element: Element, mode: PluginHost['config']['privacyMode']): string | undefined {
  if (mode === 'strict' || element.closest(EDITABLE)) return undefined;
  const control = element.closest('a,button,label,[role=button],[role=link]') || element;
  const text = (control.textContent || '').replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
  if (!text) return undefined;
  return mode === 'balanced' ? maskText(text) : text;
}

function viewport(): { vw: number; vh: number; dh: number } {
  const doc = document.documentElement;
  return {
    vw: Math.max(1, Math.round(window.innerWidth || doc.clientWidth)),
    vh: Math.max(1, Math.round(window.innerHeight || doc.clientHeight)),
    dh: Math.round(Math.max(doc.scrollHeight, document.body ? document.body.scrollHeight : 0)),
  };
}

function point(host: PluginHost, type: 'click' | 'move', e: MouseEvent): void {
  const target = e.target as Element | null;
  if (!target || target.nodeType !== 1 || isIgnored(target)) return;
  const fixed = inFixedContainer(target);
  const mode = host.config.privacyMode;
  const selector = selectorOf(target);
  const text = type === 'click' ? labelOf(target, mode) : undefined;
  host.emit(type, {
    // Fixed elements move with the viewport, so their points are viewport points.
    x: Math.max(0, Math.round(fixed ? e.clientX : e.pageX)),
    y: Math.max(0, Math.round(fixed ? e.clientY : e.pageY)),
    ...viewport(),
    target: (mode === 'permissive' ? selector : maskText(selector)) || undefined,
    fixed: fixed || undefined,
    props: text ? { text } : undefined,
  });
}

/** Clicks, mouse moves (one per 500 ms) and scroll depth (the deepest point of each page view). */
export const heatmap: Plugin = (host) => {
  if (!host.config.enableHeatmaps) return;
  let lastMove = -Infinity;
  let scrollTimer: ReturnType<typeof setTimeout> | undefined;
  let view = -1;
  let deepest = 0;
  const onClick = (e: MouseEvent): void => point(host, 'click', e);
  const onMove = (e: MouseEvent): void => {
    const now = host.deps.now();
    if (now - lastMove < MOVE_INTERVAL_MS) return;
    lastMove = now;
    point(host, 'move', e);
  };
  const onScrollEnd = (): void => {
    const { vw, vh, dh } = viewport();
    const scrollY = Math.max(0, Math.round(window.scrollY || document.documentElement.scrollTop || 0));
    if (view !== host.pageviews) {
      view = host.pageviews;
      deepest = 0;
    }
    // The pipeline keeps the deepest point per page view, so shallower ones need not travel.
    if (scrollY + vh <= deepest) return;
    deepest = scrollY + vh;
    host.emit('scroll', { scroll_y: scrollY, vw, vh, dh });
  };
  const onScroll = (): void => {
    clearTimeout(scrollTimer);
    scrollTimer = setTimeout(onScrollEnd, SCROLL_DEBOUNCE_MS);
  };
  const options: AddEventListenerOptions = { capture: true, passive: true };
  document.addEventListener('click', onClick, options);
  document.addEventListener('mousemove', onMove, options);
  window.addEventListener('scroll', onScroll, { passive: true });
  return () => {
    clearTimeout(scrollTimer);
    document.removeEventListener('click', onClick, options);
    document.removeEventListener('mousemove', onMove, options);
    window.removeEventListener('scroll', onScroll);
  };
};
