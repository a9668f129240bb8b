import type { RedisConnectionManager } from '@shim/connection';
import type { Validator } from '@shim/connection/kit';
import type { Queue } from 'bullmq';
import type { TaskQueueErrorCode } from './errors.js';
import type { QueueNames } from './keys.js';
import type { BackoffOptions, ResolvedTaskQueueOptions } from './options.js';

/** What a handler gets besides the job's data. */
export interface JobContext {
  /** The job's id. */
  readonly jobId: string;
  /** Which attempt this is: 1 for the first run, 2 for the first retry … (a run after a stall keeps its number). */
  readonly attempt: number;
  /** Attempts this job may make in all. */
  readonly maxAttempts: number;
  /** Fires when the job must stop: `close()` ran out of time. Pass it to fetch, child processes … */
  readonly signal: AbortSignal;
  /** Reports progress (a number such as a percentage, or a JSON object), seen by `subscribe()` in every process. */
  progress(value: number | Record<string, unknown>): Promise<void>;
}

/** Does one job: returns its result (JSON) or throws to fail this attempt. */
export type JobHandler<TData, TResult> = (data: TData, ctx: JobContext) => TResult | Promise<TResult>;

/** Options of {@link TaskQueueWrapper.process}. */
export interface ProcessOptions {
  /** Jobs run at once by this wrapper. @defaultValue 1 */
  concurrency?: number | undefined;
}

/** Options of one job (the options form of `addJob`, and each entry of `addJobs`). */
export interface AddJobOptions {
  /** 1 (most urgent) to 2,097,151. Jobs without a priority run before every prioritized job, first in first out. */
  priority?: number | undefined;
  /** Your id for the job: adding a job whose id is already in the queue (waiting, active, delayed, or kept after it finished) adds nothing and returns that id; adding one whose id is a dead letter is refused (`JOB_EXISTS`). Not empty, not all digits, no `:`, at most 256 characters. @defaultValue a random UUID */
  jobId?: string | undefined;
  /** Run no earlier than this long from now. Unit: ms. @defaultValue 0 */
  delayMs?: number | undefined;
  /** Attempts of this job (first run included). @defaultValue the queue's `attempts` */
  attempts?: number | undefined;
  /** Wait between attempts of this job. @defaultValue the queue's `backoff` */
  backoff?: BackoffOptions | undefined;
}

/** One entry of {@link TaskQueueWrapper.addJobs}. */
export interface BulkJob<TData> {
  data: TData;
  options?: AddJobOptions | undefined;
}

/** Counts of {@link TaskQueueWrapper.getQueueStats}. */
export interface QueueStats {
  /** Waiting without a priority (including while the queue is paused). */
  waiting: number;
  active: number;
  /** Completed jobs still kept (see `keepCompleted`). */
  completed: number;
  /** Failed for good but not (yet) a dead letter: always 0 — a job that fails for good is a dead letter at once, counted in `deadLetter` (this counted failures not yet moved to the old dead-letter queue). */
  failed: number;
  delayed: number;
  /** Waiting with a priority. */
  prioritized: number;
  /** Dead letters: jobs failed for good, kept in BullMQ's failed set (what BullMQ tools show as "failed"). */
  deadLetter: number;
  isPaused: boolean;
}

/** Options of {@link TaskQueueWrapper.clean}. */
export interface CleanOptions {
  /** Which finished jobs to remove (`failed`: dead letters). */
  status: 'completed' | 'failed';
  /** Remove jobs that finished longer ago than this. Unit: ms. */
  olderThanMs: number;
  /** Remove at most this many. @defaultValue 1_000 */
  limit?: number | undefined;
}

/** Options of {@link TaskQueueWrapper.close}. */
export interface CloseOptions {
  /** Overrides the queue's `closeTimeoutMs`. Unit: ms. */
  timeoutMs?: number | undefined;
}

/** A job that failed for good: a dead letter, kept in BullMQ's failed set. */
export interface DeadLetter<TData = unknown> {
  /** The job's id. */
  jobId: string;
  /** What `retryDeadLetter()` takes: the job's id (a dead letter stays under its job's id; kept for code written when letters could have ids of their own). */
  deadLetterId: string;
  /** The job's data, as it was queued. */
  data: TData;
  /** The last error: its message and, when the handler threw an Error, its stack. */
  error: { message: string; stack: string | undefined };
  /** Attempts made (1 for a job that failed on its first and only run). */
  attemptsMade: number;
  /** Its priority, if any. */
  priority: number | undefined;
  /** When it failed for good. Unit: ms since epoch. */
  failedAt: number;
}

/** What the parts of one task queue share (internal: not exported by the package). */
export interface QueueContext {
  readonly name: string;
  readonly manager: RedisConnectionManager;
  readonly names: QueueNames;
  readonly options: ResolvedTaskQueueOptions;
  /** Throws `TaskQueueError`s naming this queue. */
  readonly v: Validator<TaskQueueErrorCode>;
  /** The BullMQ queue, made on first use. */
  queue(): Queue;
  /** Throws `QUEUE_CLOSED` once `close()` began. */
  assertOpen(): void;
  /** Reports a background failure on `'error'`. */
  readonly onError: (error: unknown) => void;
}
