import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { subscriptionHub } from '@shim/connection/kit';
import { collect, uniqueNamespace, waitFor } from '@shim/testing';
import { clientNames, closeAfter, managedManager, numsub, onCleanup, privateServer } from '@shim/testing/scope';
import { registryKeys, WorkerRegistry, type RegistryEvent } from '../src/index.js';
import { createManager, createRegistry } from './helpers.js';

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

  it('keeps delivering events to a subscribe() that races the last unsubscribe', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    const off = await registry.subscribe(() => {});
    const events: RegistryEvent[] = [];
    // This subscribe() is waiting on the open connection when the last handler goes and releases it.
    const subscribing = registry.subscribe((event) => void events.push(event));
    await off();
    await subscribing;
    await registry.registerWorker('w1');
    await waitFor(() => events.length === 1, { description: 'event after the race' });
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command', 'subscriber']);
  });

  it('subscribes again after a failed first subscribe, and releases the connection with the last handler', async () => {
    const manager = await createManager({}, { connect: false });
    const registry = await createRegistry({}, manager);
    await expect(registry.subscribe(() => {})).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await manager.connect();
    const off = await registry.subscribe(() => {});
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command', 'subscriber']);
    await off();
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
  });
});

describe('handlers and malformed events', () => {
  it('routes a throwing handler and a malformed event to error, once per event, never crashing', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    const errors = collect<Error>(3);
    registry.on('error', errors.push);
    const received: RegistryEvent[] = [];
    const unsubscribeThrowing = await registry.subscribe(() => {
      throw new Error('handler bug');
    });
    await registry.subscribe(async () => Promise.reject(new Error('async handler bug')));
    await registry.subscribe((event) => void received.push(event));
    await registry.registerWorker('w1');
    await manager.getConnection().publish(registryKeys(manager.namespace).events, 'not json');
    const messages = (await errors.done).map(({ message }) => message);
    expect(messages).toContain('handler bug');
    expect(messages).toContain('async handler bug');
    expect(messages.some((message) => message.startsWith('malformed registry event: not json'))).toBe(true);
    expect(received.map(({ type }) => type)).toEqual(['joined']);
    // After the throwing handler is gone, the next event brings one error (the async handler's) only.
    await unsubscribeThrowing();
    await registry.setStatus('w1', 'busy');
    await waitFor(() => received.length === 2);
    await waitFor(() => errors.values.length === 4);
    expect(errors.values.map(({ message }) => message).slice(3)).toEqual(['async handler bug']);
  });

  it('does not throw when nobody listens for error, and reports incomplete events', async () => {
    const manager = await createManager();
    const registry = await createRegistry({}, manager);
    let calls = 0;
    await registry.subscribe(() => {
      calls += 1;
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a handler throwing a non-Error is the case under test
      throw 'not an Error';
    });
    await registry.registerWorker('w1');
    // The 'joined' event (whose handler throws with nobody listening for error) has been handled.
    await waitFor(() => calls === 1);
    const errors = collect<Error>(2);
    registry.on('error', errors.push);
    await registry.setStatus('w1', 'busy');
    const incomplete = JSON.stringify({ type: 'joined', worker: { id: 'x', status: 'sleeping' } });
    await manager.getConnection().publish(registryKeys(manager.namespace).events, incomplete);
    const messages = (await errors.done).map(({ message }) => message);
    expect(messages).toContain('not an Error');
    expect(messages.some((message) => message.startsWith('malformed registry event'))).toBe(true);
  });

  it('close() drops the subscription: no handler is called afterwards, and the hub lets the channel go', async () => {
    const manager = await createManager();
    const registry = new WorkerRegistry(manager);
    const calls: RegistryEvent[] = [];
    await registry.subscribe((event) => void calls.push(event));
    const { events } = registryKeys(manager.namespace);
    expect(await numsub(manager.getConnection(), events)).toBe(1);
    await registry.close();
    expect(await numsub(manager.getConnection(), events)).toBe(0);
    expect(subscriptionHub(manager).connection).toBeUndefined();
    const other = await createRegistry({}, manager);
    const heard = collect<RegistryEvent>(1);
    await other.subscribe(heard.push);
    await other.registerWorker('w1');
    await heard.done;
    expect(calls).toEqual([]);
  });
});
