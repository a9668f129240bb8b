import type { Validator } from '@shim/connection/kit';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { KeepJobs } from 'bullmq';
import { validatorFor, type TaskQueueErrorCode } from './errors.js';

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
  /** A Standard Schema (zod, valibot, arktype …) for job data: checked on add (nothing queued when invalid) and before the handler runs (invalid → dead letter, no retry). @defaultValue none */
  schema?: StandardSchemaV1<unknown, TData> | undefined;
  /** Largest job data, JSON-encoded. Unit: bytes. @defaultValue 524_288 (512 KiB) */
  maxDataBytes?: number | undefined;
  /** Default number of attempts of a job (first run included). Only the task's own failures use one: its handler threw (or returned what JSON cannot hold). @defaultValue 3 */
  attempts?: number | undefined;
  /** Default wait between attempts. @defaultValue `{ type: 'exponential', delayMs: 1_000 }` */
  backoff?: BackoffOptions | undefined;
  /** How long a worker's lock on an active job lasts without renewal; a job whose lock expires is "stalled" and run again. Unit: ms. @defaultValue 30_000 */
  lockDurationMs?: number | undefined;
  /** How often a running job's lock is renewed. Unit: ms. @defaultValue half of `lockDurationMs` */
  lockRenewMs?: number | undefined;
  /** How often workers look for stalled jobs. Unit: ms. @defaultValue 30_000 */
  stalledIntervalMs?: number | undefined;
  /**
   * How many times a job may stall before it fails for good (and becomes a dead letter), from 0
   * to 1,000,000, or `Infinity`. A stall is an infrastructure fault — a worker killed, Redis
   * restarted, an event loop blocked past the lock — so by default it never fails a job: the job
   * is put back without using an attempt. Set a number only to stop a job that crashes every
   * worker that runs it, knowing that such faults can then dead-letter a healthy job.
   * @defaultValue Infinity
   */
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
  maxStalledCount: Number.POSITIVE_INFINITY,
  closeTimeoutMs: 30_000,
  keepCompleted: { ageMs: 86_400_000, count: 10_000 },
} as const satisfies TaskQueueOptions;

/** The largest priority BullMQ accepts (2^21 − 1); 1 is the most urgent. */
export const MAX_PRIORITY = 2_097_151;

/** {@link TaskQueueOptions} after validation and defaults, in BullMQ's units (`maxStalledCount`: `Infinity` as `MAX_SAFE_INTEGER`, which BullMQ's Lua can compare). */
export type ResolvedTaskQueueOptions = ReturnType<typeof resolveOptions>;

/** A backoff as BullMQ takes it. */
type BullBackoff = { type: 'exponential' | 'fixed'; delay: number; jitter?: number };

const v: Validator<TaskQueueErrorCode> = validatorFor();

/** Validates a {@link BackoffOptions} into BullMQ's shape (`field` names it in messages). */
export function resolveBackoff(
  field: string,
  value: unknown,
  code: Extract<TaskQueueErrorCode, 'INVALID_OPTION' | 'INVALID_JOB_OPTION'>,
): BullBackoff {
  const backoff = value as Partial<BackoffOptions> | null;
  if (typeof backoff !== 'object' || backoff === null || (backoff.type !== 'exponential' && backoff.type !== 'fixed')) {
    v.fail(code, field, `invalid ${field}: expected { type: 'exponential' | 'fixed', delayMs }`);
  }
  const delay = v.integer(backoff.delayMs, { field: `${field}.delayMs`, code, min: 0 });
  if (backoff.jitter === undefined) return { type: backoff.type, delay };
  const jitter = backoff.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    v.fail(code, `${field}.jitter`, `invalid ${field}.jitter: expected a number from 0 to 1, got ${String(jitter)}`);
  }
  return { type: backoff.type, delay, jitter };
}

function resolveSchema(schema: StandardSchemaV1 | undefined): StandardSchemaV1 | undefined {
  if (schema === undefined) return undefined;
  const standard = (schema as Partial<StandardSchemaV1> | null)?.['~standard'] as
    Partial<StandardSchemaV1.Props> | undefined;
  if (standard?.version !== 1 || typeof standard.validate !== 'function') {
    v.fail('INVALID_OPTION', 'schema', 'invalid schema: expected a Standard Schema v1 (zod ≥3.24, valibot ≥1 …)');
  }
  return schema;
}

function resolveKeep(value: unknown): KeepJobs {
  const { ageMs, count } = (typeof value === 'object' && value !== null ? value : {}) as KeepJobsOptions;
  const code = 'INVALID_OPTION';
  if (ageMs === undefined && count === undefined) {
    v.fail(code, 'keepCompleted', 'invalid keepCompleted: expected { ageMs?, count? } with at least one of them');
  }
  const field = 'keepCompleted.count';
  const kept = count === undefined ? undefined : v.integer(count, { field, code, min: 0, max: 2 ** 52, unit: 'jobs' });
  if (ageMs === undefined) return { count: kept! };
  // BullMQ counts age in seconds.
  const age = Math.ceil(v.integer(ageMs, { field: 'keepCompleted.ageMs', code, max: 2 ** 52 }) / 1000);
  return kept === undefined ? { age } : { age, count: kept };
}

/** Validates `options` and merges the defaults (throws `INVALID_OPTION` naming the option). */
export function resolveOptions<TData>(options: TaskQueueOptions<TData>) {
  v.object(options, 'options', 'INVALID_OPTION');
  const d = DEFAULT_TASK_QUEUE_OPTIONS;
  const integer = (
    field: keyof TaskQueueOptions,
    fallback: number,
    rules: { min?: number; max?: number; unit?: string } = {},
  ): number => v.integer(options[field] ?? fallback, { field, code: 'INVALID_OPTION', ...rules });
  const lockDurationMs = integer('lockDurationMs', d.lockDurationMs, { min: 2 });
  const lockRenewMs = integer('lockRenewMs', Math.max(1, Math.floor(lockDurationMs / 2)));
  if (lockRenewMs >= lockDurationMs) {
    const message = `invalid lockRenewMs: must be less than lockDurationMs (${lockDurationMs}), or the lock expires first`;
    v.fail('INVALID_OPTION', 'lockRenewMs', message);
  }
  const stalls = options.maxStalledCount ?? d.maxStalledCount;
  return {
    schema: resolveSchema(options.schema),
    maxDataBytes: integer('maxDataBytes', d.maxDataBytes, { unit: 'bytes' }),
    attempts: integer('attempts', d.attempts, { max: 1_000_000, unit: 'attempts' }),
    backoff: resolveBackoff('backoff', options.backoff ?? d.backoff, 'INVALID_OPTION'),
    lockDurationMs,
    lockRenewMs,
    stalledIntervalMs: integer('stalledIntervalMs', d.stalledIntervalMs),
    maxStalledCount:
      stalls === Number.POSITIVE_INFINITY
        ? Number.MAX_SAFE_INTEGER
        : integer('maxStalledCount', stalls, { min: 0, max: 1_000_000, unit: 'stalls' }),
    closeTimeoutMs: integer('closeTimeoutMs', d.closeTimeoutMs),
    keepCompleted: resolveKeep(options.keepCompleted ?? d.keepCompleted),
  };
}
