import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from '../src/index.js';
import {
  clientNames,
  closeAfter,
  managedManager,
  numpat,
  numsub,
  onCleanup,
  privateServer,
  redisNow,
  rejectionOf,
  sharedRedisUrl,
  tsxProcess,
} from '../src/scope.js';
import { TinyManager } from './fixtures/tiny-manager.js';

const order: string[] = [];
let leftover: { manager: TinyManager; probe: Redis } | undefined;

describe('scope', () => {
  it('hands out a connected manager under a fresh namespace and runs cleanups last-first', async () => {
    const manager = await managedManager((base) => new TinyManager(base));
    expect(manager.state).toBe('connected');
    await manager.getConnection().set(`${manager.namespace}:k`, '1');
    const probe = new Redis(sharedRedisUrl());
    leftover = { manager, probe };
    onCleanup(() => order.push('registered first'));
    closeAfter({ close: () => Promise.resolve(order.push('registered last')) });
    expect(await clientNames(manager.getConnection(), 'tiny-manager')).toContain('tiny-manager');
    expect(await numsub(manager.getConnection(), `${manager.namespace}:none`)).toBe(0);
    expect(await numpat(manager.getConnection())).toBeGreaterThanOrEqual(0);
    expect(await redisNow(manager.getConnection())).toBeGreaterThan(1_700_000_000_000);
  });

  it('deleted the namespace, disconnected the manager, and ran the cleanups in reverse order', async () => {
    expect(order).toEqual(['registered last', 'registered first']);
    const { manager, probe } = leftover!;
    expect(manager.state).toBe('closed');
    expect(await countNamespaceKeys(probe, manager.namespace)).toBe(0);
    await probe.quit();
  });

  it('can leave a manager unconnected, and reports how a promise rejected', async () => {
    const manager = await managedManager((base) => new TinyManager(base), { connect: false });
    expect(manager.state).toBe('idle');
    expect((await rejectionOf(Promise.reject(new Error('no')))).message).toBe('no');
    await expect(rejectionOf(Promise.resolve(1))).rejects.toThrow(/resolved/);
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the case under test
    await expect(rejectionOf(Promise.reject('text'))).rejects.toThrow(/non-Error/);
  });

  it('runs a TypeScript child process, collects its lines and kills it after the test', async () => {
    const server = await privateServer();
    expect(server.running).toBe(true);
    const script = new URL('./fixtures/echo.ts', import.meta.url);
    const done = tsxProcess(script, { lines: ['a', 'b'] });
    expect(await done.exited).toBe(0);
    expect(done.lines).toEqual(['a', 'b']);
    const hanging = tsxProcess(script.pathname, { lines: ['c'], hang: true });
    const deadline = Date.now() + 10_000;
    while (hanging.lines.length === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
    expect(hanging.lines).toEqual(['c']);
  });
});
