import { afterEach, inject } from 'vitest';
import { deleteNamespace, RedisServer, uniqueNamespace, type RedisServerOptions } from '@shim/testing';
import { RedisConnectionManager, type RedisConfig, type RedisConnectionManagerEvents } from '../src/index.js';

const managers = new Set<RedisConnectionManager>();
const cleanups: Array<() => Promise<unknown>> = [];
const servers = new Set<RedisServer>();

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => undefined);
  await Promise.all([...managers].map((manager) => manager.disconnect()));
  managers.clear();
  await Promise.all([...servers].map((server) => server.close()));
  servers.clear();
});

/** The Redis all tests of the run share (each under its own namespace). */
export function sharedUrl(): string {
  return inject('redisUrl');
}

/** A manager that is disconnected after the test. */
export function track(manager: RedisConnectionManager): RedisConnectionManager {
  managers.add(manager);
  return manager;
}

/**
 * A manager on the shared Redis (or `config.url`) under a fresh namespace unless one is given; after
 * the test its namespace is deleted (when it is still connected) and it is disconnected.
 */
export function createManager(config: RedisConfig = {}): RedisConnectionManager {
  const manager = new RedisConnectionManager({ url: sharedUrl(), namespace: uniqueNamespace(), ...config });
  cleanups.push(async () => {
    if (manager.state === 'connected') await deleteNamespace(manager.getConnection(), manager.namespace);
  });
  return track(manager);
}

/** A private redis-server the test may hurt, closed after the test. */
export async function privateServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  servers.add(server);
  return server;
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

/** Resolves with the error `promise` rejects with; fails the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error(`rejected with a non-Error: ${String(error)}`);
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** Names of the connections in CLIENT LIST whose name starts with `prefix`. */
export async function clientNames(manager: RedisConnectionManager, prefix: string): Promise<string[]> {
  const list = (await manager.getConnection().client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(prefix));
}
