// What both state benches share: the workload's value, and helpers for medians, figures and
// replaying a StateManager call's script without the wrapper.

/** About 200 bytes of JSON, like a shared plan entry. */
export const payload = (index) => ({
  task: `task-${index % 1000}`,
  owner: 'worker-7',
  step: index,
  status: 'running',
  note: 'refactoring src/components/Button.tsx; tests next',
  files: ['src/components/Button.tsx', 'src/components/Button.test.tsx'],
});

export const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

export const fmt = (n, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/**
 * Captures the EVALSHA arguments that a StateManager call sends on `manager`'s command
 * connection, so a bench can replay the same script with raw ioredis and no wrapper. It takes the
 * first EVALSHA sent on that connection by anyone: run it with no other StateManager activity
 * (the benches turn the cleanup timer off with `cleanupIntervalMs: 0`).
 */
export async function captureEvalsha(manager, call) {
  const connection = manager.getConnection();
  const original = connection.evalsha;
  let captured;
  connection.evalsha = function (...args) {
    captured ??= args;
    return original.apply(this, args);
  };
  try {
    await call();
  } finally {
    delete connection.evalsha;
  }
  return captured;
}
