/** A job that failed for good, as kept in the dead-letter queue. */
export interface DeadLetter<TData = unknown> {
  /** The job's id in the main queue. */
  jobId: string;
  /** Its id in the dead-letter queue, what `retryDeadLetter()` takes: the job's id, or `<jobId>~<failedAt>` when an earlier failure of a job with the same id is still there. */
  deadLetterId: string;
  /** The job's data, as it was queued. */
  data: TData;
  /** The last error: its message and, when the handler threw an Error, its stack. */
  error: { message: string; stack: string | undefined };
  /** Attempts made (1 for a job that failed on its first and only run). */
  attemptsMade: number;
  /** Priority it had in the main queue, if any. */
  priority: number | undefined;
  /** When it failed for good. Unit: ms since epoch. */
  failedAt: number;
}
