import { EventEmitter } from 'node:events';
import type { RedisConnectionManager } from '@shim/connection';
import { emitSafely, jsonProblem, toError } from '@shim/connection/kit';
import { Queue, QueueEvents, UnrecoverableError, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeadLetter } from './dead-letter.js';
import { TaskQueueError } from './errors.js';
import type { TaskEvent, TaskEventHandler, TaskQueueEvents } from './events.js';
import { assertJobId, checkData, resolveJobOptions, validateData, type AddJobOptions } from './internal/job-input.js';
import { JobRun } from './internal/job-run.js';
import { ignore, settleWithin } from './internal/settle-within.js';
import { bullJobKey, deadLetterClaimKey, queueNameProblem, queueNames, type QueueNames } from './keys.js';
import { integerIn, resolveOptions, type ResolvedTaskQueueOptions, type TaskQueueOptions } from './options.js';

/** What a handler gets besides the job's data. */
export interface JobContext {
  /** The job's id. */
  readonly jobId: string;
  /** Which attempt this is: 1 for the first run, 2 for the first retry … (a run after a stall keeps its number). */
  readonly attempt: number;
  /** Attempts this job may make in all. */
  readonly maxAttempts: number;
  /** Fires when the job must stop: `close()` ran out of time. Pass it to fetch, child processes … */
  readonly signal: AbortSignal;
  /** Reports progress (a number such as a percentage, or a JSON object), seen by `subscribe()` in every process. */
  progress(value: number | Record<string, unknown>): Promise<void>;
}

/** Does one job: returns its result (JSON) or throws to fail this attempt. */
export type JobHandler<TData, TResult> = (data: TData, ctx: JobContext) => TResult | Promise<TResult>;

/** Options of {@link TaskQueueWrapper.process}. */
export interface ProcessOptions {
  /** Jobs run at once by this wrapper. @defaultValue 1 */
  concurrency?: number | undefined;
}

/** One entry of {@link TaskQueueWrapper.addJobs}. */
export interface BulkJob<TData> {
  data: TData;
  options?: AddJobOptions | undefined;
}

/** Counts of {@link TaskQueueWrapper.getQueueStats}. */
export interface QueueStats {
  /** Waiting without a priority (including while the queue is paused). */
  waiting: number;
  active: number;
  /** Completed jobs still kept (see `keepCompleted`). */
  completed: number;
  /** Failed for good and not yet moved to the dead-letter queue (normally 0 within one stall interval). */
  failed: number;
  delayed: number;
  /** Waiting with a priority. */
  prioritized: number;
  /** Jobs in the dead-letter queue. */
  deadLetter: number;
  isPaused: boolean;
}

/** Options of {@link TaskQueueWrapper.clean}. */
export interface CleanOptions {
  /** Which finished jobs to remove. */
  status: 'completed' | 'failed';
  /** Remove jobs that finished longer ago than this. Unit: ms. */
  olderThanMs: number;
  /** Remove at most this many. @defaultValue 1_000 */
  limit?: number | undefined;
}

/** Options of {@link TaskQueueWrapper.close}. */
export interface CloseOptions {
  /** Overrides the queue's `closeTimeoutMs`. Unit: ms. */
  timeoutMs?: number | undefined;
}

/** Stored in the dead-letter queue: the public {@link DeadLetter} plus what a retry needs. */
interface StoredDeadLetter extends Omit<DeadLetter, 'priority' | 'error' | 'deadLetterId'> {
  deadLetterId?: string;
  priority?: number;
  error: { message: string; stack?: string };
  options: Pick<JobsOptions, 'attempts' | 'backoff'>;
}

interface Queues {
  main: Queue;
  deadLetter: Queue;
}

const JOB_NAME = 'task';
const DEAD_LETTER_JOB_NAME = 'dead-letter';
const SWEEP_BATCH = 100;
/** How long a dead-letter mover's claim on one failure lasts. Unit: ms. */
const DEAD_LETTER_CLAIM_MS = 600_000;
/** How long a forced close may take once the graceful one ran out of time. Unit: ms. */
const FORCED_CLOSE_MS = 500;

/**
 * Typed BullMQ job queue with priorities, retries and a dead-letter queue. Delivery is
 * at-least-once: a job whose worker dies is run again by another one, so give jobs a `jobId` and
 * make handlers idempotent. Connections come from the manager; BullMQ's `prefix` is its namespace.
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
  readonly #manager: RedisConnectionManager;
  readonly #options: ResolvedTaskQueueOptions;
  readonly #names: QueueNames;
  /** What the input checks need to know about this queue. */
  readonly #spec: { name: string; options: ResolvedTaskQueueOptions };
  #queues: Queues | undefined;
  #starting: Promise<Worker> | undefined;
  #workerConnection: Redis | undefined;
  readonly #active = new Set<JobRun>();
  #sweepTimer: NodeJS.Timeout | undefined;
  #sweeping: Promise<void> | undefined;
  #sweepAgain = false;
  readonly #handlers = new Set<TaskEventHandler>();
  #events: Promise<QueueEvents> | undefined;
  #closing: Promise<void> | undefined;
  /** Where every background failure goes. */
  readonly #onError = (error: unknown): void => this.#emitError(error);

  /** Validates the name and options at once (throws `INVALID_QUEUE_NAME` / `INVALID_OPTION`); connects nothing. */
  constructor(connection: RedisConnectionManager, queueName: string, options: TaskQueueOptions<TData> = {}) {
    super();
    if (typeof (connection as Partial<RedisConnectionManager> | null)?.getConnection !== 'function') {
      throw new TaskQueueError('INVALID_OPTION', 'connection must be a RedisConnectionManager');
    }
    const problem = queueNameProblem(queueName);
    if (problem !== undefined) throw new TaskQueueError('INVALID_QUEUE_NAME', `invalid queue name: ${problem}`);
    this.name = queueName;
    this.#manager = connection;
    this.#options = resolveOptions(options);
    this.#names = queueNames(connection.namespace, queueName);
    this.#spec = { name: queueName, options: this.#options };
  }

  /**
   * Adds one job and returns its id. The second argument is a priority (1 = most urgent …
   * 2,097,151) or {@link AddJobOptions}. With a `jobId` already in the queue, nothing is added and
   * that id is returned. Invalid input throws before anything is written.
   */
  async addJob(data: TData, priorityOrOptions?: number | AddJobOptions): Promise<string> {
    this.#assertOpen();
    const options = resolveJobOptions(priorityOrOptions, this.#spec);
    const checked = checkData(data, this.#spec);
    const stored: unknown = checked instanceof Promise ? await checked : checked;
    // Our id, always given: for a duplicate BullMQ returns the existing job, which has the same id.
    await this.#bull().main.add(JOB_NAME, stored, options);
    return options.jobId;
  }

  /** Adds several jobs in one round trip, all or none; every entry is validated before anything is written. */
  async addJobs(jobs: ReadonlyArray<BulkJob<TData>>): Promise<string[]> {
    this.#assertOpen();
    if (!Array.isArray(jobs)) {
      throw new TaskQueueError('INVALID_JOB_OPTION', 'addJobs expects an array of { data, options? }', {
        queueName: this.name,
      });
    }
    // Array.from visits holes too (map would skip them and hand `undefined` to BullMQ).
    const prepared = await Promise.all(
      Array.from(jobs, async (entry: BulkJob<TData> | undefined, index) => {
        if (typeof entry !== 'object' || entry === null) {
          throw new TaskQueueError('INVALID_JOB_OPTION', `jobs[${index}] must be an object { data, options? }`, {
            queueName: this.name,
          });
        }
        try {
          const opts = resolveJobOptions(entry.options, this.#spec);
          return { name: JOB_NAME, data: await checkData(entry.data, this.#spec), opts };
        } catch (error) {
          if (error instanceof TaskQueueError) error.message = `jobs[${index}]: ${error.message}`;
          throw error;
        }
      }),
    );
    if (prepared.length === 0) return [];
    await this.#bull().main.addBulk(prepared);
    return prepared.map((job) => job.opts.jobId);
  }

  /**
   * Starts a worker that calls `handler(data, ctx)` for each job, `concurrency` at a time, and
   * resolves once it is running. A throw fails the attempt (retried with backoff until the job's
   * attempts are used up, then moved to the dead-letter queue). Call it once per wrapper.
   */
  async process(handler: JobHandler<TData, TResult>, options: ProcessOptions = {}): Promise<void> {
    this.#assertOpen();
    if (typeof handler !== 'function') {
      throw new TaskQueueError('INVALID_HANDLER', `handler must be a function, got ${typeof handler}`, {
        queueName: this.name,
      });
    }
    assertObject('options', options);
    const concurrency = integerIn('concurrency', options.concurrency ?? 1, { min: 1, max: 10_000 });
    if (this.#starting !== undefined) {
      throw new TaskQueueError('ALREADY_PROCESSING', 'process() was already called on this task queue', {
        queueName: this.name,
      });
    }
    this.#starting = this.#startWorker(handler, concurrency);
    try {
      await this.#starting;
    } catch (error) {
      this.#starting = undefined;
      throw error;
    }
  }

  /** Job counts of the main queue and the dead-letter queue. */
  async getQueueStats(): Promise<QueueStats> {
    this.#assertOpen();
    const { main, deadLetter } = this.#bull();
    const [counts, isPaused, dead] = await Promise.all([
      main.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized'),
      main.isPaused(),
      deadLetter.getJobCountByTypes('waiting'),
    ]);
    const count = (type: string): number => counts[type] ?? 0;
    return {
      waiting: count('waiting'),
      active: count('active'),
      completed: count('completed'),
      failed: count('failed'),
      delayed: count('delayed'),
      prioritized: count('prioritized'),
      deadLetter: dead,
      isPaused,
    };
  }

  /** Jobs in the dead-letter queue, oldest first. */
  async listDeadLetters(range: { start?: number; count?: number } = {}): Promise<Array<DeadLetter<TData>>> {
    this.#assertOpen();
    assertObject('range', range);
    const start = integerIn('start', range.start ?? 0, { min: 0, max: 2 ** 52 });
    const count = integerIn('count', range.count ?? 100, { min: 1, max: 10_000 });
    const jobs = await this.#bull().deadLetter.getJobs(['waiting'], start, start + count - 1, true);
    return jobs.filter(Boolean).map((job) => toPublicDeadLetter<TData>(job.data as StoredDeadLetter));
  }

  /**
   * Puts a dead job back into the main queue (its own id, priority and attempts, counted from 1)
   * and returns that id. Takes the letter's `deadLetterId` (the job's id, unless an earlier failure
   * of a job with the same id is in the dead-letter queue too).
   */
  async retryDeadLetter(jobId: string): Promise<string> {
    this.#assertOpen();
    // The dead-letter id: the job's id, or `<jobId>~<failedAt>` for a later failure of a re-used id.
    const deadLetterId = assertJobId(jobId, this.name);
    // Look before creating the BullMQ queues: a NOT_FOUND writes nothing (not even their meta).
    const exists = await this.#manager.getConnection().exists(bullJobKey(this.#names, 'deadLetter', deadLetterId));
    const dead = exists === 1 ? await this.#bull().deadLetter.getJob(deadLetterId) : undefined;
    if (dead === undefined) {
      throw new TaskQueueError('NOT_FOUND', `no job '${deadLetterId}' in the dead-letter queue of '${this.name}'`, {
        queueName: this.name,
        jobId: deadLetterId,
      });
    }
    const letter = dead.data as StoredDeadLetter;
    const { main } = this.#bull();
    const existing = await main.getJob(letter.jobId);
    if (existing !== undefined) {
      const state = await existing.getState();
      // A finished job kept under the same id (a later job that reused it) gives way; a live one does not.
      if (state !== 'completed') {
        throw new TaskQueueError(
          'JOB_EXISTS',
          `job '${letter.jobId}' is ${state} in the main queue; it stays in the dead-letter queue until that job is gone`,
          { queueName: this.name, jobId: letter.jobId },
        );
      }
      await existing.remove();
    }
    // Add first, then remove the dead copy: should the job fail again in between, its new failure
    // is moved under its own dead-letter id (the claim is per failure), so nothing is lost.
    await main.add(
      JOB_NAME,
      letter.data,
      this.#withRetention({
        jobId: letter.jobId,
        ...letter.options,
        ...(letter.priority === undefined ? {} : { priority: letter.priority }),
      }),
    );
    await dead.remove();
    return letter.jobId;
  }

  /** Stops every worker of this queue (in every process) from taking new jobs; active ones finish. */
  async pause(): Promise<void> {
    this.#assertOpen();
    await this.#bull().main.pause();
  }

  /** Lets workers take jobs again after {@link TaskQueueWrapper.pause}. */
  async resume(): Promise<void> {
    this.#assertOpen();
    await this.#bull().main.resume();
  }

  /** Removes finished jobs older than `olderThanMs` and returns how many were removed. */
  async clean(options: CleanOptions): Promise<number> {
    this.#assertOpen();
    if (options?.status !== 'completed' && options?.status !== 'failed') {
      throw new TaskQueueError('INVALID_OPTION', "invalid status: expected 'completed' or 'failed'");
    }
    const olderThanMs = integerIn('olderThanMs', options.olderThanMs, { min: 0, max: 2 ** 52 });
    const limit = integerIn('limit', options.limit ?? 1_000, { min: 1, max: 1_000_000 });
    const removed = await this.#bull().main.clean(olderThanMs, limit, options.status);
    return removed.length;
  }

  /**
   * Calls `handler` for each job event (completed, failed, progress, stalled) caused by any
   * process, from BullMQ's event stream; resolves once every later event will be seen. Events are
   * read from a capped stream (about 10,000 events), so a subscriber that falls that far behind
   * misses the oldest. Returns the unsubscribe function.
   */
  async subscribe(handler: TaskEventHandler): Promise<() => Promise<void>> {
    this.#assertOpen();
    if (typeof handler !== 'function') {
      throw new TaskQueueError('INVALID_HANDLER', `handler must be a function, got ${typeof handler}`, {
        queueName: this.name,
      });
    }
    this.#handlers.add(handler);
    try {
      this.#events ??= this.#startEvents();
      await this.#events;
    } catch (error) {
      this.#handlers.delete(handler);
      this.#events = undefined;
      throw error;
    }
    return async () => {
      this.#handlers.delete(handler);
      if (this.#handlers.size > 0 || this.#events === undefined || this.#closing !== undefined) return;
      const events = this.#events;
      this.#events = undefined;
      await (await events).close();
    };
  }

  /**
   * Stops taking jobs, lets active ones finish for up to `closeTimeoutMs`, then aborts their
   * `signal` and closes anyway (an unfinished job is run again elsewhere once its lock expires).
   * Never hangs, even without Redis. Closes only what this wrapper created. Idempotent.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    assertObject('options', options);
    const timeoutMs =
      options.timeoutMs === undefined
        ? this.#options.closeTimeoutMs
        : integerIn('timeoutMs', options.timeoutMs, { min: 1, max: 2_147_483_647 });
    this.#closing ??= this.#shutdown(timeoutMs);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---------------------------------------------------------------- internals

  #withRetention<T extends JobsOptions>(options: T): T {
    return { ...options, removeOnComplete: this.#options.keepCompleted, removeOnFail: false };
  }

  #bull(): Queues {
    if (this.#queues === undefined) {
      const connection = this.#manager.getConnection();
      const common = { connection, prefix: this.#names.prefix };
      const main = new Queue(this.#names.main, common);
      const deadLetter = new Queue(this.#names.deadLetter, common);
      for (const queue of [main, deadLetter]) queue.on('error', this.#onError);
      this.#queues = { main, deadLetter };
    }
    return this.#queues;
  }

  async #startWorker(handler: JobHandler<TData, TResult>, concurrency: number): Promise<Worker> {
    const { main } = this.#bull();
    const connection = await this.#manager.createConnection('blocking');
    this.#workerConnection = connection;
    const options = this.#options;
    const worker = new Worker(this.#names.main, (job: Job) => this.#run(job, handler), {
      connection,
      prefix: this.#names.prefix,
      concurrency,
      autorun: false,
      lockDuration: options.lockDurationMs,
      lockRenewTime: options.lockRenewMs,
      stalledInterval: options.stalledIntervalMs,
      maxStalledCount: options.maxStalledCount,
      removeOnComplete: options.keepCompleted,
    });
    worker.on('error', this.#onError);
    worker.on('failed', () => this.#sweep());
    worker.run().catch(this.#onError);
    try {
      await Promise.all([worker.waitUntilReady(), main.waitUntilReady()]);
    } catch (error) {
      // Do not leave a half-started worker behind a rejected process().
      await settleWithin(worker.close(true), FORCED_CLOSE_MS);
      await this.#manager.releaseConnection(connection);
      throw error;
    }
    // close() may have started meanwhile: it would never see a timer started now.
    if (this.#closing !== undefined) return worker;
    this.#sweepTimer = setInterval(() => this.#sweep(), options.stalledIntervalMs);
    this.#sweepTimer.unref();
    this.#sweep();
    return worker;
  }

  async #run(job: Job, handler: JobHandler<TData, TResult>): Promise<TResult> {
    const run = new JobRun(job, this.name);
    this.#active.add(run);
    try {
      let data = job.data as TData;
      if (this.#options.schema !== undefined) {
        try {
          data = (await validateData(this.#options.schema, job.data, this.name)) as TData;
        } catch (error) {
          // Invalid data will not become valid by retrying: straight to the dead-letter queue.
          throw new UnrecoverableError((error as Error).message);
        }
      }
      const result = await handler(data, run);
      const problem = result === undefined ? undefined : jsonProblem(result, 'result');
      if (problem !== undefined) throw new Error(`the handler's result cannot be stored as JSON: ${problem}`);
      return result;
    } finally {
      this.#active.delete(run);
    }
  }

  /** Moves jobs that failed for good to the dead-letter queue; runs one sweep at a time. */
  #sweep(): void {
    if (this.#sweeping !== undefined) {
      this.#sweepAgain = true;
      return;
    }
    this.#sweeping = (async () => {
      do {
        this.#sweepAgain = false;
        await this.#moveFailedJobs();
      } while (this.#sweepAgain && this.#closing === undefined);
    })()
      .catch(this.#onError)
      .finally(() => {
        this.#sweeping = undefined;
      });
  }

  async #moveFailedJobs(): Promise<void> {
    const { main, deadLetter } = this.#bull();
    const redis = this.#manager.getConnection();
    for (;;) {
      // Oldest first, so the dead-letter queue keeps the order in which jobs failed.
      const jobs = (await main.getJobs(['failed'], 0, SWEEP_BATCH - 1, true)).filter(Boolean);
      let moved = 0;
      for (const job of jobs) {
        const jobId = String(job.id);
        const failedAt = job.finishedOn ?? job.timestamp;
        // One mover per failure, whichever wrapper sweeps: the claim outlives any sweep, and a
        // mover that crashed leaves it to expire, so another one finishes the move.
        const claim = deadLetterClaimKey(this.#names, jobId, failedAt);
        if ((await redis.set(claim, '1', 'PX', DEAD_LETTER_CLAIM_MS, 'NX')) === null) continue;
        // A dead letter from an earlier failure of a job with the same id stays; this one gets its own id.
        const earlier = await deadLetter.getJob(jobId);
        const sameFailure = earlier === undefined || (earlier.data as StoredDeadLetter).failedAt === failedAt;
        const letter = toStoredDeadLetter(job, sameFailure ? jobId : `${jobId}~${failedAt}`);
        // Add first, then remove: a crash in between leaves a copy in both, never in neither.
        await deadLetter.add(DEAD_LETTER_JOB_NAME, letter, { jobId: letter.deadLetterId, removeOnComplete: true });
        await job.remove();
        moved += 1;
        if (this.listenerCount('dead-letter') > 0) this.#emitSafely(toPublicDeadLetter<TData>(letter));
      }
      // A full batch claimed by other wrappers would be read again forever: stop when nothing moved.
      if (jobs.length < SWEEP_BATCH || moved === 0) return;
    }
  }

  async #startEvents(): Promise<QueueEvents> {
    const { main } = this.#bull();
    const redis = this.#manager.getConnection();
    // Start right after the newest event now in the stream: nothing after subscribe() resolves is missed.
    const newest = (await redis.xrevrange(main.keys['events']!, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const events = new QueueEvents(this.#names.main, {
      connection: redis,
      prefix: this.#names.prefix,
      lastEventId: newest,
      autorun: false,
    });
    events.on('error', this.#onError);
    events.on('completed', ({ jobId, returnvalue }) =>
      this.#dispatch({ type: 'completed', jobId, result: returnvalue }),
    );
    events.on('failed', ({ jobId, failedReason }) => this.#dispatch({ type: 'failed', jobId, error: failedReason }));
    events.on('progress', ({ jobId, data }) => this.#dispatch({ type: 'progress', jobId, progress: data }));
    events.on('stalled', ({ jobId }) => this.#dispatch({ type: 'stalled', jobId }));
    events.run().catch(this.#onError);
    try {
      await events.waitUntilReady();
    } catch (error) {
      // Do not leave a reader running behind a rejected subscribe().
      await settleWithin(events.close(), FORCED_CLOSE_MS);
      throw error;
    }
    return events;
  }

  #dispatch(event: TaskEvent): void {
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch(this.#onError);
      } catch (error) {
        this.#emitError(error);
      }
    }
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    clearInterval(this.#sweepTimer);
    const graceful = await settleWithin(this.#closeGracefully(), timeoutMs);
    if (graceful.ok) return;
    const reason = new TaskQueueError('QUEUE_CLOSED', `task queue '${this.name}' closed before the job finished`, {
      queueName: this.name,
    });
    for (const run of this.#active) run.abort(reason);
    await settleWithin(this.#closeForcefully(), FORCED_CLOSE_MS);
  }

  /** BullMQ's graceful close (no new jobs, wait for the active ones), then everything else this wrapper opened. */
  async #closeGracefully(): Promise<void> {
    const worker = await this.#starting?.catch(ignore);
    clearInterval(this.#sweepTimer);
    await worker?.close();
    await this.#sweeping;
    const events = await this.#events?.catch(ignore);
    this.#handlers.clear();
    await events?.close();
    await this.#queues?.main.close();
    await this.#queues?.deadLetter.close();
    if (this.#workerConnection !== undefined) await this.#manager.releaseConnection(this.#workerConnection);
  }

  /** Drops every connection at once: for when the graceful close ran out of time (Redis unreachable, a job that will not end). */
  async #closeForcefully(): Promise<void> {
    this.#handlers.clear();
    const worker = await settleWithin(this.#starting ?? Promise.resolve(undefined), 1);
    const events = await settleWithin(this.#events ?? Promise.resolve(undefined), 1);
    await Promise.allSettled([
      worker.ok ? worker.value?.disconnect() : undefined,
      events.ok ? events.value?.disconnect() : undefined,
      // The queues share the manager's command connection: only let go of them, never disconnect it.
      this.#queues?.main.close(),
      this.#queues?.deadLetter.close(),
      this.#workerConnection === undefined ? undefined : this.#manager.releaseConnection(this.#workerConnection),
    ]);
  }

  #emitSafely(deadLetter: DeadLetter<TData>): void {
    emitSafely(this, 'dead-letter', deadLetter);
  }

  #emitError(error: unknown): void {
    emitSafely(this, 'error', toError(error));
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) {
      throw new TaskQueueError('QUEUE_CLOSED', `task queue '${this.name}' was closed`, { queueName: this.name });
    }
  }
}

function assertObject(name: string, value: unknown): asserts value is object {
  if (typeof value !== 'object' || value === null) {
    throw new TaskQueueError(
      'INVALID_OPTION',
      `${name} must be an object, got ${value === null ? 'null' : typeof value}`,
    );
  }
}

function toStoredDeadLetter(job: Job, deadLetterId: string): StoredDeadLetter & { deadLetterId: string } {
  const stack = job.stacktrace?.at(-1);
  return {
    jobId: String(job.id),
    deadLetterId,
    data: job.data as unknown,
    error: { message: job.failedReason, ...(stack ? { stack } : {}) },
    attemptsMade: job.attemptsMade,
    ...(job.priority > 0 ? { priority: job.priority } : {}),
    failedAt: job.finishedOn ?? Date.now(),
    options: {
      ...(job.opts.attempts === undefined ? {} : { attempts: job.opts.attempts }),
      ...(job.opts.backoff === undefined ? {} : { backoff: job.opts.backoff }),
    },
  };
}

function toPublicDeadLetter<TData>(stored: StoredDeadLetter): DeadLetter<TData> {
  return {
    jobId: stored.jobId,
    // Letters stored before deadLetterId existed were always stored under the job's id.
    deadLetterId: stored.deadLetterId ?? stored.jobId,
    data: stored.data as TData,
    error: { message: stored.error.message, stack: stored.error.stack },
    attemptsMade: stored.attemptsMade,
    priority: stored.priority,
    failedAt: stored.failedAt,
  };
}
