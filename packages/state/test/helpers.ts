import { afterEach, inject } from 'vitest';
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { deleteNamespace, RedisServer, uniqueNamespace, type RedisServerOptions } from '@shim/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StateManager, type StateManagerOptions } from '../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Last created, first closed: state managers before their managers, managers before their servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `fn` after the test, with the other cleanups (in reverse order of registration). */
export function onCleanup(fn: () => Promise<unknown>): void {
  cleanups.push(fn);
}

/** A connected manager on the shared Redis under a fresh namespace; its keys are deleted after the test. */
export async function createManager(config: RedisConfig = {}): Promise<RedisConnectionManager> {
  const namespace = config.namespace ?? uniqueNamespace();
  const manager = new RedisConnectionManager({ url: inject('redisUrl'), ...config, namespace });
  cleanups.push(async () => {
    if (manager.state === 'connected') await deleteNamespace(manager.getConnection(), namespace);
    await manager.disconnect();
  });
  await manager.connect();
  return manager;
}

/** A state manager on `manager` (or a new one), closed after the test. */
export async function createState(
  options: StateManagerOptions = {},
  manager?: RedisConnectionManager,
): Promise<StateManager> {
  const state = new StateManager(manager ?? (await createManager()), options);
  cleanups.push(() => state.close());
  return state;
}

/** `count` state managers on separate connections (one manager each) sharing `namespace`. */
export async function createClients(
  count: number,
  namespace: string,
  options: StateManagerOptions = {},
): Promise<StateManager[]> {
  return Promise.all(
    Array.from({ length: count }, async () => createState(options, await createManager({ namespace }))),
  );
}

/** Redis' clock. Unit: ms since epoch. */
export async function redisNow(manager: RedisConnectionManager): Promise<number> {
  const [seconds, micros] = await manager.getConnection().time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

/**
 * A child process running test/fixtures/<fixture>.ts with tsx, given `args` as JSON; its output
 * lines are collected. Killed after the test.
 */
export function childProcess(
  fixture: string,
  args: Record<string, unknown>,
): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}.ts`, import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@shim/source', script, JSON.stringify(args)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
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

/** A private redis-server the test may hurt, closed after the test. */
export async function privateServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  cleanups.push(() => server.close());
  return server;
}
