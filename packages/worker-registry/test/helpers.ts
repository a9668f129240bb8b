import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { waitFor } from '@shim/testing';
import { closeAfter, managedManager, tsxProcess, type TestProcess } from '@shim/testing/scope';
import { WorkerRegistry, type WorkerRegistryOptions } from '../src/index.js';

/** A manager on the shared Redis under a fresh namespace (or `config.namespace`), connected unless `connect: false`; cleaned up after the test. */
export function createManager(
  config: RedisConfig = {},
  options: { connect?: boolean } = {},
): Promise<RedisConnectionManager> {
  return managedManager((base) => new RedisConnectionManager({ ...base, ...config }), options);
}

/** A registry on `manager` (or a new one), closed after the test. */
export async function createRegistry(
  options: WorkerRegistryOptions = {},
  manager?: RedisConnectionManager,
): Promise<WorkerRegistry> {
  return closeAfter(new WorkerRegistry(manager ?? (await createManager()), options));
}

/**
 * test/fixtures/<fixture>.ts in a child process (tsx), given `args` as JSON; killed after the test.
 * `worker-process` registers, heartbeats automatically and prints one line per thing that happens.
 */
export function fixture(name: 'worker-process' | 'exit-check', args: Record<string, unknown>): TestProcess {
  return tsxProcess(new URL(`./fixtures/${name}.ts`, import.meta.url), args);
}

/**
 * Resolves once `id`'s heartbeat time (Redis' clock) has moved on `count` times, as `registry`
 * sees it: a clock made of heartbeats, for tests that must let an interval pass.
 */
export async function heartbeats(registry: WorkerRegistry, id: string, count: number): Promise<void> {
  let last = (await registry.get(id))?.lastHeartbeat ?? 0;
  let seen = 0;
  await waitFor(
    async () => {
      const now = (await registry.get(id))?.lastHeartbeat ?? 0;
      if (now > last) [seen, last] = [seen + 1, now];
      return seen >= count;
    },
    { description: `${count} heartbeats of ${id}`, intervalMs: 10 },
  );
}
