import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '../src/index.js';
import { privateServer } from './helpers.js';

function processListenerCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const name of process.eventNames()) counts[String(name)] = process.listenerCount(name);
  return counts;
}

describe('no leaks', () => {
  it('1,000 connect/disconnect cycles leave listener counts, warnings and CLIENT LIST unchanged', async () => {
    const server = await privateServer();
    const observer = server.client();
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    try {
      await observer.ping();
      const clientsBefore = ((await observer.client('LIST')) as string).trim().split('\n').length;
      const listenersBefore = processListenerCounts();

      for (let cycle = 0; cycle < 1_000; cycle += 1) {
        const manager = new RedisConnectionManager({ url: server.url });
        manager.on('error', () => {});
        await manager.connect();
        if (cycle % 100 === 0) await manager.createConnection('subscriber');
        await manager.disconnect();
        expect(manager.listConnections()).toEqual([]);
      }

      expect(processListenerCounts()).toEqual(listenersBefore);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
      const clientsAfter = ((await observer.client('LIST')) as string).trim().split('\n').length;
      expect(clientsAfter).toBe(clientsBefore);
      const stats = await observer.info('clients');
      expect(Number(/connected_clients:(\d+)/.exec(stats)?.[1])).toBe(1);
    } finally {
      process.off('warning', onWarning);
      observer.disconnect();
    }
  }, 120_000);

  it('removes its handlers from each ioredis client it closes', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({ url: server.url });
    await manager.connect();
    const command = manager.getConnection();
    const subscriber = await manager.createConnection('subscriber');
    const before = ['ready', 'error', 'close', 'end', 'reconnecting', 'connect'].map((event) =>
      subscriber.listenerCount(event),
    );
    expect(before.every((count) => count >= 1)).toBe(true);
    await manager.disconnect();
    for (const client of [command, subscriber]) {
      for (const event of ['ready', 'close', 'reconnecting', 'connect']) expect(client.listenerCount(event)).toBe(0);
    }
  });
});
