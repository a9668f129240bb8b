import { afterEach, inject } from 'vitest';
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { deleteNamespace, RedisServer, uniqueNamespace, type RedisServerOptions } from '@shim/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WorkerRegistry, type WorkerRegistryOptions } from '../src/index.js';

const cleanups: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  // Last created, first closed: buses before their managers, managers before their servers.
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

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

/** A registry on `manager` (or a new one), closed after the test. */
export async function createRegistry(
  options: WorkerRegistryOptions = {},
  manager?: RedisConnectionManager,
): Promise<WorkerRegistry> {
  const registry = new WorkerRegistry(manager ?? (await createManager()), options);
  cleanups.push(() => registry.close());
  return registry;
}

/**
 * A worker in a child process (test/fixtures/worker-process.ts run by tsx): it registers, heartbeats
 * automatically and prints one line per event. Killed after the test.
 */
export function workerProcess(args: {
  url: string;
  namespace: string;
  id: string;
  ttlMs: number;
  intervalMs: number;
  blockMs?: number;
}): {
  child: ChildProcess;
  lines: string[];
} {
  const script = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@shim/source', script, JSON.stringify(args)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const lines: string[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    lines.push(...parts);
  });
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    }
  });
  return { child, lines };
}

/** A private redis-server the test may hurt, closed after the test. */
export async function privateServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  cleanups.push(() => server.close());
  return server;
}
