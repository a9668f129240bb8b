/**
 * One message or task that SHIM gave up on, in the same shape whatever kept it: a task queue's
 * failed job (BullMQ's failed set) or an inbox message delivered too often (the inbox's
 * dead-letter stream). Operators list, read, retry and purge both kinds through a
 * {@link DeadLetterStore}.
 */
export interface DeadLetterRecord<TPayload = unknown> {
  /** What `get`, `retry` and `purge` take: the job's id, or the dead-letter stream entry's id. */
  id: string;
  /** Where it came from: `queue:<name>` or `inbox:<recipient>`. */
  source: string;
  /** Why it was given up: the last error of the task, or why the message could not be handled. */
  reason: string;
  /** Attempts made (task runs, or message deliveries). */
  attempts: number;
  /** When it was given up. Unit: ms since epoch. */
  failedAt: number;
  /** The task's data or the message, as it was sent (`undefined` when it could not be read back). */
  payload: TPayload;
}

/** Options of {@link DeadLetterStore.list}. */
export interface DeadLetterListOptions {
  /** How many to skip, oldest first. @defaultValue 0 */
  start?: number | undefined;
  /** How many at most. @defaultValue 100 */
  count?: number | undefined;
}

/** The verbs every dead-letter keeper of SHIM offers, each on its engine's own mechanism. */
export interface DeadLetterStore<TPayload = unknown> {
  /** Dead letters, oldest first. */
  list(options?: DeadLetterListOptions): Promise<Array<DeadLetterRecord<TPayload>>>;
  /** One dead letter, or undefined when there is none with that id. */
  get(id: string): Promise<DeadLetterRecord<TPayload> | undefined>;
  /** Hands it back for another round (a job waits again with fresh attempts; a message goes back to its inbox); returns the new id. */
  retry(id: string): Promise<string>;
  /** Deletes the given dead letters, or every one when `ids` is omitted; resolves with how many were deleted. */
  purge(ids?: readonly string[]): Promise<number>;
  /** How many there are. */
  count(): Promise<number>;
}
