import type { EventEmitter } from 'node:events';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Give up after this long. Unit: ms. @defaultValue 10_000 */
  timeoutMs?: number;
  /** Time between polls. Unit: ms. @defaultValue 25 */
  intervalMs?: number;
  /** Named in the timeout error. */
  description?: string;
}

/**
 * Polls `check` until it returns a truthy value (returned) or the deadline passes (throws).
 * Tests wait on conditions with a deadline instead of sleeping and hoping.
 */
export async function waitFor<T>(check: () => T | Promise<T>, options: WaitForOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 10_000, intervalMs = 25, description = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`, {
        cause: lastError,
      });
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Resolves with the arguments of the next `event` on `emitter` for which `filter` holds,
 * or rejects after `timeoutMs`.
 */
export async function waitForEvent<TArgs extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  options: { timeoutMs?: number; filter?: (...args: TArgs) => boolean } = {},
): Promise<TArgs> {
  const { timeoutMs = 10_000, filter } = options;
  return new Promise((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      if (filter && !filter(...(args as TArgs))) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args as TArgs);
    };
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${event}'`));
    }, timeoutMs);
    emitter.on(event, listener);
  });
}

/** What {@link collect} returns: feed values with `push`; `done` resolves with `values` once `count` of them arrived. */
export interface Collector<T> {
  push: (value: T) => void;
  done: Promise<T[]>;
  /** Everything pushed so far. */
  values: T[];
}

/**
 * Gathers values pushed from handlers and resolves `done` once `count` arrived, or rejects after
 * `timeoutMs` saying how many did. Tests wait on this instead of sleeping.
 */
export function collect<T>(count: number, timeoutMs = 10_000): Collector<T> {
  const values: T[] = [];
  let resolve!: (values: T[]) => void;
  let reject!: (error: Error) => void;
  const done = new Promise<T[]>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  const timer = setTimeout(
    () => reject(new Error(`collected ${values.length} of ${count} within ${timeoutMs} ms`)),
    timeoutMs,
  );
  return {
    values,
    done,
    push: (value) => {
      values.push(value);
      if (values.length === count) {
        clearTimeout(timer);
        resolve(values);
      }
    },
  };
}
