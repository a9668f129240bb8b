import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { closeAfter, managedManager, tsxProcess, type TestProcess } from '@shim/testing/scope';
import { StateManager, type StateManagerOptions } from '../src/index.js';

/** A connected manager on the shared Redis under a fresh namespace (or `config.namespace`), cleaned up after the test. */
export function createManager(config: RedisConfig = {}): Promise<RedisConnectionManager> {
  return managedManager((base) => new RedisConnectionManager({ ...base, ...config }));
}

/** A state manager on `manager` (or a new one), closed after the test. */
export async function createState(
  options: StateManagerOptions = {},
  manager?: RedisConnectionManager,
): Promise<StateManager> {
  return closeAfter(new StateManager(manager ?? (await createManager()), options));
}

/** `count` state managers on separate connections (one manager each) sharing `namespace`. */
export function createClients(
  count: number,
  namespace: string,
  options: StateManagerOptions = {},
): Promise<StateManager[]> {
  return Promise.all(
    Array.from({ length: count }, async () => createState(options, await createManager({ namespace }))),
  );
}

/** test/fixtures/<fixture>.ts in a child process (tsx), given `args` as JSON; killed after the test. */
export function fixture(name: 'writer' | 'lock-holder', args: Record<string, unknown>): TestProcess {
  return tsxProcess(new URL(`./fixtures/${name}.ts`, import.meta.url), args);
}
