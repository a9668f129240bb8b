import { RedisConnectionManager, type RedisConfig } from '@shim/connection';
import { waitFor } from '@shim/testing';
import { closeAfter, managedManager } from '@shim/testing/scope';
import { MessageBusWrapper, type MessageBusOptions } from '../src/index.js';

/** A connected manager on the shared Redis under a fresh namespace (or `config`'s); its keys are deleted after the test. */
export function createManager(
  config: RedisConfig = {},
  options: { connect?: boolean } = {},
): Promise<RedisConnectionManager> {
  return managedManager((base) => new RedisConnectionManager({ ...base, ...config }), options);
}

/** A bus on `manager` (or a new one), closed after the test. */
export async function createBus(
  options: MessageBusOptions = {},
  manager?: RedisConnectionManager,
): Promise<MessageBusWrapper> {
  return closeAfter(new MessageBusWrapper(manager ?? (await createManager()), options));
}

/** The Redis channel of the bus channel `channel` on `manager`. */
export function redisChannel(manager: RedisConnectionManager, channel: string): string {
  return `${manager.namespace}:bus:ch:${channel}`;
}

/**
 * Waits until the inbox of `recipient` holds nothing: every message acknowledged (and deleted) and
 * none pending. From then on nothing can be delivered again, however long one waits.
 */
export async function inboxDrained(manager: RedisConnectionManager, recipient: string): Promise<void> {
  const stream = `${manager.namespace}:bus:inbox:{${recipient}}`;
  const redis = manager.getConnection();
  await waitFor(
    async () => {
      const [length, [pending]] = await Promise.all([redis.xlen(stream), redis.xpending(stream, 'shim-inbox')]);
      return length === 0 && pending === 0;
    },
    { description: `inbox ${recipient} drained` },
  );
}
