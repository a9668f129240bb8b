import { jsonProblem } from '@shim/connection/kit';
import { UnrecoverableError, Worker, type Job, type Span } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobHandler, QueueContext } from '../types.js';
import { validateData } from './job-input.js';
import { JobRun } from './job-run.js';
import { FORCED_CLOSE_MS, settleWithin } from './settle-within.js';

/**
 * A BullMQ worker on which only a task's own failure uses an attempt. BullMQ calls `handleFailed`
 * when the handler threw, but also when completing the job failed (its lock lost to a stall, the
 * connection dropped by a Redis restart) and then, the lock still held, it would fail the attempt
 * for an infrastructure fault. Such a job is left where it is: nothing renews its lock any more, so
 * the stalled check puts it back without using an attempt (BullMQ has reported the error).
 */
class TaskWorker extends Worker {
  /** Jobs whose handler failed: the processor adds them, `handleFailed` takes them out. */
  readonly ownFailures = new WeakSet<Job>();

  protected override async handleFailed(
    error: Error,
    job: Job,
    ...rest: [token: string, fetchNext?: () => boolean, span?: Span]
  ): Promise<Job> {
    // `deferredFailure`: BullMQ fails a job that stalled more often than a finite maxStalledCount allows.
    if (this.ownFailures.delete(job) || job.deferredFailure) return super.handleFailed(error, job, ...rest);
    // Nothing fetched, as when BullMQ's own move fails.
    return undefined as unknown as Job;
  }
}

/** What the worker of a task queue runs. */
export interface ProcessingJob<TData, TResult> {
  handler: JobHandler<TData, TResult>;
  concurrency: number;
  /** A job this worker ran failed for good: it is a dead letter now. */
  onDeadLetter: (job: Job) => void;
}

/** The worker of one task queue, on its own blocking connection: runs the handler on each job, `concurrency` at a time. */
export class Processing<TData, TResult> {
  readonly #ctx: QueueContext;
  readonly #run: ProcessingJob<TData, TResult>;
  readonly #connection: Redis;
  readonly #worker: TaskWorker;
  readonly #active = new Set<JobRun>();

  private constructor(ctx: QueueContext, run: ProcessingJob<TData, TResult>, connection: Redis) {
    this.#ctx = ctx;
    this.#run = run;
    this.#connection = connection;
    const { options, names } = ctx;
    this.#worker = new TaskWorker(names.main, (job: Job) => this.#process(job), {
      connection,
      prefix: names.prefix,
      concurrency: run.concurrency,
      autorun: false,
      lockDuration: options.lockDurationMs,
      lockRenewTime: options.lockRenewMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      removeOnComplete: options.keepCompleted,
    });
    this.#worker.on('error', ctx.onError);
    // `finishedOn` is set only when the job left for the failed set, not when a retry is scheduled.
    this.#worker.on('failed', (job) => {
      if (job?.finishedOn !== undefined) run.onDeadLetter(job);
    });
  }

  /** Starts the worker; resolves once it and the queue are ready (a failed start leaves nothing behind). */
  static async start<TData, TResult>(
    ctx: QueueContext,
    run: ProcessingJob<TData, TResult>,
  ): Promise<Processing<TData, TResult>> {
    const connection = await ctx.manager.createConnection('blocking');
    const processing = new Processing(ctx, run, connection);
    const worker = processing.#worker;
    worker.run().catch(ctx.onError);
    try {
      await Promise.all([worker.waitUntilReady(), ctx.queue().waitUntilReady()]);
    } catch (error) {
      await settleWithin(worker.close(true), FORCED_CLOSE_MS);
      await ctx.manager.releaseConnection(connection);
      throw error;
    }
    return processing;
  }

  /** BullMQ's graceful close (no new jobs, waits for the active ones), then lets go of the connection. */
  async close(): Promise<void> {
    await this.#worker.close();
    await this.#ctx.manager.releaseConnection(this.#connection);
  }

  /** For when the graceful close ran out of time: fires the active jobs' `signal` and drops the connection. */
  async forceClose(reason: Error): Promise<void> {
    for (const run of this.#active) run.abort(reason);
    await Promise.allSettled([this.#worker.disconnect(), this.#ctx.manager.releaseConnection(this.#connection)]);
  }

  async #process(job: Job): Promise<TResult> {
    const { options, name } = this.#ctx;
    const run = new JobRun(job, name);
    this.#active.add(run);
    try {
      let data = job.data as TData;
      if (options.schema !== undefined) {
        // Invalid data will not become valid by retrying: a dead letter at once.
        data = (await validateData(options.schema, data, name).catch((error: Error) => {
          throw new UnrecoverableError(error.message);
        })) as TData;
      }
      const result = await this.#run.handler(data, run);
      const problem = result === undefined ? undefined : jsonProblem(result, 'result');
      if (problem !== undefined) throw new Error(`the handler's result cannot be stored as JSON: ${problem}`);
      return result;
    } catch (error) {
      // A run cut short by close() did not fail: it runs again elsewhere once its lock expires.
      if (!run.interrupted) this.#worker.ownFailures.add(job);
      throw error;
    } finally {
      this.#active.delete(run);
    }
  }
}
