import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import { numsub } from '@shim/testing/scope';
import { subscriptionHub } from '../src/kit.js';
import { createManager, privateServer } from './helpers.js';

async function connected(config: Parameters<typeof createManager>[0] = {}) {
  const manager = createManager(config);
  await manager.connect();
  return manager;
}

const subscribers = (manager: Awaited<ReturnType<typeof connected>>) =>
  manager.listConnections().filter((connection) => connection.role === 'subscriber');

describe('SubscriptionHub', () => {
  it('is one per manager and shares one subscriber connection between every listener', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    expect(subscriptionHub(manager)).toBe(hub);
    const a = collect<string>(1);
    const b = collect<string>(1);
    const p = collect<string>(1);
    const channel = manager.key('hub', 'a');
    await hub.subscribe(channel, (message) => a.push(message));
    await hub.subscribe(channel, (message) => b.push(message));
    await hub.psubscribe(manager.key('hub', '*'), (message, from, pattern) => p.push(`${from}|${pattern}|${message}`));
    expect(subscribers(manager)).toHaveLength(1);
    expect(await numsub(manager.getConnection(), channel)).toBe(1);
    await manager.getConnection().publish(channel, 'one');
    await a.done;
    await b.done;
    await p.done;
    expect(p.values[0]).toBe(`${channel}|${manager.key('hub', '*')}|one`);
    expect(hub.subscriptions).toEqual({ channels: [channel], patterns: [manager.key('hub', '*')] });
  });

  it('reference-counts: the last unsubscribe of a name unsubscribes in Redis, and the last of all releases the connection', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    const channel = manager.key('hub', 'counted');
    const seen = collect<string>(1);
    const first = await hub.subscribe(channel, (message) => seen.push(`first:${message}`));
    const second = await hub.subscribe(channel, (message) => seen.push(`second:${message}`));
    await first();
    await first();
    expect(await numsub(manager.getConnection(), channel)).toBe(1);
    await manager.getConnection().publish(channel, 'x');
    await seen.done;
    expect(seen.values).toEqual(['second:x']);
    await second();
    expect(await numsub(manager.getConnection(), channel)).toBe(0);
    expect(hub.connection).toBeUndefined();
    expect(subscribers(manager)).toHaveLength(0);
  });

  it('isolates a throwing listener: the others still hear, and the throw goes to its own onError', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    const channel = manager.key('hub', 'throws');
    const errors = collect<unknown>(1);
    const heard = collect<string>(1);
    await hub.subscribe(
      channel,
      () => {
        throw new Error('listener failed');
      },
      { onError: (error) => errors.push(error) },
    );
    await hub.subscribe(channel, () => {
      throw new Error('no onError: dropped');
    });
    await hub.subscribe(
      channel,
      () => {
        throw new Error('first');
      },
      {
        onError: () => {
          throw new Error('the error handler throws too');
        },
      },
    );
    await hub.subscribe(channel, (message) => heard.push(message));
    await manager.getConnection().publish(channel, 'm');
    await heard.done;
    await errors.done;
    expect((errors.values[0] as Error).message).toBe('listener failed');
  });

  it('never leaves a name wanted but unsubscribed, nor closes the connection, when a subscribe arrives during the UNSUBSCRIBE', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    const channel = manager.key('hub', 'race');
    for (let round = 0; round < 10; round += 1) {
      const unsubscribe = await hub.subscribe(channel, () => undefined);
      const connection = hub.connection!;
      const original = connection.unsubscribe.bind(connection);
      let again: Promise<() => Promise<void>> | undefined;
      // The new subscription arrives while the UNSUBSCRIBE is on its way to Redis.
      connection.unsubscribe = ((...names: string[]) => {
        const sent = original(...names);
        again = hub.subscribe(channel, () => undefined);
        return sent;
      }) as typeof connection.unsubscribe;
      try {
        await unsubscribe();
      } finally {
        connection.unsubscribe = original;
      }
      const off = await again!;
      expect(await numsub(manager.getConnection(), channel)).toBe(1);
      expect(hub.connection).toBe(connection);
      await off();
      expect(await numsub(manager.getConnection(), channel)).toBe(0);
    }
  });

  it('fails only the callers of a name Redis refuses; the others of the same burst are subscribed', async () => {
    const server = await privateServer();
    const admin = server.client();
    try {
      await admin.call('ACL', 'SETUSER', 'limited', 'on', '>pw', '~*', '&ok:*', '+@all');
    } finally {
      admin.disconnect();
    }
    const manager = await connected({ url: server.url, username: 'limited', password: 'pw', namespace: 'ok' });
    const hub = subscriptionHub(manager);
    const heard = collect<string>(1);
    const [allowed, refused] = await Promise.allSettled([
      hub.subscribe('ok:yes', (message) => heard.push(message)),
      hub.subscribe('no:way', () => undefined),
    ]);
    expect(allowed.status).toBe('fulfilled');
    expect(refused).toMatchObject({
      status: 'rejected',
      reason: { message: expect.stringMatching(/NOPERM/) as unknown },
    });
    await manager.getConnection().publish('ok:yes', 'hello');
    expect(await heard.done).toEqual(['hello']);
    expect(hub.subscriptions).toEqual({ channels: ['ok:yes'], patterns: [] });
  });

  it('after the manager disconnected: unsubscribing resolves, and a new subscription rejects with MANAGER_CLOSED', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    const off = await hub.subscribe(manager.key('hub', 'before-close'), () => undefined);
    await manager.disconnect();
    await expect(off()).resolves.toBeUndefined();
    await expect(hub.subscribe(manager.key('hub', 'after'), () => undefined)).rejects.toMatchObject({
      code: 'MANAGER_CLOSED',
    });
    expect(hub.connection).toBeUndefined();
    expect(hub.subscriptions).toEqual({ channels: [], patterns: [] });
  });

  it('batches a burst of subscriptions into one connection and resolves each once it is active', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    const names = Array.from({ length: 50 }, (_, index) => manager.key('hub', 'burst', index));
    const heard = collect<string>(50);
    const offs = await Promise.all(names.map((name) => hub.subscribe(name, (message) => heard.push(message))));
    for (const name of names) await manager.getConnection().publish(name, name);
    await heard.done;
    expect(subscribers(manager)).toHaveLength(1);
    await Promise.all(offs.map((off) => off()));
    expect(hub.connection).toBeUndefined();
  });

  it('refuses an empty name or a listener that is not a function, and subscribes nothing', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    await expect(hub.subscribe('', () => undefined)).rejects.toThrow(/channel must be a non-empty string/);
    await expect(hub.psubscribe(manager.key('p'), 'nope' as never)).rejects.toThrow(/listener must be a function/);
    expect(hub.connection).toBeUndefined();
  });

  it('rejects and keeps nothing when the subscriber connection cannot be opened', async () => {
    const manager = await connected();
    const hub = subscriptionHub(manager);
    await manager.disconnect();
    await expect(hub.subscribe(manager.key('closed'), () => undefined)).rejects.toMatchObject({
      code: 'MANAGER_CLOSED',
    });
    expect(hub.subscriptions).toEqual({ channels: [], patterns: [] });
  });

  it('hears again after a Redis restart and tells onResubscribed listeners once every subscription is back', async () => {
    const server = await privateServer();
    const manager = await connected({ url: server.url, reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    const hub = subscriptionHub(manager);
    const channel = manager.key('hub', 'restart');
    const heard = collect<string>(2);
    const resubscribed = collect<true>(1, 15_000);
    const off = hub.onResubscribed(() => resubscribed.push(true));
    hub.onResubscribed(() => {
      throw new Error('a throwing resubscribe listener does not stop the others');
    });
    await hub.subscribe(channel, (message) => heard.push(message));
    await hub.psubscribe(manager.key('hub', 'pattern', '*'), (message) => heard.push(`p:${message}`));
    await server.restart();
    await resubscribed.done;
    await waitFor(() => manager.isHealthy(), { timeoutMs: 15_000 });
    await manager.getConnection().publish(channel, 'after');
    await manager.getConnection().publish(manager.key('hub', 'pattern', 'x'), 'after');
    await heard.done;
    expect(heard.values.sort()).toEqual(['after', 'p:after']);
    off();
  });
});
