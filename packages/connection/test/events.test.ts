import { describe, expect, it } from 'vitest';
import { waitFor } from '@shim/testing';
import { RedisConnectionManager } from '../src/index.js';
import { createManager, privateServer, track } from './helpers.js';

describe('events', () => {
  it('never crashes the process on an error with no listener', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({
        url: server.url,
        reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 1 },
      }),
    );
    await manager.connect();
    expect(manager.listenerCount('error')).toBe(0);
    let reconnects = 0;
    manager.on('reconnecting', () => {
      reconnects += 1;
    });
    await server.kill();
    // RECONNECT_EXHAUSTED is emitted as 'error' with nobody listening: it must be dropped, not thrown.
    await waitFor(() => manager.getConnection().status === 'end', { description: 'gave up' });
    expect(reconnects).toBe(1);
    expect(manager.isHealthy()).toBe(false);
  });

  it("routes an error thrown by a listener to 'error' instead of into ioredis", async () => {
    const manager = createManager();
    const errors: Error[] = [];
    manager.on('error', (error) => errors.push(error));
    manager.on('ready', () => {
      throw new Error('listener bug');
    });
    await manager.connect();
    expect(errors.map(({ message }) => message)).toEqual(['listener bug']);
    expect(manager.isHealthy()).toBe(true);
  });

  it('survives an error listener that throws', async () => {
    const manager = createManager();
    manager.on('error', () => {
      throw new Error('error listener bug');
    });
    manager.on('ready', () => {
      throw new Error('listener bug');
    });
    await manager.connect();
    expect(manager.isHealthy()).toBe(true);
  });

  it('reports a non-network error of a connection as an error event, without the raw ioredis object', async () => {
    const manager = createManager();
    const errors: Error[] = [];
    manager.on('error', (error) => errors.push(error));
    await manager.connect();
    const raw = Object.assign(new Error('ERR something odd'), { command: { name: 'x', args: ['secret-arg'] } });
    // ioredis emits such errors for failed handshake steps it tolerates (e.g. CLIENT SETNAME).
    manager.getConnection().emit('error', raw);
    expect(errors.map(({ message }) => message)).toEqual(['ERR something odd']);
    expect(errors[0]).not.toBe(raw);
    expect(errors[0]).not.toHaveProperty('command');
  });

  it('wraps a non-Error thrown by a listener', async () => {
    const manager = createManager();
    const errors: Error[] = [];
    manager.on('error', (error) => errors.push(error));
    manager.on('ready', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
      throw 'not an Error';
    });
    await manager.connect();
    expect(errors.map(({ message }) => message)).toEqual(['not an Error']);
    expect(errors[0]).toBeInstanceOf(Error);
  });

  it('types its events: a misspelt event or a wrong payload does not compile', () => {
    const manager = createManager();
    // @ts-expect-error 'conected' is not an event of the manager
    manager.on('conected', () => {});
    // @ts-expect-error reconnecting carries { attempt, delayMs }, not a number
    manager.on('reconnecting', (delay: number) => delay);
    manager.on('reconnecting', ({ attempt, delayMs }) => attempt + delayMs);
    expect(manager.listenerCount('reconnecting')).toBe(2);
  });
});
