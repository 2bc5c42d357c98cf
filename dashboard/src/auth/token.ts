// The API token: read client-side only to show what it grants and until when (the API
// alone verifies it), and kept for this tab in sessionStorage, never in localStorage
// or the URL, so it leaves with the tab or on sign-out.

export interface TokenClaims {
  sub: string | null;
  sites: string[];
  permissions: string[];
  tier: string | null;
  /** Expiry, Unix seconds. */
  exp: number;
}

export interface SignedInToken {
  raw: string;
  claims: TokenClaims;
}

export type DecodedToken = { ok: true; token: SignedInToken } | { ok: false; reason: string };

export const TOKEN_STORAGE_KEY = 'insightlite.dashboard.token';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const SITE_ID = /^[A-Za-z0-9._-]{1,64}$/;

function base64UrlJson(segment: string): unknown {
  const base64 = segment
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** Reads a pasted token's claims; refuses what is not a usable token, with the reason. */
export function decodeToken(pasted: string, now: Date): DecodedToken {
  const raw = pasted.trim().replace(/^Bearer\s+/i, '');
  const parts = raw.split('.');
  if (parts.length !== 3 || !parts.every((part) => SEGMENT.test(part))) {
    return { ok: false, reason: 'This is not an API token: a token is three parts separated by dots.' };
  }
  let payload: unknown;
  try {
    payload = base64UrlJson(parts[1] as string);
  } catch {
    return { ok: false, reason: "The token's claims could not be read." };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, reason: "The token's claims could not be read." };
  }
  const claims = payload as Record<string, unknown>;
  const exp = claims.exp;
  if (typeof exp !== 'number' || !Number.isInteger(exp)) {
    return { ok: false, reason: 'The token has no expiry time (exp).' };
  }
  if (exp * 1000 <= now.getTime()) {
    return { ok: false, reason: `This token expired on ${formatExpiry(exp)}.` };
  }
  const sites = strings(claims.sites).filter((site) => SITE_ID.test(site));
  if (sites.length === 0) {
    return { ok: false, reason: 'This token grants no site.' };
  }
  return {
    ok: true,
    token: {
      raw,
      claims: {
        sub: typeof claims.sub === 'string' ? claims.sub : null,
        sites,
        permissions: strings(claims.permissions),
        tier: typeof claims.tier === 'string' ? claims.tier : null,
        exp,
      },
    },
  };
}

/** An expiry as shown: "2026-11-25 12:00 UTC". */
export function formatExpiry(exp: number): string {
  return `${new Date(exp * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** "in 23 hours", "in 5 minutes": how long a token has left. */
export function timeLeft(exp: number, now: Date): string {
  const minutes = Math.floor((exp * 1000 - now.getTime()) / 60_000);
  if (minutes < 1) return 'in less than a minute';
  if (minutes < 120) return `in ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `in ${hours} hours`;
  return `in ${Math.floor(hours / 24)} days`;
}

export function loadToken(storage: Storage, now: Date): DecodedToken | null {
  const raw = storage.getItem(TOKEN_STORAGE_KEY);
  if (raw === null) return null;
  const decoded = decodeToken(raw, now);
  if (!decoded.ok) storage.removeItem(TOKEN_STORAGE_KEY);
  return decoded;
}

export function saveToken(storage: Storage, token: SignedInToken): void {
  storage.setItem(TOKEN_STORAGE_KEY, token.raw);
}

export function clearToken(storage: Storage): void {
  storage.removeItem(TOKEN_STORAGE_KEY);
}
