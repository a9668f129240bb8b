import type { DeadLetter } from './dead-letter.js';

/** Events a {@link TaskQueueWrapper} emits locally (Node's EventEmitter). */
export interface TaskQueueEvents<TData = unknown> {
  /** Something failed in the background: BullMQ or Redis errors, a dead-letter move, a throwing subscriber. Never thrown: without a listener it is dropped. */
  error: [error: Error];
  /** This process moved a job that failed for good to the dead-letter queue. */
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
      /** The job failed for good (its last attempt, too many stalls, or invalid data) and goes to the dead-letter queue; this is its last error message. Attempts that will be retried are not reported. */
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
      /** A worker lost this job's lock (it died or its event loop was blocked for longer than the lock); the job runs again. */
      jobId: string;
    };

/** Handler of {@link TaskQueueWrapper.subscribe}. */
export type TaskEventHandler = (event: TaskEvent) => void | Promise<void>;
