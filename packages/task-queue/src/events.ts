import type { DeadLetter } from './types.js';

/** Events a {@link TaskQueueWrapper} emits locally (Node's EventEmitter). */
export interface TaskQueueEvents<TData = unknown> {
  /** Something failed in the background: BullMQ or Redis errors (a job whose completion could not be written, a lost lock), a throwing subscriber or listener. Never thrown: without a listener it is dropped. */
  error: [error: Error];
  /** A job this process ran failed for good (its last attempt, or invalid data; with a finite `maxStalledCount`, too many stalls) and stays in BullMQ's failed set as a dead letter. */
  'dead-letter': [deadLetter: DeadLetter<TData>];
}

/** A job event seen by {@link TaskQueueWrapper.subscribe}, from whichever process caused it. */
export type TaskEvent =
  | {
      type: 'completed';
      jobId: string;
      /** The handler's return value, as JSON brought back. */
      result: unknown;
    }
  | {
      type: 'failed';
      jobId: string;
      /** The job failed for good (its last attempt, invalid data, or with a finite `maxStalledCount` too many stalls) and is now a dead letter; this is its last error message. Attempts that will be retried are not reported. */
      error: string;
    }
  | {
      type: 'progress';
      jobId: string;
      /** What the handler passed to `ctx.progress()`. */
      progress: unknown;
    }
  | {
      type: 'stalled';
      /** A worker lost this job's lock (it died, lost Redis, or its event loop was blocked for longer than the lock); the job runs again, without using an attempt. */
      jobId: string;
    };

/** Handler of {@link TaskQueueWrapper.subscribe}. */
export type TaskEventHandler = (event: TaskEvent) => void | Promise<void>;
