import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { subscriptionHub } from '@shim/connection/kit';
import { collect, uniqueNamespace } from '@shim/testing';
import { clientNames, closeAfter, managedManager, numsub, onCleanup, privateServer } from '@shim/testing/scope';
import { registryKeys, WorkerRegistry, type RegistryEvent } from '../src/index.js';

describe('events through the subscription hub', () => {
  it("opens no subscriber connection of its own: the registry shares the manager's one with the other packages", async () => {
    const connectionName = `wr-${randomUUID().slice(0, 8)}`;
    const manager = await managedManager((base) => new RedisConnectionManager({ ...base, connectionName }));
    const first = closeAfter(new WorkerRegistry(manager));
    const second = closeAfter(new WorkerRegistry(manager));
    const { events } = registryKeys(manager.namespace);
    const hub = subscriptionHub(manager);
    // What the bus or state would do on the same manager.
    const offOther = await hub.subscribe(`${manager.namespace}:other`, () => {});
    const heard = collect<RegistryEvent>(2);
    const offFirst = await first.subscribe((event) => heard.push(event));
    const offSecond = await second.subscribe((event) => heard.push(event));
    await first.registerWorker('w1');
    expect((await heard.done).map(({ type, worker }) => `${type}:${worker.id}`)).toEqual(['joined:w1', 'joined:w1']);

    const redis = manager.getConnection();
    expect(manager.listConnections().filter(({ role }) => role === 'subscriber')).toHaveLength(1);
    expect(await clientNames(redis, `${connectionName}:`)).toEqual(
      expect.arrayContaining([`${connectionName}:command`, expect.stringContaining('subscriber')]),
    );
    expect(await clientNames(redis, `${connectionName}:`)).toHaveLength(2);
    // Two registries, one SUBSCRIBE.
    expect(await numsub(redis, events)).toBe(1);
    expect(hub.subscriptions.channels.filter((channel) => channel === events)).toHaveLength(1);

    await offFirst();
    await offFirst();
    expect(await numsub(redis, events)).toBe(1);
    await offSecond();
    expect(await numsub(redis, events)).toBe(0);
    // The hub keeps the connection for the other package's channel.
    expect(hub.connection).toBeDefined();
    await offOther();
    expect(hub.connection).toBeUndefined();
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
  });

  it('receives events again after a Redis restart, on the same single subscriber connection', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({
      url: server.url,
      namespace: uniqueNamespace(),
      reconnect: { initialDelayMs: 50, maxDelayMs: 100 },
    });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const registry = closeAfter(new WorkerRegistry(manager, { heartbeatTtlMs: 5_000 }));
    const before = collect<RegistryEvent>(1);
    const after = collect<RegistryEvent>(1);
    await registry.subscribe((event) => (event.worker.id === 'before' ? before : after).push(event));
    await registry.registerWorker('before');
    await before.done;
    const hub = subscriptionHub(manager);
    const subscriber = hub.connection;
    const resubscribed = new Promise<void>((resolve) => {
      const off = hub.onResubscribed(() => {
        off();
        resolve();
      });
    });
    await server.kill();
    await server.start();
    await resubscribed;
    await registry.registerWorker('after');
    expect((await after.done).map(({ type, worker }) => `${type}:${worker.id}`)).toEqual(['joined:after']);
    expect(hub.connection).toBe(subscriber);
    expect(manager.listConnections().filter(({ role }) => role === 'subscriber')).toHaveLength(1);
  });
});
