/** Every `code` an error of `@shim/state` can carry. */
export type StateErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_KEY'
  | 'INVALID_VALUE'
  | 'VALUE_TOO_LARGE'
  | 'INVALID_ARGUMENT'
  | 'TYPE_MISMATCH'
  | 'MALFORMED_DATA'
  | 'STATE_CLOSED'
  | 'CONFLICT'
  | 'LOCK_TIMEOUT'
  | 'LOCK_LOST';

const ERROR_NAMES: ReadonlySet<string> = new Set(['StateError', 'StateConflictError', 'LockError']);

/**
 * Base error of this package. Match on `code` (or {@link isStateError}), not on the message.
 * Errors of this class itself are fatal for the call: bad input (`INVALID_*`, `VALUE_TOO_LARGE`)
 * is refused before anything is written, and retrying the same call never helps. Retryable
 * failures have their own classes: {@link StateConflictError} and {@link LockError}.
 */
export class StateError extends Error {
  override readonly name: string = 'StateError';
  readonly code: StateErrorCode;
  /** The entry or lock concerned, when there is one. */
  readonly key: string | undefined;

  constructor(code: StateErrorCode, message: string, options: { key?: string | undefined; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.key = options.key;
  }
}

/**
 * A write lost a race (code `CONFLICT`): `set(key, value, { ifVersion })` found another version, or
 * `atomicUpdate` met a newer version on each of its `maxAttempts` attempts. Nothing was written by
 * the failed call. Retryable: read again and decide.
 */
export class StateConflictError extends StateError {
  override readonly name = 'StateConflictError';
  /** The version the write required (0: absent). */
  readonly expectedVersion: number;
  /** The version found in Redis (0: absent). */
  readonly actualVersion: number;
  /** Attempts made (1 for a plain compare-and-set). */
  readonly attempts: number;

  constructor(key: string, details: { expectedVersion: number; actualVersion: number; attempts: number }) {
    super(
      'CONFLICT',
      details.attempts > 1
        ? `atomicUpdate of '${key}' conflicted with other writers on all ${details.attempts} attempts (last: expected version ${details.expectedVersion}, found ${details.actualVersion}); raise maxAttempts or write less concurrently`
        : `write to '${key}' expected version ${details.expectedVersion} but found ${details.actualVersion}: nothing was written`,
      { key },
    );
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
    this.attempts = details.attempts;
  }
}

/**
 * A lock failure (retryable): `LOCK_TIMEOUT` — not acquired within `waitMs`; `LOCK_LOST` — the lock
 * expired or was taken over while its holder still worked (renewal failed for longer than its TTL).
 */
export class LockError extends StateError {
  override readonly name = 'LockError';

  constructor(
    code: 'LOCK_TIMEOUT' | 'LOCK_LOST',
    message: string,
    options: { key?: string | undefined; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

/** True when `value` is an error of this package (optionally with `code`); works across ESM/CJS copies. */
export function isStateError(value: unknown, code?: StateErrorCode): value is StateError {
  if (!(value instanceof Error) || !ERROR_NAMES.has(value.name)) return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
