import type { ResolvedConfig } from '../options.js';

/**
 * Delay before reconnect `attempt` (1-based): `initialDelayMs * factor^(attempt-1)`, capped at
 * `maxDelayMs`, of which a `jitter` share is random. `random` is injectable for tests.
 */
export function backoffDelay(
  attempt: number,
  options: ResolvedConfig['reconnect'],
  random: () => number = Math.random,
): number {
  const exponential = options.initialDelayMs * options.factor ** Math.max(0, attempt - 1);
  const capped = Math.min(options.maxDelayMs, exponential);
  return Math.round(capped * (1 - options.jitter * random()));
}
