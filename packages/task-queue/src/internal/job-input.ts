import type { Validator } from '@shim/connection/kit';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { JobsOptions } from 'bullmq';
import { TaskQueueError, type TaskQueueErrorCode } from '../errors.js';
import { MAX_PRIORITY, resolveBackoff } from '../options.js';
import type { AddJobOptions, QueueContext } from '../types.js';

/** What the input checks need to know about a queue. */
export type QueueSpec = Pick<QueueContext, 'name' | 'options' | 'v'>;

/** Checks a job id (the message names what to change) and returns it. */
export function assertJobId(jobId: unknown, v: Validator<TaskQueueErrorCode>): string {
  const id = v.name(jobId, { field: 'jobId', code: 'INVALID_JOB_ID', maxLength: 256 });
  const problem = /^\d+$/.test(id) ? 'ids made only of digits are reserved for BullMQ' : "':' is not allowed";
  if (/^\d+$|:/.test(id)) v.fail('INVALID_JOB_ID', 'jobId', `jobId ${JSON.stringify(id)}: ${problem}`);
  return id;
}

/** Validates one job's options (nothing is written when this throws) into BullMQ's. */
export function resolveJobOptions(
  input: number | AddJobOptions | undefined,
  queue: QueueSpec,
): JobsOptions & { jobId: string } {
  const options: AddJobOptions = typeof input === 'number' || input === undefined ? { priority: input } : input;
  if (typeof options !== 'object' || options === null) {
    const got = options === null ? 'null' : typeof options;
    queue.v.fail('INVALID_JOB_OPTION', 'options', `expected a priority or an options object, got ${got}`);
  }
  const { v } = queue;
  const code = 'INVALID_JOB_OPTION';
  const resolved: JobsOptions & { jobId: string } = {
    jobId: options.jobId === undefined ? crypto.randomUUID() : assertJobId(options.jobId, v),
    removeOnComplete: queue.options.keepCompleted,
    // A job that fails for good stays in BullMQ's failed set: that is its dead letter.
    removeOnFail: false,
    attempts:
      options.attempts === undefined
        ? queue.options.attempts
        : v.integer(options.attempts, { field: 'attempts', code, max: 1_000_000, unit: 'attempts' }),
    backoff: options.backoff === undefined ? queue.options.backoff : resolveBackoff('backoff', options.backoff, code),
  };
  if (options.priority !== undefined) {
    const rules = { field: 'priority', code: 'INVALID_PRIORITY', max: MAX_PRIORITY, unit: 'priority levels' } as const;
    resolved.priority = v.integer(options.priority, rules);
  }
  if (options.delayMs !== undefined) {
    resolved.delay = v.integer(options.delayMs, { field: 'delayMs', code, min: 0, max: 2 ** 52 });
  }
  return resolved;
}

/**
 * Checks job data before it is queued: it survives JSON, fits the size limit and (with a schema)
 * is valid — else a clear error. Returns the data to store: the input as given (a promise of it
 * when a schema must run); the handler gets the schema's output, computed when the job runs.
 */
export function checkData(data: unknown, queue: QueueSpec): unknown {
  queue.v.json(data, {
    field: 'data',
    code: 'INVALID_DATA',
    maxBytes: queue.options.maxDataBytes,
    tooLargeCode: 'DATA_TOO_LARGE',
    limitName: 'option maxDataBytes',
  });
  const schema = queue.options.schema;
  return schema === undefined ? data : validateData(schema, data, queue.name).then(() => data);
}

/** Runs the schema (sync or async; a throwing validator counts as an issue) and returns its output value. */
export async function validateData(schema: StandardSchemaV1, data: unknown, queueName: string): Promise<unknown> {
  let result: StandardSchemaV1.Result<unknown>;
  try {
    result = await schema['~standard'].validate(data);
  } catch (error) {
    result = {
      issues: [{ message: `the validator threw: ${error instanceof Error ? error.message : String(error)}` }],
    };
  }
  if (result.issues === undefined) return result.value;
  const summary = result.issues
    .slice(0, 5)
    .map((issue) => {
      const path = (issue.path ?? []).map((part) => String(typeof part === 'object' ? part.key : part)).join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ');
  throw new TaskQueueError('VALIDATION_FAILED', `job data does not match the schema: ${summary}`, {
    queueName,
    issues: result.issues,
  });
}
