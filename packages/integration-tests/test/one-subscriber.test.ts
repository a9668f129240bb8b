import { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';
import { StateManager } from '@shim/state';
import { collect, waitFor } from '@shim/testing';
import { clientNames, closeAfter, managedManager, privateServer } from '@shim/testing/scope';
import { WorkerRegistry } from '@shim/worker-registry';
import { describe, expect, it } from 'vitest';

describe('one subscriber connection per manager', () => {
  it('serves the bus, state changes and registry events on one manager, and all three hear again after a Redis restart', async () => {
    const server = await privateServer();
    const manager = await managedManager(
      (base) =>
        new RedisConnectionManager({
          ...base,
          url: server.url,
          connectionName: 'one-sub',
          reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
        }),
    );
    const bus = closeAfter(new MessageBusWrapper(manager));
    const state = closeAfter(new StateManager(manager, { cleanupIntervalMs: 0 }));
    const registry = closeAfter(new WorkerRegistry(manager));

    const heard = {
      bus: collect<unknown>(2, 20_000),
      state: collect<unknown>(2, 20_000),
      registry: collect<unknown>(2, 20_000),
    };
    await bus.subscribe('news', (message) => heard.bus.push(message));
    await state.subscribe('plan', (change) => {
      if (change.resync !== true) heard.state.push(change.value);
    });
    await registry.subscribe((event) => {
      if (event.type === 'joined') heard.registry.push(event.worker.id);
    });

    const subscribers = (await clientNames(manager.getConnection(), 'one-sub:')).filter((name) =>
      name.startsWith('one-sub:subscriber'),
    );
    expect(subscribers).toHaveLength(1);
    expect(manager.listConnections().filter((connection) => connection.role === 'subscriber')).toHaveLength(1);

    await bus.publish('news', 'before');
    await state.set('plan', 'before');
    await registry.registerWorker('w-before');
    await waitFor(
      () => heard.bus.values.length === 1 && heard.state.values.length === 1 && heard.registry.values.length === 1,
      {
        description: 'one message each before the restart',
      },
    );

    await server.restart();
    await waitFor(() => manager.isHealthy(), { timeoutMs: 15_000, description: 'healthy after the restart' });
    // Nothing tells a publisher when every subscription is back: publish until each listener hears.
    await waitFor(
      async () => {
        if (heard.bus.values.length < 2) await bus.publish('news', 'after');
        if (heard.state.values.length < 2) await state.set('plan', 'after');
        if (heard.registry.values.length < 2) await registry.registerWorker(`w-after-${Date.now()}`);
        return heard.bus.values.length >= 2 && heard.state.values.length >= 2 && heard.registry.values.length >= 2;
      },
      { timeoutMs: 15_000, intervalMs: 100, description: 'bus, state and registry hearing again' },
    );
    expect(heard.bus.values.slice(0, 2)).toEqual(['before', 'after']);
    expect(heard.state.values.slice(0, 2)).toEqual(['before', 'after']);
    expect(manager.listConnections().filter((connection) => connection.role === 'subscriber')).toHaveLength(1);
  });
});
