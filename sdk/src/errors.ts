import { ERROR_TAG, type Plugin, type PluginHost } from './config';
import { cleanUrl, maskEmails, maskText } from './privacy';
import type { ErrorDetails } from './types';

const MAX_MESSAGE = 1000;
const MAX_STACK_LINES = 20;
const MAX_STACK = 4000;
/** A page that throws in a loop must not flood the collector. */
const MAX_ERRORS_PER_VIEW = 25;
const MAX_REPEATS = 3;

/** The stack's first frames, within a size a dashboard can show. */
export function truncateStack(stack: string): string {
  return stack.split('\n').slice(0, MAX_STACK_LINES).join('\n').slice(0, MAX_STACK);
}

/** An unhandled rejection's reason as an error message, in the words a browser console uses. */
export function rejectionMessage(reason: unknown): string {
  if (reason instanceof Error) return `Uncaught (in promise) ${reason.name}: ${reason.message}`;
  let text: string;
  try {
    text = typeof reason === 'string' ? reason : JSON.stringify(reason);
  } catch {
    text = String(reason);
  }
  return `Uncaught (in promise) ${text}`;
}

/** How an error reached the page: a window error, or an unhandled promise rejection. */
export type ErrorKind = 'error' | 'unhandledrejection';

function report(host: PluginHost, seen: Map<string, number>, details: ErrorDetails, kind: ErrorKind): void {
  const mode = host.config.privacyMode;
  const key = `${details.message}|${details.source}|${details.line}`;
  const repeats = seen.get(key) || 0;
  let total = 0;
  seen.forEach((n) => (total += n));
  if (repeats >= MAX_REPEATS || total >= MAX_ERRORS_PER_VIEW) return;
  seen.set(key, repeats + 1);
  const message = (details.message || 'Unknown error').slice(0, MAX_MESSAGE);
  const error: ErrorDetails = {
    message: mode === 'permissive' ? message : maskText(message),
    source: details.source ? cleanUrl(details.source, mode) : undefined,
    line: details.line || undefined,
    col: details.col || undefined,
    // Stack frames keep their line numbers; query strings and emails in them go.
    stack: details.stack ? truncateStack(mode === 'permissive' ? details.stack : stripStack(details.stack)) : undefined,
  };
  host.emit('error', { error });
  // The recording shows where it happened; the server counts a recording's errors from these.
  if (host.replay) host.replay.mark(ERROR_TAG, { message: error.message, kind });
}

function stripStack(stack: string): string {
  return maskEmails(stack.replace(/\?[^\s):]*/g, ''));
}

/** window errors and unhandled promise rejections, with the stack truncated. */
export const errors: Plugin = (host) => {
  if (!host.config.enableErrors) return;
  const seen = new Map<string, number>();
  let view = host.pageviews;
  const fresh = (): Map<string, number> => {
    if (view !== host.pageviews) {
      view = host.pageviews;
      seen.clear();
    }
    return seen;
  };
  const onError = (e: ErrorEvent): void => {
    // Failed resource loads (img, script) reach capture listeners only; this one is not.
    const err = e.error as Error | undefined;
    const details: ErrorDetails = {
      message: e.message || (err && `${err.name}: ${err.message}`),
      source: e.filename,
      line: e.lineno,
      col: e.colno,
      stack: err && typeof err.stack === 'string' ? err.stack : undefined,
    };
    report(host, fresh(), details, 'error');
  };
  const onRejection = (e: PromiseRejectionEvent): void => {
    const reason: unknown = e.reason;
    const details: ErrorDetails = {
      message: rejectionMessage(reason),
      stack: reason instanceof Error && typeof reason.stack === 'string' ? reason.stack : undefined,
    };
    report(host, fresh(), details, 'unhandledrejection');
  };
  window.addEventListener('error', onError);
  window.addEventListener('unhandledrejection', onRejection);
  return () => {
    window.removeEventListener('error', onError);
    window.removeEventListener('unhandledrejection', onRejection);
  };
};
