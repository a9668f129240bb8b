import { createValidator, type Validator } from '@shim/connection/kit';
import type { StandardSchemaV1 } from '@standard-schema/spec';

/** Every `code` an error of `@shim/task-queue` can carry. */
export type TaskQueueErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_QUEUE_NAME'
  | 'INVALID_PRIORITY'
  | 'INVALID_JOB_OPTION'
  | 'INVALID_JOB_ID'
  | 'INVALID_DATA'
  | 'DATA_TOO_LARGE'
  | 'VALIDATION_FAILED'
  | 'INVALID_HANDLER'
  | 'ALREADY_PROCESSING'
  | 'NOT_FOUND'
  | 'JOB_EXISTS'
  | 'QUEUE_CLOSED';

/**
 * The error of this package. Match on `code` (or {@link isTaskQueueError}), not on the message.
 * When one is thrown, no job was added, moved or removed. (The first call that reaches Redis
 * creates BullMQ's small `meta` hash of the queue, as any BullMQ `Queue` does.)
 */
export class TaskQueueError extends Error {
  override readonly name = 'TaskQueueError';
  readonly code: TaskQueueErrorCode;
  /** The queue concerned. */
  readonly queueName: string | undefined;
  /** The job concerned, when there is one. */
  readonly jobId: string | undefined;
  /** For `VALIDATION_FAILED`: the schema's issues, as the Standard Schema validator reported them. */
  readonly issues: readonly StandardSchemaV1.Issue[] | undefined;

  constructor(
    code: TaskQueueErrorCode,
    message: string,
    options: { queueName?: string; jobId?: string; issues?: readonly StandardSchemaV1.Issue[]; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.queueName = options.queueName;
    this.jobId = options.jobId;
    this.issues = options.issues;
  }
}

/** True when `value` is an error of this package (optionally with `code`); works across ESM/CJS copies. */
export function isTaskQueueError(value: unknown, code?: TaskQueueErrorCode): value is TaskQueueError {
  if (!(value instanceof Error) || value.name !== 'TaskQueueError') return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}

/** The kit's boundary checks, throwing a {@link TaskQueueError} (naming `queueName` when given) with the code each check names. */
export function validatorFor(queueName?: string): Validator<TaskQueueErrorCode> {
  return createValidator(
    ({ code, message }) => new TaskQueueError(code, message, queueName === undefined ? {} : { queueName }),
  );
}
