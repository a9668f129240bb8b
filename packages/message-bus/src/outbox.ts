import type { Redis } from 'ioredis';

type OutboxEntry = {
  redisChannel: string;
  raw: string;
  resolve: (receivers: number) => void;
  reject: (error: Error) => void;
};

/**
 * The same-tick outbox: the first PUBLISH of a tick goes out at once (no added latency); the ones
 * after it in the same tick are sent together as one pipeline at the end of the tick (one socket
 * write instead of one per message). Order is kept; each caller still gets its own reply or error.
 */
export class Outbox {
  readonly #connection: () => Redis;
  #entries: OutboxEntry[] = [];
  #batching = false;

  constructor(connection: () => Redis) {
    this.#connection = connection;
  }

  publish(redisChannel: string, raw: string): Promise<number> {
    if (!this.#batching) {
      this.#batching = true;
      queueMicrotask(this.#flush);
      return this.#connection().publish(redisChannel, raw);
    }
    return new Promise<number>((resolve, reject) => {
      this.#entries.push({ redisChannel, raw, resolve, reject });
    });
  }

  readonly #flush = (): void => {
    this.#batching = false;
    const batch = this.#entries;
    if (batch.length === 0) return;
    this.#entries = [];
    const rejectAll = (error: unknown): void => {
      for (const entry of batch) entry.reject(error as Error);
    };
    let pipeline: ReturnType<Redis['pipeline']>;
    try {
      pipeline = this.#connection().pipeline();
    } catch (error) {
      // The manager was disconnected within this tick.
      rejectAll(error);
      return;
    }
    for (const entry of batch) pipeline.publish(entry.redisChannel, entry.raw);
    pipeline.exec().then((results) => {
      batch.forEach((entry, index) => {
        // exec() resolves with one [error, reply] per queued command.
        const [error, receivers] = results![index]!;
        if (error === null) entry.resolve(receivers as number);
        else entry.reject(error);
      });
    }, rejectAll);
  };
}
