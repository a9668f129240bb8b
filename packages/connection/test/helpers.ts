import { deleteNamespace, uniqueNamespace } from '@shim/testing';
import { clientNames as namesOn, onCleanup, sharedRedisUrl } from '@shim/testing/scope';
import { RedisConnectionManager, type RedisConfig, type RedisConnectionManagerEvents } from '../src/index.js';

export { privateServer, rejectionOf } from '@shim/testing/scope';

/** The Redis all tests of the run share (each under its own namespace). */
export const sharedUrl = sharedRedisUrl;

/** A manager that is disconnected after the test. */
export function track(manager: RedisConnectionManager): RedisConnectionManager {
  onCleanup(() => manager.disconnect());
  return manager;
}

/**
 * A manager (not connected yet: these tests watch it connect) on the shared Redis or `config.url`,
 * under a fresh namespace unless one is given; after the test its namespace is deleted (when it is
 * still connected) and it is disconnected.
 */
export function createManager(config: RedisConfig = {}): RedisConnectionManager {
  const manager = track(new RedisConnectionManager({ url: sharedUrl(), namespace: uniqueNamespace(), ...config }));
  onCleanup(async () => {
    if (manager.state === 'connected') await deleteNamespace(manager.getConnection(), manager.namespace);
  });
  return manager;
}

type Recorded = { [K in keyof RedisConnectionManagerEvents]: RedisConnectionManagerEvents[K][] };

/** Records every event the manager emits, in order. */
export function recordEvents(manager: RedisConnectionManager): {
  all: Array<[string, unknown[]]>;
  byName: Partial<Recorded>;
} {
  const all: Array<[string, unknown[]]> = [];
  const byName: Partial<Recorded> = {};
  const names = ['connected', 'ready', 'disconnected', 'reconnecting', 'health', 'warning', 'error', 'closed'] as const;
  for (const name of names) {
    manager.on(name, (...args: unknown[]) => {
      all.push([name, args]);
      ((byName[name] ??= []) as unknown[][]).push(args);
    });
  }
  return { all, byName };
}

/** Names of the manager's server's connections in CLIENT LIST that start with `prefix`. */
export function clientNames(manager: RedisConnectionManager, prefix: string): Promise<string[]> {
  return namesOn(manager.getConnection(), prefix);
}
