/**
 * `@shim/testing/scope`: what every SHIM test file needs around its tests — one cleanup stack run
 * after each test (last registered, first run), a connected manager under a fresh namespace whose
 * keys are deleted afterwards, private servers and child processes that are killed afterwards.
 * Import it from test files only: it registers an `afterEach` hook when loaded. It knows managers
 * by shape, so it depends on none of the packages it serves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Redis } from 'ioredis';
import { afterEach, inject } from 'vitest';
import { deleteNamespace, uniqueNamespace } from './namespace.js';
import { RedisServer, type RedisServerOptions } from './redis-server.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Last created, first closed: packages before their managers, managers before their servers.
  const errors: unknown[] = [];
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, `${errors.length} cleanup(s) failed after the test`);
});

/** Runs `fn` after the test, with the other cleanups (in reverse order of registration). */
export function onCleanup(fn: () => unknown): void {
  cleanups.push(() => Promise.resolve(fn()));
}

/** The Redis every test of the run shares (each under its own namespace). */
export function sharedRedisUrl(): string {
  return inject('redisUrl');
}

/** What the scope needs of a `RedisConnectionManager`. */
export interface ManagerLike {
  readonly namespace: string;
  readonly state: string;
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  getConnection(): Redis;
}

/**
 * A manager made by `make({ url, namespace })` (the shared Redis, a fresh namespace), connected
 * unless `connect: false`. After the test its namespace is deleted (when still connected) and it
 * is disconnected.
 */
export async function managedManager<M extends ManagerLike>(
  make: (base: { url: string; namespace: string }) => M,
  options: { connect?: boolean } = {},
): Promise<M> {
  const manager = make({ url: sharedRedisUrl(), namespace: uniqueNamespace() });
  cleanups.push(async () => {
    try {
      if (manager.state === 'connected') await deleteNamespace(manager.getConnection(), manager.namespace);
    } finally {
      await manager.disconnect();
    }
  });
  if (options.connect !== false) await manager.connect();
  return manager;
}

/** Closes `resource` after the test (before the manager it was made on, if that was made earlier). */
export function closeAfter<T extends { close(): Promise<unknown> }>(resource: T): T {
  cleanups.push(() => resource.close());
  return resource;
}

/** A private redis-server the test may hurt, closed after the test. */
export async function privateServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

/** A child process started by {@link tsxProcess}. */
export interface TestProcess {
  child: ChildProcess;
  /** Its stdout, line by line, as it comes (empty lines left out). */
  lines: string[];
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Runs the TypeScript file `script` (a path or file URL) with tsx and the source condition, given
 * `args` as one JSON argument; collects its stdout lines. SIGKILLed after the test if still running.
 */
export function tsxProcess(script: string | URL, args: unknown): TestProcess {
  const path = script instanceof URL ? decodeURIComponent(script.pathname) : script;
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@shim/source', path, JSON.stringify(args)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts.filter((line) => line.length > 0));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  return { child, lines, exited };
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
export async function clientNames(redis: Redis, prefix: string): Promise<string[]> {
  const list = (await redis.client('LIST')) as string;
  return list
    .split('\n')
    .map((line) => /\bname=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** Subscribers of a Redis channel right now (PUBSUB NUMSUB). */
export async function numsub(redis: Redis, channel: string): Promise<number> {
  const reply = (await redis.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

/** Pattern subscriptions on the server right now (PUBSUB NUMPAT). */
export async function numpat(redis: Redis): Promise<number> {
  return Number(await redis.call('PUBSUB', 'NUMPAT'));
}

/** Redis' clock. Unit: ms since epoch. */
export async function redisNow(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
