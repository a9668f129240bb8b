import { EventEmitter } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { Redis } from 'ioredis';
import {
  collect,
  countNamespaceKeys,
  createTestCertificates,
  deleteNamespace,
  hasOpenssl,
  uniqueNamespace,
  waitFor,
  waitForEvent,
} from '../src/index.js';

describe('namespaces', () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(() => {
    redis.disconnect();
  });

  it('are unique per call', () => {
    const a = uniqueNamespace();
    expect(a).toMatch(/^test:[0-9a-f-]{36}$/);
    expect(uniqueNamespace()).not.toBe(a);
    expect(uniqueNamespace('bus')).toMatch(/^bus:/);
  });

  it('are counted and deleted with SCAN, touching nothing outside', async () => {
    const namespace = uniqueNamespace();
    const neighbour = `${namespace}x`;
    for (let index = 0; index < 1_200; index += 1) await redis.set(`${namespace}:k${index}`, '1');
    await redis.set(`${neighbour}:k`, '1');
    expect(await countNamespaceKeys(redis, namespace)).toBe(1_200);
    expect(await deleteNamespace(redis, namespace)).toBe(1_200);
    expect(await countNamespaceKeys(redis, namespace)).toBe(0);
    expect(await redis.get(`${neighbour}:k`)).toBe('1');
    await deleteNamespace(redis, neighbour);
  });

  it('match glob characters literally', async () => {
    const namespace = `${uniqueNamespace()}*[?]`;
    await redis.set(`${namespace}:a`, '1');
    await redis.set(`${namespace.slice(0, -4)}:b`, '1');
    expect(await countNamespaceKeys(redis, namespace)).toBe(1);
    await deleteNamespace(redis, namespace);
    await deleteNamespace(redis, namespace.slice(0, -4));
  });
});

describe('waitFor', () => {
  it('returns the first truthy value', async () => {
    let calls = 0;
    expect(await waitFor(() => (++calls >= 3 ? 'done' : undefined), { intervalMs: 1 })).toBe('done');
    expect(calls).toBe(3);
  });

  it('times out naming the condition and keeping the last error', async () => {
    const error = await waitFor(
      () => {
        throw new Error('not yet');
      },
      { timeoutMs: 50, intervalMs: 5, description: 'the moon' },
    ).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/timed out after 50 ms waiting for the moon/);
    expect((error.cause as Error).message).toBe('not yet');
  });
});

describe('waitForEvent', () => {
  it('resolves with the arguments of the first matching event', async () => {
    const emitter = new EventEmitter();
    const waiting = waitForEvent<[number]>(emitter, 'tick', { filter: (n) => n > 1 });
    emitter.emit('tick', 1);
    emitter.emit('tick', 2);
    expect(await waiting).toEqual([2]);
    expect(emitter.listenerCount('tick')).toBe(0);
  });

  it('rejects after the timeout and removes its listener', async () => {
    const emitter = new EventEmitter();
    await expect(waitForEvent(emitter, 'never', { timeoutMs: 20 })).rejects.toThrow(/'never'/);
    expect(emitter.listenerCount('never')).toBe(0);
  });
});

describe.runIf(hasOpenssl())('createTestCertificates', () => {
  it('makes a CA, a server certificate for 127.0.0.1 and an unrelated CA', () => {
    const certs = createTestCertificates();
    try {
      for (const file of [certs.caFile, certs.certFile, certs.keyFile, certs.otherCaFile])
        expect(existsSync(file)).toBe(true);
      expect(readFileSync(certs.certFile, 'utf8')).toContain('BEGIN CERTIFICATE');
      expect(readFileSync(certs.caFile, 'utf8')).not.toBe(readFileSync(certs.otherCaFile, 'utf8'));
    } finally {
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});

describe('collect', () => {
  it('resolves with the first count values, and keeps all of them in values', async () => {
    const collector = collect<number>(2);
    collector.push(1);
    collector.push(2);
    collector.push(3);
    expect(await collector.done).toEqual([1, 2, 3]);
    expect(collector.values).toEqual([1, 2, 3]);
  });

  it('rejects after the timeout saying how many arrived', async () => {
    const collector = collect<number>(3, 20);
    collector.push(1);
    await expect(collector.done).rejects.toThrow('collected 1 of 3 within 20 ms');
  });
});
