import { namespaceProblem, type IntegerRules } from '@shim/connection/kit';
import type { StateErrorCode } from './errors.js';
import { v } from './internal/validate.js';

/** Options of {@link StateManager}. */
export interface StateManagerOptions {
  /**
   * A separate set of entries and locks inside the manager's namespace (letters, digits and
   * `_ . - : @`, 1–128 characters). Two scopes never see each other's data.
   * @defaultValue 'default'
   */
  scope?: string | undefined;
  /** Who writes, stored with every write of this manager (`writer` of entries and changes). Up to 256 characters. @defaultValue undefined (not stored) */
  writer?: string | undefined;
  /** Largest value, as JSON (UTF-8). Applies to `set`, `atomicUpdate` results, `merge` and `increment` results. Unit: bytes. @defaultValue 1_048_576 (1 MiB) */
  maxValueBytes?: number | undefined;
  /** Attempts of `atomicUpdate` before it gives up with a `StateConflictError`. @defaultValue 100 */
  maxAttempts?: number | undefined;
  /** Upper bound of the first retry delay of `atomicUpdate`; it doubles per attempt up to `retryMaxDelayMs`, and each delay is a random value below the bound (full jitter). Unit: ms. @defaultValue 2 */
  retryBaseDelayMs?: number | undefined;
  /** Largest retry delay bound of `atomicUpdate`. Unit: ms. @defaultValue 50 */
  retryMaxDelayMs?: number | undefined;
  /**
   * Interval of the automatic cleanup (unref'd timer): entries past their TTL are removed and
   * reported as `expire` changes, and, with `maxIdleMs`, entries not updated for that long.
   * `0` turns it off (call `cleanup()` yourself). Unit: ms. @defaultValue 1_000
   */
  cleanupIntervalMs?: number | undefined;
  /** The automatic cleanup also removes entries not updated for longer than this (reported as `expire`). Unit: ms. @defaultValue undefined (off) */
  maxIdleMs?: number | undefined;
  /** Default `ttlMs` of locks: a holder that dies loses its lock after this long (a live holder renews it every third of it). Unit: ms. @defaultValue 30_000 */
  lockTtlMs?: number | undefined;
  /** Default `waitMs` of `lock`/`withLock`: how long to wait for a held lock before a `LOCK_TIMEOUT` error. Unit: ms. @defaultValue 10_000 */
  lockWaitMs?: number | undefined;
  /**
   * After the subscriber connection reconnects, call every key subscription's handler with the
   * key's current state (a change with `resync: true`), so nothing missed while disconnected stays
   * unseen. @defaultValue true
   */
  resyncOnReconnect?: boolean | undefined;
}

/** Defaults merged under every {@link StateManagerOptions}. */
export const DEFAULT_STATE_MANAGER_OPTIONS = {
  scope: 'default',
  maxValueBytes: 1_048_576,
  maxAttempts: 100,
  retryBaseDelayMs: 2,
  retryMaxDelayMs: 50,
  cleanupIntervalMs: 1_000,
  lockTtlMs: 30_000,
  lockWaitMs: 10_000,
  resyncOnReconnect: true,
} as const;

/** Options after defaults and validation: every option set, but `writer` and `maxIdleMs` (off when absent). */
export type ResolvedStateOptions = {
  [K in Exclude<keyof StateManagerOptions, 'writer' | 'maxIdleMs'>]-?: NonNullable<StateManagerOptions[K]>;
} & Pick<StateManagerOptions, 'writer' | 'maxIdleMs'>;

/** Validates an integer option (`INVALID_OPTION`, naming `field`): from 1 to 2^31-1 ms unless `rules` say otherwise. */
export function integerOption(
  field: string,
  value: unknown,
  rules: Omit<IntegerRules<StateErrorCode>, 'field' | 'code'> = {},
): number {
  return v.integer(value, { field, code: 'INVALID_OPTION', ...rules });
}

/** Validates a writer name: a string of 1–256 characters, or undefined (none). */
export function writerOption(value: unknown): string | undefined {
  return value === undefined ? undefined : v.text(value, { field: 'writer', code: 'INVALID_OPTION', max: 256 });
}

/** Merges `options` over {@link DEFAULT_STATE_MANAGER_OPTIONS} and validates every field (`INVALID_OPTION`). */
export function resolveStateOptions(options: StateManagerOptions): ResolvedStateOptions {
  v.object(options, 'options', 'INVALID_OPTION');
  const d = DEFAULT_STATE_MANAGER_OPTIONS;
  const scope = options.scope ?? d.scope;
  const problem = namespaceProblem(scope);
  if (problem !== undefined) v.fail('INVALID_OPTION', 'scope', `invalid option 'scope': ${problem}`);
  const retryBaseDelayMs = integerOption('retryBaseDelayMs', options.retryBaseDelayMs ?? d.retryBaseDelayMs, {
    min: 0,
  });
  const retryMaxDelayMs = integerOption('retryMaxDelayMs', options.retryMaxDelayMs ?? d.retryMaxDelayMs, { min: 0 });
  if (retryMaxDelayMs < retryBaseDelayMs) {
    v.fail(
      'INVALID_OPTION',
      'retryMaxDelayMs',
      `invalid option 'retryMaxDelayMs': ${retryMaxDelayMs} is below retryBaseDelayMs (${retryBaseDelayMs})`,
    );
  }
  const resync = options.resyncOnReconnect ?? d.resyncOnReconnect;
  if (typeof resync !== 'boolean') {
    v.fail('INVALID_OPTION', 'resyncOnReconnect', "invalid option 'resyncOnReconnect': expected a boolean");
  }
  return {
    scope,
    writer: writerOption(options.writer),
    maxValueBytes: integerOption('maxValueBytes', options.maxValueBytes ?? d.maxValueBytes, {
      max: 512 * 1024 * 1024,
      unit: 'bytes',
    }),
    maxAttempts: integerOption('maxAttempts', options.maxAttempts ?? d.maxAttempts, { unit: 'attempts', max: 1e6 }),
    retryBaseDelayMs,
    retryMaxDelayMs,
    cleanupIntervalMs: integerOption('cleanupIntervalMs', options.cleanupIntervalMs ?? d.cleanupIntervalMs, {
      min: 0,
    }),
    maxIdleMs:
      options.maxIdleMs === undefined
        ? undefined
        : integerOption('maxIdleMs', options.maxIdleMs, { max: Number.MAX_SAFE_INTEGER }),
    lockTtlMs: integerOption('lockTtlMs', options.lockTtlMs ?? d.lockTtlMs, { min: 3 }),
    lockWaitMs: integerOption('lockWaitMs', options.lockWaitMs ?? d.lockWaitMs, { min: 0 }),
    resyncOnReconnect: resync,
  };
}
