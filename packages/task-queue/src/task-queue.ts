import { EventEmitter } from 'node:events';
import type { DeadLetterStore, RedisConnectionManager } from '@shim/connection';
import { emitSafely, isConnectionManagerLike, toError, type Validator } from '@shim/connection/kit';
import { Queue, type Job } from 'bullmq';
import { QueueDeadLetters, toDeadLetter } from './dead-letters.js';
import { TaskQueueError, validatorFor, type TaskQueueErrorCode } from './errors.js';
import type { TaskEventHandler, TaskQueueEvents } from './events.js';
import { EventFeed } from './internal/event-feed.js';
import { checkData, resolveJobOptions } from './internal/job-input.js';
import { Processing } from './internal/processing.js';
import { FORCED_CLOSE_MS, ignore, settleWithin } from './internal/settle-within.js';
import { queueNameProblem, queueNames } from './keys.js';
import { resolveOptions, type TaskQueueOptions } from './options.js';
import type * as T from './types.js';

const JOB_NAME = 'task';
const check: Validator<TaskQueueErrorCode> = validatorFor();

/**
 * Typed BullMQ job queue with priorities, retries and dead letters. Delivery is at-least-once: a
 * job whose worker dies is run again by another one, so give jobs a `jobId` and make handlers
 * idempotent. Connections come from the manager; BullMQ's `prefix` is its namespace.
 *
 * @example
 * ```ts
 * const queue = new TaskQueueWrapper<{ file: string }, string>(manager, 'reviews');
 * await queue.process(async (data, ctx) => `reviewed ${data.file} (attempt ${ctx.attempt})`);
 * await queue.addJob({ file: 'a.ts' }, 1);
 * ```
 */
export class TaskQueueWrapper<TData, TResult = unknown> extends EventEmitter<TaskQueueEvents<TData>> {
  /** The queue's name, as given. */
  readonly name: string;
  /** The dead letters (jobs failed for good, kept in BullMQ's failed set under their job's id) in SHIM's one dead-letter shape. */
  readonly dead: DeadLetterStore<TData>;
  readonly #ctx: T.QueueContext;
  readonly #deadLetters: QueueDeadLetters<TData>;
  readonly #feed: EventFeed;
  #queue: Queue | undefined;
  #processing: Promise<Processing<TData, TResult>> | undefined;
  #closing: Promise<void> | undefined;

  /** Validates the name and options at once (throws `INVALID_QUEUE_NAME` / `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, queueName: string, options: TaskQueueOptions<TData> = {}) {
    super();
    if (!isConnectionManagerLike(connection)) {
      check.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
    }
    const problem = queueNameProblem(queueName);
    if (problem !== undefined) check.fail('INVALID_QUEUE_NAME', 'queue name', `invalid queue name: ${problem}`);
    this.name = queueName;
    this.#ctx = {
      name: queueName,
      manager: connection,
      names: queueNames(connection.namespace, queueName),
      options: resolveOptions(options),
      v: validatorFor(queueName),
      queue: () => this.#bull(),
      assertOpen: () => this.#assertOpen(),
      onError: (error) => void emitSafely(this, 'error', toError(error)),
    };
    this.dead = this.#deadLetters = new QueueDeadLetters<TData>(this.#ctx);
    this.#feed = new EventFeed(this.#ctx);
  }

  /**
   * Adds one job and returns its id. The second argument is a priority (1 = most urgent …
   * 2,097,151) or {@link AddJobOptions}. With a `jobId` already in the queue, nothing is added and
   * that id is returned; with the `jobId` of a dead letter, nothing is added and `JOB_EXISTS` is
   * thrown (retry or purge the dead letter first). Invalid input throws before anything is written.
   */
  async addJob(data: TData, priorityOrOptions?: number | T.AddJobOptions): Promise<string> {
    this.#assertOpen();
    const options = resolveJobOptions(priorityOrOptions, this.#ctx);
    const checked = checkData(data, this.#ctx);
    const stored: unknown = checked instanceof Promise ? await checked : checked;
    // Only an id the caller chose can be a dead letter's.
    if (typeof priorityOrOptions === 'object' && priorityOrOptions.jobId !== undefined) {
      await this.#deadLetters.refuseIds([options.jobId]);
    }
    // Our id, always given: for a duplicate BullMQ returns the existing job, which has the same id.
    await this.#bull().add(JOB_NAME, stored, options);
    return options.jobId;
  }

  /** Adds several jobs in one round trip, all or none; every entry is validated before anything is written. */
  async addJobs(jobs: ReadonlyArray<T.BulkJob<TData>>): Promise<string[]> {
    this.#assertOpen();
    const { v } = this.#ctx;
    if (!Array.isArray(jobs)) v.fail('INVALID_JOB_OPTION', 'jobs', 'addJobs expects an array of { data, options? }');
    const chosen: string[] = [];
    // Array.from visits holes too (map would skip them and hand `undefined` to BullMQ).
    const prepared = await Promise.all(
      Array.from(jobs, async (entry: T.BulkJob<TData> | undefined, index) => {
        if (typeof entry !== 'object' || entry === null) {
          this.#ctx.v.fail(
            'INVALID_JOB_OPTION',
            `jobs[${index}]`,
            `jobs[${index}] must be an object { data, options? }`,
          );
        }
        try {
          const opts = resolveJobOptions(entry.options, this.#ctx);
          if (entry.options?.jobId !== undefined) chosen.push(opts.jobId);
          return { name: JOB_NAME, data: await checkData(entry.data, this.#ctx), opts };
        } catch (error) {
          if (error instanceof TaskQueueError) error.message = `jobs[${index}]: ${error.message}`;
          throw error;
        }
      }),
    );
    if (prepared.length === 0) return [];
    await this.#deadLetters.refuseIds(chosen);
    await this.#bull().addBulk(prepared);
    return prepared.map((job) => job.opts.jobId);
  }

  /**
   * Starts a worker that calls `handler(data, ctx)` for each job, `concurrency` at a time, and
   * resolves once it is running. A throw fails the attempt (retried with backoff until the job's
   * attempts are used up, then it stays in BullMQ's failed set as a dead letter); a stall or a lost
   * connection uses no attempt. Call it once per wrapper.
   */
  async process(handler: T.JobHandler<TData, TResult>, options: T.ProcessOptions = {}): Promise<void> {
    this.#assertOpen();
    this.#assertHandler(handler);
    const { v } = this.#ctx;
    v.object(options, 'options', 'INVALID_OPTION');
    const rules = { field: 'concurrency', code: 'INVALID_OPTION', max: 10_000, unit: 'jobs' } as const;
    const concurrency = v.integer(options.concurrency ?? 1, rules);
    if (this.#processing !== undefined) {
      v.fail('ALREADY_PROCESSING', 'process', 'process() was already called on this task queue');
    }
    const onDeadLetter = (job: Job): void => {
      if (this.listenerCount('dead-letter') > 0) emitSafely(this, 'dead-letter', toDeadLetter<TData>(job));
    };
    this.#processing = Processing.start(this.#ctx, { handler, concurrency, onDeadLetter });
    await this.#processing.catch((error: unknown) => {
      this.#processing = undefined;
      throw error;
    });
  }

  /** Job counts, dead letters included. */
  async getQueueStats(): Promise<T.QueueStats> {
    this.#assertOpen();
    const queue = this.#bull();
    const [counts, isPaused] = await Promise.all([
      queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'),
      queue.isPaused(),
    ]);
    const { waiting = 0, active = 0, completed = 0, failed = 0, delayed = 0, prioritized = 0 } = counts;
    // Every job failed for good is a dead letter (see QueueStats.failed).
    return { waiting, active, completed, failed: 0, delayed, prioritized, deadLetter: failed, isPaused };
  }

  /** Dead letters (jobs failed for good, in BullMQ's failed set), oldest first. */
  async listDeadLetters(range: { start?: number; count?: number } = {}): Promise<Array<T.DeadLetter<TData>>> {
    return (await this.#deadLetters.jobs(range)).map((job) => toDeadLetter<TData>(job));
  }

  /**
   * Moves a dead letter back to waiting, in one BullMQ script, under its job's id (a letter's
   * `deadLetterId` is that id), with its priority and fresh attempts counted from 1; returns the id.
   * `NOT_FOUND` when no dead letter has that id.
   */
  async retryDeadLetter(jobId: string): Promise<string> {
    return this.#deadLetters.retry(jobId);
  }

  /** Stops every worker of this queue (in every process) from taking new jobs; active ones finish. */
  async pause(): Promise<void> {
    this.#assertOpen();
    await this.#bull().pause();
  }

  /** Lets workers take jobs again after {@link TaskQueueWrapper.pause}. */
  async resume(): Promise<void> {
    this.#assertOpen();
    await this.#bull().resume();
  }

  /** Removes finished jobs (`failed`: dead letters) older than `olderThanMs` and returns how many were removed. */
  async clean(options: T.CleanOptions): Promise<number> {
    this.#assertOpen();
    const { v } = this.#ctx;
    const code = 'INVALID_OPTION';
    if (options?.status !== 'completed' && options?.status !== 'failed') {
      v.fail(code, 'status', "invalid status: expected 'completed' or 'failed'");
    }
    const olderThanMs = v.integer(options.olderThanMs, { field: 'olderThanMs', code, min: 0, max: 2 ** 52 });
    const limit = v.integer(options.limit ?? 1_000, { field: 'limit', code, max: 1_000_000, unit: 'jobs' });
    return (await this.#bull().clean(olderThanMs, limit, options.status)).length;
  }

  /**
   * Calls `handler` for each job event (completed, failed, progress, stalled) caused by any
   * process, from BullMQ's event stream; resolves once every later event will be seen. Events are
   * read from a capped stream (about 10,000 events), so a subscriber that falls that far behind
   * misses the oldest. Returns the unsubscribe function.
   */
  async subscribe(handler: TaskEventHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    this.#assertHandler(handler);
    return this.#feed.subscribe(handler);
  }

  /**
   * Stops taking jobs, lets active ones finish for up to `closeTimeoutMs`, then aborts their
   * `signal` and closes anyway (an unfinished job is run again elsewhere once its lock expires,
   * without using an attempt). Never hangs, even without Redis. Closes only what this wrapper
   * created. Idempotent.
   */
  async close(options: T.CloseOptions = {}): Promise<void> {
    const { v } = this.#ctx;
    v.object(options, 'options', 'INVALID_OPTION');
    const timeoutMs =
      options.timeoutMs === undefined
        ? this.#ctx.options.closeTimeoutMs
        : v.integer(options.timeoutMs, { field: 'timeoutMs', code: 'INVALID_OPTION' });
    return (this.#closing ??= this.#shutdown(timeoutMs));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #bull(): Queue {
    if (this.#queue === undefined) {
      const { manager, names, onError } = this.#ctx;
      this.#queue = new Queue(names.main, { connection: manager.getConnection(), prefix: names.prefix });
      this.#queue.on('error', onError);
    }
    return this.#queue;
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    const processing = this.#processing?.catch(ignore);
    // Graceful: BullMQ stops taking jobs and waits for the active ones; then the reader and the queue.
    const graceful = async (): Promise<void> => {
      await (await processing)?.close();
      await this.#feed.close();
      await this.#queue?.close();
    };
    if ((await settleWithin(graceful(), timeoutMs)).ok) return;
    const reason = new TaskQueueError('QUEUE_CLOSED', `task queue '${this.name}' closed before the job finished`, {
      queueName: this.name,
    });
    const started = await settleWithin(processing ?? Promise.resolve(undefined), 1);
    const forced = Promise.allSettled([
      started.ok ? started.value?.forceClose(reason) : undefined,
      this.#feed.close(true),
      // The queue shares the manager's command connection: only let go of it, never disconnect it.
      this.#queue?.close(),
    ]);
    await settleWithin(forced, FORCED_CLOSE_MS);
  }

  #assertHandler(handler: unknown): void {
    if (typeof handler !== 'function') {
      this.#ctx.v.fail('INVALID_HANDLER', 'handler', `handler must be a function, got ${typeof handler}`);
    }
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) this.#ctx.v.fail('QUEUE_CLOSED', 'queue', `task queue '${this.name}' was closed`);
  }
}
