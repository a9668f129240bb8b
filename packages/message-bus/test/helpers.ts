import { afterEach, inject } from 'vitest';
import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { deleteNamespace, RedisServer, uniqueNamespace, type RedisServerOptions } from '@shim/testing';
import { MessageBusWrapper, type MessageBusOptions } from '../src/index.js';

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

/** A bus on `manager` (or a new one), closed after the test. */
export async function createBus(
  options: MessageBusOptions = {},
  manager?: RedisConnectionManager,
): Promise<MessageBusWrapper> {
  const bus = new MessageBusWrapper(manager ?? (await createManager()), options);
  cleanups.push(() => bus.close());
  return bus;
}

/** A private redis-server the test may hurt, closed after the test. */
export async function privateServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  cleanups.push(() => server.close());
  return server;
}

/** Subscribers on a Redis channel right now (PUBSUB NUMSUB). */
export async function numsub(manager: RedisConnectionManager, redisChannel: string): Promise<number> {
  const reply = (await manager.getConnection().call('PUBSUB', 'NUMSUB', redisChannel)) as [string, number];
  return Number(reply[1]);
}

/** Pattern subscriptions on the server right now (PUBSUB NUMPAT). */
export async function numpat(manager: RedisConnectionManager): Promise<number> {
  return Number(await manager.getConnection().call('PUBSUB', 'NUMPAT'));
}

export { collect } from '@shim/testing';
