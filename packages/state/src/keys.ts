import { v } from './internal/validate.js';

/** Longest key or lock name. Unit: characters. */
export const MAX_KEY_LENGTH = 1024;

/** Validates an entry key or lock name: 1–1024 characters, no control characters, well-formed Unicode (`INVALID_KEY`). */
export function assertKey(key: unknown, what = 'key'): string {
  return v.name(key, { field: what, code: 'INVALID_KEY', maxLength: MAX_KEY_LENGTH });
}

/** Validates a key prefix: like a key, but may be empty (every key). */
export function assertPrefix(prefix: unknown): string {
  return v.name(prefix, { field: 'prefix', code: 'INVALID_KEY', maxLength: MAX_KEY_LENGTH, allowEmpty: true });
}

/** Escapes glob characters so `value` is matched literally by `SCAN MATCH` and `PSUBSCRIBE`. */
export function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/**
 * Redis names of one scope. Every key shares the `{<namespace>:<scope>}` hash tag, because the
 * scripts change an entry and the scope's indexes together (Redis Cluster needs one slot).
 */
export interface StateKeys {
  /** `<namespace>:state:{<namespace>:<scope>}` — the prefix of everything below. */
  base: string;
  /** Sorted set: every key → a time at or before its last write (Redis ms; raised lazily by the idle sweep). Listing and idle cleanup read it. */
  index: string;
  /** Sorted set: key → expiresAt (Redis ms), entries with a TTL only. */
  expiries: string;
  /** Hash: lock name → last fencing token handed out. Lives as long as the scope (tokens must never repeat). */
  fences: string;
  /** Hash of one entry: `value` (JSON), `version`, `updatedAt`, `timestamp`, optional `writer` (JSON) and `expiresAt`. */
  entry: (key: string) => string;
  /** String holding a lock's owner token, with a TTL. */
  lock: (name: string) => string;
  /** Pub/Sub channel of one key's changes. */
  channel: (key: string) => string;
  /** `PSUBSCRIBE` pattern of every key starting with `prefix`. */
  pattern: (prefix: string) => string;
  /** Prefix of every change channel: the key is what follows it. */
  channelPrefix: string;
}

/** Builds the {@link StateKeys} of `scope` in `namespace` (both already validated). */
export function stateKeys(namespace: string, scope: string): StateKeys {
  const base = `${namespace}:state:{${namespace}:${scope}}`;
  const channelPrefix = `${base}:changes:`;
  return {
    base,
    index: `${base}:index`,
    expiries: `${base}:expiries`,
    fences: `${base}:fences`,
    entry: (key) => `${base}:entry:${key}`,
    lock: (name) => `${base}:lock:${name}`,
    channel: (key) => `${channelPrefix}${key}`,
    pattern: (prefix) => `${escapeGlob(channelPrefix)}${escapeGlob(prefix)}*`,
    channelPrefix,
  };
}
