import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import type { InvalidMessageEvent, MessageCodec } from '../src/index.js';
import { createBus, createManager } from './helpers.js';

async function spyRaw(manager: Awaited<ReturnType<typeof createManager>>, channel: string): Promise<string[]> {
  const raw: string[] = [];
  const spy = await manager.createConnection('subscriber');
  spy.on('message', (_channel: string, message: string) => void raw.push(message));
  await spy.subscribe(`${manager.namespace}:bus:ch:${channel}`);
  return raw;
}

describe('serialization', () => {
  it('refuses what JSON cannot carry faithfully, sending nothing', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const raw = await spyRaw(manager, 'c');
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic['self'] = cyclic;
    const cases: Array<[unknown, RegExp]> = [
      [undefined, /undefined/],
      [10n, /message is a bigint/],
      [{ n: 10n }, /message\.n is a bigint/],
      [cyclic, /message\.self refers back to message \(a cycle\)/],
      [() => 1, /function/],
      [{ f: () => 1 }, /message\.f is a function/],
      [{ u: undefined }, /message\.u is undefined/],
      [[1, undefined], /message\[1\]/],
      [{ n: Number.NaN }, /NaN/],
      [{ when: new Date() }, /Date/],
      [new Map(), /Map/],
    ];
    for (const [message, reason] of cases) {
      const error = await bus.publish('c', message).catch((e: unknown) => e as Error & { code?: string });
      expect(error, String(reason)).toMatchObject({ code: 'UNSERIALIZABLE_MESSAGE' });
      expect((error as Error).message).toMatch(reason);
    }
    await bus.publish('c', { fine: true });
    await waitFor(() => raw.length === 1);
    expect(JSON.parse(raw[0] ?? '')).toMatchObject({ v: 1, p: { fine: true } });
    expect(bus.stats.published).toBe(1);
  });

  it('refuses messages over maxMessageBytes (default 1 MiB), counting UTF-8 bytes', async () => {
    const bus = await createBus();
    await expect(bus.publish('c', 'x'.repeat(1_048_576))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(bus.publish('c', 'x'.repeat(1_048_000))).resolves.toBe(0);
    const small = await createBus({ maxMessageBytes: 200 });
    await expect(small.publish('c', 'é'.repeat(60))).rejects.toThrow(/over the limit of 200/);
    await expect(small.publish('c', 'e'.repeat(60))).resolves.toBe(0);
  });

  it('reports foreign raw strings, malformed JSON and oversized messages as invalid, never throwing', async () => {
    const manager = await createManager();
    const bus = await createBus({ maxMessageBytes: 1_000 }, manager);
    const invalid = collect<InvalidMessageEvent>(4);
    bus.on('invalid-message', (event) => invalid.push(event));
    const handled: unknown[] = [];
    await bus.subscribe('c', (m) => void handled.push(m));
    await bus.subscribePattern('c*', (m) => void handled.push(m));
    const redis = manager.getConnection();
    await redis.publish(`${manager.namespace}:bus:ch:c`, 'hello from a foreign client');
    await redis.publish(
      `${manager.namespace}:bus:ch:c`,
      JSON.stringify({ v: 1, id: 'x', ts: 1, src: 's', seq: 1, p: 'y'.repeat(2_000) }),
    );
    const events = await invalid.done;
    expect(events.map(({ channel }) => channel)).toEqual(['c', 'c', 'c', 'c']);
    expect(events.filter(({ pattern }) => pattern === 'c*')).toHaveLength(2);
    expect(events[0]?.reason).toMatch(/cannot be decoded/);
    expect(events[0]?.raw).toBe('hello from a foreign client');
    expect(events.some(({ reason }) => /larger than 1000 bytes/.test(reason))).toBe(true);
    expect(events.every(({ raw }) => raw.length <= 200)).toBe(true);
    expect(handled).toEqual([]);
  });

  it('cannot be used to pollute prototypes', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const got = collect<Record<string, unknown>>(2);
    await bus.subscribe('c', (m) => got.push(m as Record<string, unknown>));
    const redis = manager.getConnection();
    const base = '{"v":1,"id":"a:1","ts":1,"src":"a","seq":1,';
    await redis.publish(
      `${manager.namespace}:bus:ch:c`,
      `${base}"p":{"__proto__":{"polluted":true},"nested":{"__proto__":{"polluted":true}}}}`,
    );
    await redis.publish(
      `${manager.namespace}:bus:ch:c`,
      '{"v":1,"id":"a:2","ts":1,"src":"a","seq":2,"p":{"constructor":{"prototype":{"polluted":true}}}}',
    );
    const [first, second] = await got.done;
    const merged = Object.assign({}, first, first?.['nested']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(first)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.prototype.hasOwnProperty.call(first, '__proto__')).toBe(false);
    expect(second).toEqual({ constructor: { prototype: { polluted: true } } });
    expect((Object.prototype as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('uses a pluggable codec on both sides', async () => {
    const base64: MessageCodec = {
      encode: (envelope) => Buffer.from(JSON.stringify(envelope)).toString('base64'),
      decode: (raw) => JSON.parse(Buffer.from(raw, 'base64').toString()) as unknown,
    };
    const manager = await createManager();
    const bus = await createBus({ codec: base64 }, manager);
    const raw = await spyRaw(manager, 'c');
    const got = collect<unknown>(1);
    await bus.subscribe('c', (m) => got.push(m));
    await bus.publish('c', { hello: 'codec' });
    expect(await got.done).toEqual([{ hello: 'codec' }]);
    await waitFor(() => raw.length === 1);
    expect(raw[0]).not.toContain('hello');
    const failing: MessageCodec = {
      encode: () => {
        throw new Error('nope');
      },
      decode: (text) => text,
    };
    const broken = await createBus({ codec: failing }, manager);
    await expect(broken.publish('c', 1)).rejects.toMatchObject({ code: 'UNSERIALIZABLE_MESSAGE' });
  });
});

describe('fuzz: foreign payloads', () => {
  it('counts 10,000 random invalid payloads as invalid without a crash or a handler call', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    let handled = 0;
    await bus.subscribe('fuzz', () => {
      handled += 1;
    });
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
    const value = (depth: number): unknown => {
      const kind = Math.floor(random() * (depth > 4 ? 4 : 7));
      if (kind === 0) return random() > 0.5 ? Math.floor(random() * 1e6) : -random();
      if (kind === 1) return pick(['', 'x', '💥', '\u0000', '{"v":1}']);
      if (kind === 2) return pick([true, false, null]);
      if (kind === 3) return [];
      if (kind === 4) return Array.from({ length: 3 }, () => value(depth + 1));
      if (kind === 5) return { [pick(['v', 'id', 'ts', 'src', 'seq', 's', 'p', 'x'])]: value(depth + 1) };
      let deep: unknown = 1;
      for (let index = 0; index < 1_000; index += 1) deep = { d: deep };
      return deep;
    };
    const envelope = (): Record<string, unknown> => ({ v: 1, id: 'f:1', ts: 1, src: 'f', seq: 1, p: 1 });
    const mutations: Array<() => string> = [
      () => pick(['', 'garbage', '{', '[1,2', 'null', '"just a string"', '12', 'true']),
      () => JSON.stringify(value(0)),
      () => JSON.stringify({ ...envelope(), v: pick([0, 2, '1', null]) }),
      () => {
        const e = envelope();
        delete e[pick(['id', 'ts', 'src', 'seq', 'p'])];
        return JSON.stringify(e);
      },
      () => JSON.stringify({ ...envelope(), [pick(['extra', 'payload', '__proto__x'])]: value(0) }),
      () => {
        const wrong: Record<string, unknown[]> = {
          id: [null, {}, [], 1, ''],
          ts: [null, {}, [], '1', true],
          src: [null, {}, '', 1],
          seq: [0, -1, 1.5, '1', null],
          s: [null, 1, {}, [], true],
        };
        const key = pick(Object.keys(wrong));
        return JSON.stringify({ ...envelope(), [key]: pick(wrong[key] ?? []) });
      },
      () => JSON.stringify({ ...envelope(), p: value(0) }).slice(0, -1),
    ];
    const redis = manager.getConnection();
    const channel = `${manager.namespace}:bus:ch:fuzz`;
    const pipeline = redis.pipeline();
    for (let index = 0; index < 10_000; index += 1) {
      // Every mutation is invalid by construction: none can produce a well-formed version-1 envelope.
      pipeline.publish(channel, pick(mutations)());
    }
    await pipeline.exec();
    await waitFor(() => bus.stats.invalid === 10_000, { timeoutMs: 20_000 });
    expect(handled).toBe(0);
    expect(bus.stats.invalid).toBe(10_000);
    expect(bus.stats.delivered).toBe(0);
  });
});
