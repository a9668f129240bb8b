import { jsonProblem } from '@shim/connection/kit';
import type { Job } from 'bullmq';
import { TaskQueueError } from '../errors.js';
import type { JobContext } from '../types.js';

/**
 * The `ctx` of one handler call. `signal` and `progress` are made on first use (getters, so
 * destructuring `{ signal, progress }` works): most handlers never touch them, and an
 * AbortSignal per job measurably slows a queue of small jobs.
 */
export class JobRun implements JobContext {
  readonly jobId: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly #job: Job;
  readonly #queueName: string;
  #controller: AbortController | undefined;
  #abortReason: Error | undefined;
  #progress: JobContext['progress'] | undefined;

  constructor(job: Job, queueName: string) {
    this.#job = job;
    this.#queueName = queueName;
    this.jobId = String(job.id);
    this.attempt = job.attemptsMade + 1;
    // Jobs added by raw BullMQ may say 0: BullMQ runs them once.
    this.maxAttempts = Math.max(1, job.opts.attempts ?? 1);
  }

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  get progress(): JobContext['progress'] {
    this.#progress ??= async (value) => {
      const problem = jsonProblem(value, 'progress');
      if (problem !== undefined || (typeof value !== 'number' && (typeof value !== 'object' || value === null))) {
        const message = `progress must be a number or a JSON object: ${problem ?? typeof value}`;
        throw new TaskQueueError('INVALID_DATA', message, { queueName: this.#queueName, jobId: this.jobId });
      }
      await this.#job.updateProgress(value);
    };
    return this.#progress;
  }

  /** True once {@link JobRun.abort} ran: the job was cut short, whatever the handler does next. */
  get interrupted(): boolean {
    return this.#abortReason !== undefined;
  }

  /** Fires `signal` (now, or as soon as the handler reads it). */
  abort(reason: Error): void {
    this.#abortReason ??= reason;
    this.#controller?.abort(reason);
  }
}
