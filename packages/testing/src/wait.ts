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
