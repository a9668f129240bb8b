import { QueueEvents } from 'bullmq';
import type { TaskEvent, TaskEventHandler } from '../events.js';
import type { QueueContext } from '../types.js';
import { FORCED_CLOSE_MS, ignore, settleWithin } from './settle-within.js';

/**
 * The job events of one task queue, read from BullMQ's event stream by one `QueueEvents` while at
 * least one handler is subscribed, and handed to each of them.
 */
export class EventFeed {
  readonly #ctx: QueueContext;
  readonly #handlers = new Set<TaskEventHandler>();
  #reader: Promise<QueueEvents> | undefined;
  #closed = false;

  constructor(ctx: QueueContext) {
    this.#ctx = ctx;
  }

  /** Adds `handler`; resolves once every later event will reach it, with the unsubscribe function. */
  async subscribe(handler: TaskEventHandler): Promise<() => Promise<void>> {
    this.#handlers.add(handler);
    try {
      await (this.#reader ??= this.#start());
    } catch (error) {
      this.#handlers.delete(handler);
      this.#reader = undefined;
      throw error;
    }
    return async () => {
      this.#handlers.delete(handler);
      const reader = this.#reader;
      if (this.#handlers.size > 0 || reader === undefined || this.#closed) return;
      this.#reader = undefined;
      await (await reader).close();
    };
  }

  /** Stops reading, gracefully or (`force`) by dropping the reader's connection at once. */
  async close(force = false): Promise<void> {
    this.#closed = true;
    this.#handlers.clear();
    if (!force) return (await this.#reader?.catch(ignore))?.close();
    const reader = await settleWithin(this.#reader ?? Promise.resolve(undefined), 1);
    if (reader.ok) await reader.value?.disconnect();
  }

  async #start(): Promise<QueueEvents> {
    const { names, onError } = this.#ctx;
    const redis = this.#ctx.manager.getConnection();
    // Start right after the newest event now in the stream: nothing after subscribe() resolves is missed.
    const stream = this.#ctx.queue().keys['events']!;
    const lastEventId = (await redis.xrevrange(stream, '+', '-', 'COUNT', 1))[0]?.[0] ?? '0-0';
    const reader = new QueueEvents(names.main, {
      connection: redis,
      prefix: names.prefix,
      lastEventId,
      autorun: false,
    });
    reader.on('error', onError);
    reader.on('completed', ({ jobId, returnvalue }) =>
      this.#dispatch({ type: 'completed', jobId, result: returnvalue }),
    );
    reader.on('failed', ({ jobId, failedReason }) => this.#dispatch({ type: 'failed', jobId, error: failedReason }));
    reader.on('progress', ({ jobId, data }) => this.#dispatch({ type: 'progress', jobId, progress: data }));
    reader.on('stalled', ({ jobId }) => this.#dispatch({ type: 'stalled', jobId }));
    reader.run().catch(onError);
    try {
      await reader.waitUntilReady();
    } catch (error) {
      // Do not leave a reader running behind a rejected subscribe().
      await settleWithin(reader.close(), FORCED_CLOSE_MS);
      throw error;
    }
    return reader;
  }

  #dispatch(event: TaskEvent): void {
    for (const handler of this.#handlers) {
      try {
        const result = handler(event);
        if (result instanceof Promise) result.catch(this.#ctx.onError);
      } catch (error) {
        this.#ctx.onError(error);
      }
    }
  }
}
