import type { DeadLetterListOptions, DeadLetterRecord, DeadLetterStore } from '@shim/connection';
import { describeType } from '@shim/connection/kit';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { TaskQueueError } from './errors.js';
import { assertJobId } from './internal/job-input.js';
import type { DeadLetter, QueueContext } from './types.js';

/** BullMQ's codes for "no such job" and "not in the failed set" (retried or purged meanwhile). */
const GONE: ReadonlySet<unknown> = new Set([-1, -3]);

/** The public {@link DeadLetter} of a failed job. */
export function toDeadLetter<TData>(job: Job): DeadLetter<TData> {
  const jobId = String(job.id);
  return {
    jobId,
    deadLetterId: jobId,
    data: job.data as TData,
    error: { message: job.failedReason, stack: job.stacktrace?.at(-1) ?? undefined },
    attemptsMade: job.attemptsMade,
    priority: job.priority > 0 ? job.priority : undefined,
    failedAt: job.finishedOn ?? job.timestamp,
  };
}

/**
 * The dead letters of one task queue, where BullMQ keeps them: the jobs in its failed set (what
 * every BullMQ tool shows as failed). No copy and no sweep, so a job is never in two places or
 * none: a dead letter from the moment it fails for good until it is retried (BullMQ moves it back
 * to waiting in one script) or purged. Reads that may miss look at the failed set first, so a
 * refused call never creates the BullMQ queue (nor its `meta` hash).
 */
export class QueueDeadLetters<TData> implements DeadLetterStore<TData> {
  readonly #ctx: QueueContext;
  readonly #failedKey: string;

  constructor(ctx: QueueContext) {
    this.#ctx = ctx;
    this.#failedKey = `${ctx.names.prefix}:${ctx.names.main}:failed`;
  }

  /** Dead letters, oldest first. */
  async list(options: DeadLetterListOptions = {}): Promise<Array<DeadLetterRecord<TData>>> {
    return (await this.jobs(options)).map((job) => this.#record(job));
  }

  /** The failed jobs behind {@link QueueDeadLetters.list}, oldest first (the failed set is scored by failure time). */
  async jobs(range: DeadLetterListOptions = {}): Promise<Job[]> {
    const { v } = this.#ctx;
    this.#ctx.assertOpen();
    v.object(range, 'range', 'INVALID_OPTION');
    const rules = { code: 'INVALID_OPTION', max: 10_000, unit: 'dead letters' } as const;
    const start = v.integer(range.start ?? 0, { ...rules, field: 'start', min: 0, max: 2 ** 52 });
    const count = v.integer(range.count ?? 100, { ...rules, field: 'count' });
    return (await this.#ctx.queue().getJobs(['failed'], start, start + count - 1, true)).filter(Boolean);
  }

  /** One dead letter, by its job's id, or undefined. */
  async get(id: string): Promise<DeadLetterRecord<TData> | undefined> {
    const job = await this.#find(id);
    return job && this.#record(job);
  }

  /** Moves a dead letter back to waiting under its id, with its priority and fresh attempts; returns that id. */
  async retry(id: string): Promise<string> {
    const job = await this.#find(id);
    if (job !== undefined) {
      try {
        // BullMQ's own retry: out of the failed set and back to waiting in one script, attempts counted from 1 again.
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        return id;
      } catch (error) {
        if (!GONE.has((error as { code?: unknown }).code)) throw error;
      }
    }
    const { name } = this.#ctx;
    throw new TaskQueueError('NOT_FOUND', `no job '${id}' among the dead letters of '${name}'`, {
      queueName: name,
      jobId: id,
    });
  }

  /** Deletes the given dead letters (ids that are none are skipped), or all of them; resolves with how many. */
  async purge(ids?: readonly string[]): Promise<number> {
    this.#ctx.assertOpen();
    if (ids !== undefined) {
      if (!Array.isArray(ids))
        this.#ctx.v.fail('INVALID_OPTION', 'ids', `ids must be an array, got ${describeType(ids)}`);
      return this.#purge(ids.map((id) => assertJobId(id, this.#ctx.v)));
    }
    let purged = 0;
    for (;;) {
      const batch = await this.#redis().zrange(this.#failedKey, 0, '99');
      if (batch.length === 0) return purged;
      purged += await this.#purge(batch);
    }
  }

  /** How many dead letters there are. */
  async count(): Promise<number> {
    this.#ctx.assertOpen();
    return this.#redis().zcard(this.#failedKey);
  }

  /** Throws `JOB_EXISTS` when one of `ids` is a dead letter: BullMQ would keep it and drop a new job under its id without a word. */
  async refuseIds(ids: readonly string[]): Promise<void> {
    const scores = await Promise.all(ids.map((id) => this.#redis().zscore(this.#failedKey, id)));
    const jobId = ids[scores.findIndex((score) => score !== null)];
    if (jobId === undefined) return;
    const { name } = this.#ctx;
    const message = `job '${jobId}' is a dead letter of '${name}': retry it (retryDeadLetter) or purge it (dead.purge) before adding a job under its id`;
    throw new TaskQueueError('JOB_EXISTS', message, { queueName: name, jobId });
  }

  async #purge(ids: readonly string[]): Promise<number> {
    const removed = await Promise.all(
      ids.map(async (id) => {
        // Out of the failed set first: from then on it is no dead letter, so a retry() racing
        // this finds nothing (NOT_FOUND) instead of reviving a job being deleted.
        if ((await this.#redis().zrem(this.#failedKey, id)) === 0) return 0;
        await this.#ctx.queue().remove(id);
        return 1;
      }),
    );
    return removed.reduce((sum: number, one) => sum + one, 0);
  }

  async #find(id: string): Promise<Job | undefined> {
    this.#ctx.assertOpen();
    const jobId = assertJobId(id, this.#ctx.v);
    if ((await this.#redis().zscore(this.#failedKey, jobId)) === null) return undefined;
    return (await this.#ctx.queue().getJob(jobId)) ?? undefined;
  }

  #redis(): Redis {
    return this.#ctx.manager.getConnection();
  }

  #record(job: Job): DeadLetterRecord<TData> {
    const { failedReason: reason, attemptsMade: attempts } = job;
    const failedAt = job.finishedOn ?? job.timestamp;
    return {
      id: String(job.id),
      source: `queue:${this.#ctx.name}`,
      reason,
      attempts,
      failedAt,
      payload: job.data as TData,
    };
  }
}
