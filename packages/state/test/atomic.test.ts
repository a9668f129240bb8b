import { describe, expect, it, vi } from 'vitest';
import { countNamespaceKeys, uniqueNamespace } from '@shim/testing';
import { isStateError, StateConflictError, stateKeys } from '../src/index.js';
import { createClients, createManager, createState } from './helpers.js';

describe('atomicUpdate', () => {
  it('reads, applies the updater and writes the next version; absent is undefined', async () => {
    const state = await createState();
    const seen: unknown[] = [];
    const first = await state.atomicUpdate<number>('count', (current) => {
      seen.push(current);
      return (current ?? 0) + 1;
    });
    expect(first).toEqual({ value: 1, version: 1 });
    expect(await state.atomicUpdate<number>('count', (current) => Promise.resolve((current ?? 0) + 10))).toEqual({
      value: 11,
      version: 2,
    });
    expect(seen).toEqual([undefined]);
    expect(await state.get('count')).toBe(11);
  });

  it('20 updaters on separate connections, 50 increments each: exactly 1,000, every time', async () => {
    const namespace = uniqueNamespace();
    const clients = await createClients(20, namespace, { retryBaseDelayMs: 1, retryMaxDelayMs: 20 });
    for (let round = 0; round < 2; round += 1) {
      const key = `counter-${round}`;
      await Promise.all(
        clients.map(async (client) => {
          for (let n = 0; n < 50; n += 1) await client.atomicUpdate<number>(key, (current) => (current ?? 0) + 1);
        }),
      );
      expect(await clients[0]!.getEntry(key)).toMatchObject({ value: 1_000, version: 1_000 });
    }
  });

  it('50 clients × 200 atomicUpdates on separate connections → exactly 10,000', async () => {
    const clients = await createClients(50, uniqueNamespace(), { maxAttempts: 1_000 });
    await Promise.all(
      clients.map(async (client) => {
        for (let n = 0; n < 200; n += 1) await client.atomicUpdate<number>('hot', (current) => (current ?? 0) + 1);
      }),
    );
    expect(await clients[0]!.getEntry('hot')).toMatchObject({ value: 10_000, version: 10_000 });
  });

  it('concurrent updates sharing one connection do not interfere (no WATCH)', async () => {
    const state = await createState();
    await Promise.all(
      Array.from({ length: 200 }, () => state.atomicUpdate<number>('shared', (current) => (current ?? 0) + 1)),
    );
    expect(await state.get('shared')).toBe(200);
  });

  it('an updater that throws writes nothing and its error comes out as it is', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const failure = new Error('no thanks');
    await expect(
      state.atomicUpdate('k', () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(state.atomicUpdate('k', () => Promise.reject(failure))).rejects.toBe(failure);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('an updater result that is not JSON data writes nothing', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    await state.set('k', 1);
    await expect(state.atomicUpdate('k', () => undefined)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(state.atomicUpdate('k', () => 10n)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    expect(await state.getEntry('k')).toMatchObject({ value: 1, version: 1 });
  });

  it('a conflict storm ends in StateConflictError after maxAttempts, never a livelock', async () => {
    const manager = await createManager();
    const state = await createState({ retryBaseDelayMs: 0, retryMaxDelayMs: 0 }, manager);
    const rival = await createState({}, manager);
    await state.set('hot', 0);
    let calls = 0;
    const error: unknown = await state
      .atomicUpdate<number>(
        'hot',
        async (current) => {
          calls += 1;
          // Someone else always writes between our read and our write.
          await rival.set('hot', (current ?? 0) + 100);
          return (current ?? 0) + 1;
        },
        { maxAttempts: 5 },
      )
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(StateConflictError);
    expect(isStateError(error, 'CONFLICT')).toBe(true);
    expect(error).toMatchObject({ key: 'hot', attempts: 5, expectedVersion: 5, actualVersion: 6 });
    expect(calls).toBe(5);
    // Each retry started from the value the conflict reported: the rival's writes, never ours.
    expect(await state.getEntry('hot')).toMatchObject({ value: 500, version: 6 });
  });

  it('retries from "absent" when the entry was deleted between read and write', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const rival = await createState({}, manager);
    await state.set('k', 5);
    const seen: Array<number | undefined> = [];
    const result = await state.atomicUpdate<number>('k', async (current) => {
      seen.push(current);
      if (seen.length === 1) await rival.delete('k');
      return (current ?? 0) + 1;
    });
    expect(seen).toEqual([5, undefined]);
    expect(result).toEqual({ value: 1, version: 1 });
  });

  it('waits a jittered, growing delay between attempts, bounded by retryMaxDelayMs', async () => {
    const manager = await createManager();
    const state = await createState({ retryBaseDelayMs: 8, retryMaxDelayMs: 16 }, manager);
    const rival = await createState({}, manager);
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    const started = Date.now();
    await expect(
      state.atomicUpdate<number>(
        'k',
        async (current) => {
          await rival.set('k', (current ?? 0) + 1);
          return 0;
        },
        { maxAttempts: 4 },
      ),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    // Delays before attempts 2, 3, 4: bounds 8, 16, 16 → about 40 ms.
    expect(Date.now() - started).toBeGreaterThanOrEqual(35);
    random.mockRestore();
  });

  it('keeps an existing TTL, or sets the one given', async () => {
    const state = await createState();
    await state.set('k', 1, { ttlMs: 60_000 });
    const { expiresAt } = (await state.getEntry('k'))!;
    await state.atomicUpdate<number>('k', (n) => (n ?? 0) + 1);
    expect((await state.getEntry('k'))?.expiresAt).toBe(expiresAt);
    await state.atomicUpdate<number>('k', (n) => (n ?? 0) + 1, { ttlMs: 120_000, writer: 'w' });
    const entry = await state.getEntry('k');
    expect(entry!.expiresAt).toBeGreaterThan(expiresAt! + 50_000);
    expect(entry).toMatchObject({ value: 3, writer: 'w' });
  });
});

describe('compare-and-set', () => {
  it('writes only at the given version: first write wins, the other gets a conflict and changes nothing', async () => {
    const state = await createState();
    expect((await state.set('k', 'created', { ifVersion: 0 })).version).toBe(1);
    await expect(state.set('k', 'again', { ifVersion: 0 })).rejects.toMatchObject({
      name: 'StateConflictError',
      code: 'CONFLICT',
      expectedVersion: 0,
      actualVersion: 1,
      attempts: 1,
    });
    const results = await Promise.allSettled([
      state.set('k', 'first', { ifVersion: 1 }),
      state.set('k', 'second', { ifVersion: 1 }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect(await state.getEntry('k')).toMatchObject({ value: 'first', version: 2 });
    await expect(state.set('absent', 1, { ifVersion: 3 })).rejects.toMatchObject({ actualVersion: 0 });
    expect(await state.has('absent')).toBe(false);
  });
});

describe('last-write-wins', () => {
  it('by default the later write in Redis arrival order wins', async () => {
    const namespace = uniqueNamespace();
    const [a, b] = await createClients(2, namespace);
    await a!.set('k', 'a');
    await b!.set('k', 'b');
    expect(await a!.get('k')).toBe('b');
  });

  it('a write with an older timestamp never overwrites a newer one; equal or newer applies', async () => {
    const state = await createState();
    expect(await state.set('k', 'new', { timestamp: 2_000 })).toMatchObject({ applied: true, version: 1 });
    const stale = await state.set('k', 'replayed-old', { timestamp: 1_000 });
    expect(stale).toMatchObject({ applied: false, version: 1 });
    expect(stale.updatedAt).toBeGreaterThan(0);
    expect(await state.get('k')).toBe('new');
    expect(await state.set('k', 'same-time', { timestamp: 2_000 })).toMatchObject({ applied: true, version: 2 });
    expect(await state.set('k', 'newer', { timestamp: 3_000 })).toMatchObject({ applied: true, version: 3 });
    expect(await state.get('k')).toBe('newer');
    // A delete carrying an older timestamp is kept out too; a newer one removes.
    expect(await state.delete('k', { timestamp: 2_500 })).toBe(false);
    expect(await state.get('k')).toBe('newer');
    expect(await state.delete('k', { timestamp: 3_500 })).toBe(true);
  });

  it('a write without timestamp never moves the entry timestamp backwards', async () => {
    const state = await createState();
    const future = Date.now() + 3_600_000;
    await state.set('k', 'future', { timestamp: future });
    await state.set('k', 'now');
    expect(await state.get('k')).toBe('now');
    expect((await state.set('k', 'replay', { timestamp: future - 1 })).applied).toBe(false);
  });
});

describe('server-side increment and merge', () => {
  it('increments a number value and an object field in one script', async () => {
    const state = await createState();
    expect(await state.increment('n')).toEqual({ value: 1, version: 1 });
    expect(await state.increment('n', 41)).toEqual({ value: 42, version: 2 });
    expect(await state.increment('n', -50)).toEqual({ value: -8, version: 3 });
    await state.set('stats', {
      done: 2,
      label: 'x',
      nested: { big: 2 ** 60, f: 0.30000000000000004 },
      list: [],
    });
    expect(await state.increment('stats', 3, { field: 'done' })).toEqual({ value: 5, version: 2 });
    expect(await state.increment('stats', 1, { field: 'new "field"' })).toMatchObject({ value: 1 });
    // Other members keep their exact JSON (cjson would round numbers and turn [] into {}).
    expect(await state.get('stats')).toEqual({
      done: 5,
      label: 'x',
      nested: { big: 2 ** 60, f: 0.30000000000000004 },
      list: [],
      'new "field"': 1,
    });
    expect(await state.increment('fresh', 2, { field: 'a' })).toEqual({ value: 2, version: 1 });
  });

  it('refuses values that are not integers, and unsafe results, writing nothing', async () => {
    const state = await createState();
    await state.set('f', 1.5);
    await state.set('s', 'text');
    await state.set('o', { a: 'x', b: 1.5 });
    await state.set('big', Number.MAX_SAFE_INTEGER);
    for (const [key, options] of [
      ['f', {}],
      ['s', {}],
      ['o', {}],
      ['o', { field: 'a' }],
      ['o', { field: 'b' }],
      ['s', { field: 'a' }],
      ['big', {}],
    ] as const) {
      await expect(state.increment(key, 1, options)).rejects.toMatchObject({ code: 'TYPE_MISMATCH', key });
      expect((await state.getEntry(key))?.version).toBe(1);
    }
  });

  it('increment and merge store and publish the writer, drop it when none is named, and keep the timestamp order', async () => {
    const manager = await createManager();
    const writerState = await createState({ writer: 'dora' }, manager);
    const state = await createState({}, manager);
    const seen: Array<{ version: number; writer?: string | undefined; value: unknown }> = [];
    await state.subscribe('n', ({ version, writer, value }) => {
      seen.push({ version, writer, value });
    });
    await writerState.increment('n', 2, { ttlMs: 60_000 });
    expect(await state.getEntry('n')).toMatchObject({ value: 2, version: 1, writer: 'dora' });
    await state.increment('n', 1, { writer: 'eve' });
    expect(await state.getEntry('n')).toMatchObject({ value: 3, version: 2, writer: 'eve' });
    await state.increment('n');
    const entry = await state.getEntry('n');
    expect(entry).toMatchObject({ value: 4, version: 3 });
    expect(entry?.writer).toBeUndefined();
    expect(entry?.expiresAt).toBeDefined();
    await writerState.merge('m', { a: 1 });
    expect(await state.getEntry('m')).toMatchObject({ value: { a: 1 }, writer: 'dora' });
    // A replayed write far in the future keeps the entry's timestamp ahead of Redis' clock.
    const future = Date.now() + 3_600_000;
    await state.set('n', 10, { timestamp: future });
    await state.increment('n');
    expect((await state.set('n', 'old', { timestamp: future - 1 })).applied).toBe(false);
    await vi.waitFor(() => {
      expect(seen.map(({ version }) => version)).toEqual([1, 2, 3, 4, 5]);
    });
    expect(seen.slice(0, 3)).toEqual([
      { version: 1, writer: 'dora', value: 2 },
      { version: 2, writer: 'eve', value: 3 },
      { version: 3, writer: undefined, value: 4 },
    ]);
  });

  it('50 clients × 200 server-side increments → exactly 10,000', async () => {
    const clients = await createClients(50, uniqueNamespace());
    await Promise.all(
      clients.map(async (client) => {
        for (let n = 0; n < 200; n += 1) await client.increment('hits');
      }),
    );
    expect(await clients[0]!.getEntry('hits')).toMatchObject({ value: 10_000, version: 10_000 });
  });

  it('merges top-level keys; concurrent merges of different keys all land; undefined removes', async () => {
    const state = await createState();
    expect(await state.merge('owners', { 'a.ts': 'w1' })).toEqual({ value: { 'a.ts': 'w1' }, version: 1 });
    await Promise.all(Array.from({ length: 50 }, (_, n) => state.merge('owners', { [`f${n}.ts`]: `w${n}` })));
    const owners = (await state.get<Record<string, string>>('owners'))!;
    expect(Object.keys(owners)).toHaveLength(51);
    const merged = await state.merge('owners', {
      'a.ts': { by: 'w2', lines: [1, 2], q: 'say "hi" \\ {}[],:' },
      'f0.ts': undefined,
      'f1.ts': null,
    });
    expect(merged.value).toMatchObject({ 'a.ts': { by: 'w2', lines: [1, 2], q: 'say "hi" \\ {}[],:' }, 'f1.ts': null });
    expect(merged.value).not.toHaveProperty('f0.ts');
    expect(merged.version).toBe(52);
    expect(await state.get('owners')).toEqual(merged.value);
    // Merging into an empty object value, and keys with escapes.
    await state.set('empty', {});
    expect((await state.merge('empty', { 'é\n': 1 })).value).toEqual({ 'é\n': 1 });
  });

  it('refuses to merge into a value that is not an object, and a merge over the size limit', async () => {
    const manager = await createManager();
    const state = await createState({ maxValueBytes: 100 }, manager);
    await state.set('list', [1]);
    await state.set('text', 'a string');
    await expect(state.merge('list', { a: 1 })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
    await expect(state.merge('text', { a: 1 })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
    await state.merge('obj', { a: 'x'.repeat(60) });
    await expect(state.merge('obj', { b: 'y'.repeat(60) })).rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    expect(await state.getEntry('obj')).toMatchObject({ version: 1 });
    // Objects written by other tools with whitespace are not split: refused, never corrupted.
    const keys = stateKeys(manager.namespace, 'default');
    await manager.getConnection().hset(keys.entry('spaced'), 'value', '{ "a": 1 }', 'version', '1', 'updatedAt', '1');
    await expect(state.merge('spaced', { b: 1 })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
    await expect(state.increment('spaced', 1, { field: 'a' })).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
  });
});
