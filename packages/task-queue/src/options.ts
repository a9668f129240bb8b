import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { KeepJobs } from 'bullmq';
import { TaskQueueError } from './errors.js';

/** How long to wait between attempts of a failing job. */
export interface BackoffOptions {
  /** `exponential`: `delayMs × 2^(attempt − 1)`; `fixed`: always `delayMs`. */
  type: 'exponential' | 'fixed';
  /** Base delay. Unit: ms. */
  delayMs: number;
  /** Random spread, from 0 (none) to 1 (anywhere between 0 and the delay). @defaultValue 0 */
  jitter?: number | undefined;
}

/** How many finished jobs to keep (for stats, `jobId` de-duplication and inspection). */
export interface KeepJobsOptions {
  /** Keep jobs finished less than this long ago. Unit: ms. */
  ageMs?: number | undefined;
  /** Keep at most this many. */
  count?: number | undefined;
}

/** Options of {@link TaskQueueWrapper}. */
export interface TaskQueueOptions<TData = unknown> {
  /** A Standard Schema (zod, valibot, arktype …) for job data: checked on add (nothing queued when invalid) and before the handler runs (invalid → dead-letter queue, no retry). @defaultValue none */
  schema?: StandardSchemaV1<unknown, TData> | undefined;
  /** Largest job data, JSON-encoded. Unit: bytes. @defaultValue 524_288 (512 KiB) */
  maxDataBytes?: number | undefined;
  /** Default number of attempts of a job (first run included). @defaultValue 3 */
  attempts?: number | undefined;
  /** Default wait between attempts. @defaultValue `{ type: 'exponential', delayMs: 1_000 }` */
  backoff?: BackoffOptions | undefined;
  /** How long a worker's lock on an active job lasts without renewal; a job whose lock expires is "stalled" and run again. Unit: ms. @defaultValue 30_000 */
  lockDurationMs?: number | undefined;
  /** How often a running job's lock is renewed. Unit: ms. @defaultValue half of `lockDurationMs` */
  lockRenewMs?: number | undefined;
  /** How often workers look for stalled jobs (and move failed jobs to the dead-letter queue). Unit: ms. @defaultValue 30_000 */
  stalledIntervalMs?: number | undefined;
  /** How many times a job may stall before it fails for good (and goes to the dead-letter queue). @defaultValue 1 */
  maxStalledCount?: number | undefined;
  /** How long `close()` lets active jobs finish before it aborts their `signal` and stops anyway. Unit: ms. @defaultValue 30_000 */
  closeTimeoutMs?: number | undefined;
  /** Completed jobs kept. @defaultValue `{ ageMs: 86_400_000, count: 10_000 }` */
  keepCompleted?: KeepJobsOptions | undefined;
}

/** Defaults merged under every {@link TaskQueueOptions}. */
export const DEFAULT_TASK_QUEUE_OPTIONS = {
  maxDataBytes: 524_288,
  attempts: 3,
  backoff: { type: 'exponential', delayMs: 1_000 },
  lockDurationMs: 30_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 1,
  closeTimeoutMs: 30_000,
  keepCompleted: { ageMs: 86_400_000, count: 10_000 },
} as const satisfies TaskQueueOptions;

/** The largest priority BullMQ accepts (2^21 − 1); 1 is the most urgent. */
export const MAX_PRIORITY = 2_097_151;

/** Largest timer Node.js can wait for. */
const MAX_MS = 2_147_483_647;

/** {@link TaskQueueOptions} after validation and defaults. */
export interface ResolvedTaskQueueOptions {
  schema: StandardSchemaV1 | undefined;
  maxDataBytes: number;
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delay: number; jitter?: number };
  lockDurationMs: number;
  lockRenewMs: number;
  stalledIntervalMs: number;
  maxStalledCount: number;
  closeTimeoutMs: number;
  keepCompleted: KeepJobs;
}

/** An integer from `min` to `max`, or a `code` error naming `option`. */
export function integerIn(
  option: string,
  value: unknown,
  range: { min: number; max: number; code?: 'INVALID_OPTION' | 'INVALID_JOB_OPTION' | 'INVALID_PRIORITY' },
): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    const got = typeof value === 'number' ? String(value) : typeof value;
    throw new TaskQueueError(
      range.code ?? 'INVALID_OPTION',
      `invalid ${option}: expected an integer from ${range.min} to ${range.max}, got ${got}`,
    );
  }
  return value;
}

/** Validates a {@link BackoffOptions} into BullMQ's shape. */
export function resolveBackoff(
  option: string,
  value: unknown,
  code: 'INVALID_OPTION' | 'INVALID_JOB_OPTION',
): ResolvedTaskQueueOptions['backoff'] {
  const backoff = value as Partial<BackoffOptions> | null;
  if (typeof backoff !== 'object' || backoff === null || (backoff.type !== 'exponential' && backoff.type !== 'fixed')) {
    throw new TaskQueueError(code, `invalid ${option}: expected { type: 'exponential' | 'fixed', delayMs }`);
  }
  const delay = integerIn(`${option}.delayMs`, backoff.delayMs, { min: 0, max: MAX_MS, code });
  if (backoff.jitter === undefined) return { type: backoff.type, delay };
  const jitter = backoff.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new TaskQueueError(code, `invalid ${option}.jitter: expected a number from 0 to 1, got ${String(jitter)}`);
  }
  return { type: backoff.type, delay, jitter };
}

function assertSchema(schema: StandardSchemaV1 | undefined): StandardSchemaV1 | undefined {
  if (schema === undefined) return undefined;
  const standard = (schema as Partial<StandardSchemaV1> | null)?.['~standard'] as
    Partial<StandardSchemaV1.Props> | undefined;
  if (standard?.version !== 1 || typeof standard.validate !== 'function') {
    throw new TaskQueueError(
      'INVALID_OPTION',
      'invalid schema: expected a Standard Schema v1 (zod ≥3.24, valibot ≥1 …)',
    );
  }
  return schema;
}

function resolveKeep(value: unknown): KeepJobs {
  const { ageMs, count } = (typeof value === 'object' && value !== null ? value : {}) as KeepJobsOptions;
  if (ageMs === undefined && count === undefined) {
    throw new TaskQueueError(
      'INVALID_OPTION',
      'invalid keepCompleted: expected { ageMs?, count? } with at least one of them',
    );
  }
  const keepCount = count === undefined ? undefined : integerIn('keepCompleted.count', count, { min: 0, max: 2 ** 52 });
  if (ageMs === undefined) return { count: keepCount! };
  // BullMQ counts age in seconds.
  const age = Math.ceil(integerIn('keepCompleted.ageMs', ageMs, { min: 1, max: 2 ** 52 }) / 1000);
  return keepCount === undefined ? { age } : { age, count: keepCount };
}

/** Validates `options` and merges the defaults (throws `INVALID_OPTION` naming the option). */
export function resolveOptions<TData>(options: TaskQueueOptions<TData>): ResolvedTaskQueueOptions {
  if (typeof options !== 'object' || options === null) {
    throw new TaskQueueError('INVALID_OPTION', 'options must be an object');
  }
  const d = DEFAULT_TASK_QUEUE_OPTIONS;
  const positive = (name: keyof TaskQueueOptions, fallback: number): number =>
    integerIn(name, options[name] ?? fallback, { min: 1, max: MAX_MS });
  const lockDurationMs = integerIn('lockDurationMs', options.lockDurationMs ?? d.lockDurationMs, {
    min: 2,
    max: MAX_MS,
  });
  const lockRenewMs = positive('lockRenewMs', Math.max(1, Math.floor(lockDurationMs / 2)));
  if (lockRenewMs >= lockDurationMs) {
    throw new TaskQueueError(
      'INVALID_OPTION',
      `invalid lockRenewMs: must be less than lockDurationMs (${lockDurationMs}), or the lock expires before it is renewed`,
    );
  }
  return {
    schema: assertSchema(options.schema),
    maxDataBytes: positive('maxDataBytes', d.maxDataBytes),
    attempts: integerIn('attempts', options.attempts ?? d.attempts, { min: 1, max: 1_000_000 }),
    backoff: resolveBackoff('backoff', options.backoff ?? d.backoff, 'INVALID_OPTION'),
    lockDurationMs,
    lockRenewMs,
    stalledIntervalMs: positive('stalledIntervalMs', d.stalledIntervalMs),
    maxStalledCount: integerIn('maxStalledCount', options.maxStalledCount ?? d.maxStalledCount, {
      min: 0,
      max: 1_000_000,
    }),
    closeTimeoutMs: positive('closeTimeoutMs', d.closeTimeoutMs),
    keepCompleted: resolveKeep(options.keepCompleted ?? d.keepCompleted),
  };
}
