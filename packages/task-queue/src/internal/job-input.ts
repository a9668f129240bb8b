import { jsonProblem } from '@shim/connection/kit';
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { JobsOptions } from 'bullmq';
import { TaskQueueError } from '../errors.js';
import {
  integerIn,
  MAX_PRIORITY,
  resolveBackoff,
  type BackoffOptions,
  type ResolvedTaskQueueOptions,
} from '../options.js';

/** Options of one job (the options form of `addJob`, and each entry of `addJobs`). */
export interface AddJobOptions {
  /** 1 (most urgent) to 2,097,151. Jobs without a priority run before every prioritized job, first in first out. */
  priority?: number | undefined;
  /** Your id for the job: adding a job whose id is already in the queue (waiting, active, delayed, or kept after it finished) adds nothing and returns that id. Not empty, not all digits, no `:`, at most 256 characters. @defaultValue a random UUID */
  jobId?: string | undefined;
  /** Run no earlier than this long from now. Unit: ms. @defaultValue 0 */
  delayMs?: number | undefined;
  /** Attempts of this job (first run included). @defaultValue the queue's `attempts` */
  attempts?: number | undefined;
  /** Wait between attempts of this job. @defaultValue the queue's `backoff` */
  backoff?: BackoffOptions | undefined;
}

function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

/** Checks a job id: the message names what to change. */
export function assertJobId(jobId: unknown, queueName: string): string {
  const problem =
    typeof jobId !== 'string'
      ? `expected a string, got ${typeof jobId}`
      : jobId.length === 0 || jobId.length > 256
        ? `expected 1 to 256 characters, got ${jobId.length}`
        : /^\d+$/.test(jobId)
          ? 'ids made only of digits are reserved for BullMQ'
          : jobId.includes(':')
            ? "':' is not allowed"
            : hasControlCharacter(jobId)
              ? 'control characters are not allowed'
              : /\p{Cs}/u.test(jobId)
                ? 'lone surrogates are not valid UTF-8 (Redis would store a different id)'
                : undefined;
  if (problem !== undefined) throw new TaskQueueError('INVALID_JOB_ID', `invalid jobId: ${problem}`, { queueName });
  return jobId as string;
}

/** Validates one job's options (nothing is written when this throws) into BullMQ's. */
export function resolveJobOptions(
  input: number | AddJobOptions | undefined,
  queue: { name: string; options: ResolvedTaskQueueOptions },
): JobsOptions & { jobId: string } {
  const options: AddJobOptions = typeof input === 'number' || input === undefined ? { priority: input } : input;
  if (typeof options !== 'object' || options === null) {
    const got = options === null ? 'null' : typeof options;
    throw new TaskQueueError('INVALID_JOB_OPTION', `expected a priority or an options object, got ${got}`, {
      queueName: queue.name,
    });
  }
  const resolved: JobsOptions & { jobId: string } = {
    jobId: options.jobId === undefined ? crypto.randomUUID() : assertJobId(options.jobId, queue.name),
    removeOnComplete: queue.options.keepCompleted,
    // Failed jobs stay until a worker moves them to the dead-letter queue.
    removeOnFail: false,
    attempts:
      options.attempts === undefined
        ? queue.options.attempts
        : integerIn('attempts', options.attempts, { min: 1, max: 1_000_000, code: 'INVALID_JOB_OPTION' }),
    backoff:
      options.backoff === undefined
        ? queue.options.backoff
        : resolveBackoff('backoff', options.backoff, 'INVALID_JOB_OPTION'),
  };
  if (options.priority !== undefined) {
    resolved.priority = integerIn('priority', options.priority, {
      min: 1,
      max: MAX_PRIORITY,
      code: 'INVALID_PRIORITY',
    });
  }
  if (options.delayMs !== undefined) {
    resolved.delay = integerIn('delayMs', options.delayMs, { min: 0, max: 2 ** 52, code: 'INVALID_JOB_OPTION' });
  }
  return resolved;
}

/**
 * Checks job data before it is queued: it survives JSON, fits the size limit and (with a schema)
 * is valid — else a clear error. Returns the data to store: the input as given (a promise of it
 * when a schema must run); the handler gets the schema's output, computed when the job runs.
 */
export function checkData(data: unknown, queue: { name: string; options: ResolvedTaskQueueOptions }): unknown {
  const problem = jsonProblem(data, 'data');
  if (problem !== undefined) {
    throw new TaskQueueError('INVALID_DATA', `job data cannot be stored as JSON: ${problem}`, {
      queueName: queue.name,
    });
  }
  const bytes = Buffer.byteLength(JSON.stringify(data));
  if (bytes > queue.options.maxDataBytes) {
    throw new TaskQueueError(
      'DATA_TOO_LARGE',
      `job data is ${bytes} bytes as JSON, over the limit of ${queue.options.maxDataBytes} (option maxDataBytes)`,
      { queueName: queue.name },
    );
  }
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
