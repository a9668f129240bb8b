import { describe, expect, it } from 'vitest';
import { countNamespaceKeys, uniqueNamespace } from '@shim/testing';
import { StateManager, stateKeys } from '../src/index.js';
import { redisNow } from '@shim/testing/scope';
import { createManager, createState } from './helpers.js';

describe('get, set, delete, has', () => {
  it('stores JSON values with versions, Redis time and writer', async () => {
    const manager = await createManager();
    const state = await createState({ writer: 'alice' }, manager);
    const before = await redisNow(manager.getConnection());
    const written = await state.set('plan', { steps: ['a', 'b'], n: 1.5, ok: true, none: null, deep: { x: [] } });
    const after = await redisNow(manager.getConnection());
    expect(written).toMatchObject({ version: 1, applied: true });
    expect(written.updatedAt).toBeGreaterThanOrEqual(before);
    expect(written.updatedAt).toBeLessThanOrEqual(after);
    expect(await state.getEntry('plan')).toEqual({
      value: { steps: ['a', 'b'], n: 1.5, ok: true, none: null, deep: { x: [] } },
      version: 1,
      updatedAt: written.updatedAt,
      writer: 'alice',
    });
    expect((await state.set('plan', 2, { writer: 'bob' })).version).toBe(2);
    expect(await state.getEntry('plan')).toMatchObject({ value: 2, version: 2, writer: 'bob' });
    expect(await state.has('plan')).toBe(true);
    expect(await state.delete('plan')).toBe(true);
    expect(await state.get('plan')).toBeUndefined();
    expect(await state.getEntry('plan')).toBeUndefined();
    expect(await state.has('plan')).toBe(false);
    expect(await state.delete('plan')).toBe(false);
    // A new entry after a delete starts again at version 1.
    expect((await state.set('plan', 'again')).version).toBe(1);
  });

  it('treats null as a value and undefined as absent', async () => {
    const state = await createState();
    await state.set('nothing', null);
    expect(await state.get('nothing')).toBeNull();
    expect(await state.has('nothing')).toBe(true);
    expect(await state.getEntry('nothing')).toMatchObject({ value: null, version: 1 });
    expect(await state.get('missing')).toBeUndefined();
    expect(await state.has('missing')).toBe(false);
  });

  it('keeps every JSON type, unicode and big strings exactly', async () => {
    const state = await createState();
    const values: unknown[] = [
      0,
      -1.25e-7,
      Number.MAX_SAFE_INTEGER,
      '',
      'ü-λ-🦊 "quoted" \\ \n',
      true,
      false,
      [],
      {},
      [1, [2, [3, { a: null }]]],
      'x'.repeat(500_000),
    ];
    for (const [index, value] of values.entries()) {
      await state.set(`v${index}`, value);
      expect(await state.get(`v${index}`)).toEqual(value);
    }
  });

  it('drops the writer when a later write names none, and takes a per-write writer', async () => {
    const state = await createState();
    await state.set('k', 1, { writer: 'carol' });
    expect((await state.getEntry('k'))?.writer).toBe('carol');
    await state.set('k', 2);
    const entry = await state.getEntry('k');
    expect(entry).toEqual({ value: 2, version: 2, updatedAt: entry!.updatedAt });
  });

  it('stores each entry in a Redis hash under the scope hash tag, with an index, and leaves no key after delete', async () => {
    const manager = await createManager();
    const state = await createState({ scope: 'job-1' }, manager);
    await state.set('a/b', { x: 1 });
    const keys = stateKeys(manager.namespace, 'job-1');
    const redis = manager.getConnection();
    expect(await redis.type(keys.entry('a/b'))).toBe('hash');
    expect(await redis.hget(keys.entry('a/b'), 'value')).toBe('{"x":1}');
    expect(await redis.zscore(keys.index, 'a/b')).not.toBeNull();
    expect(keys.entry('a/b')).toContain(`{${manager.namespace}:job-1}`);
    await state.delete('a/b');
    expect(await countNamespaceKeys(redis, manager.namespace)).toBe(0);
  });
});

describe('listing', () => {
  it('lists keys and entries under a prefix from the index (no KEYS), sorted, without deleted ones', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    await state.set('files/b.ts', 'bob');
    await state.set('files/a.ts', 'alice');
    await state.set('files*/odd', 'glob');
    await state.set('plan', 1);
    await state.set('files/gone', 0);
    await state.delete('files/gone');
    expect(await state.keys('files/')).toEqual(['files/a.ts', 'files/b.ts']);
    expect(await state.keys('files*')).toEqual(['files*/odd']);
    expect(await state.keys()).toEqual(['files*/odd', 'files/a.ts', 'files/b.ts', 'plan']);
    const entries = await state.entries<string>('files/');
    expect(entries.map(({ key, value, version }) => ({ key, value, version }))).toEqual([
      { key: 'files/a.ts', value: 'alice', version: 1 },
      { key: 'files/b.ts', value: 'bob', version: 1 },
    ]);
    expect(await state.keys('nothing/')).toEqual([]);
  });

  it('lists thousands of keys in batches', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const pipeline = manager.getConnection().pipeline();
    // Written by hand for speed, in the layout the scripts use.
    const keys = stateKeys(manager.namespace, 'default');
    for (let n = 0; n < 1_200; n += 1) {
      const key = `item:${String(n).padStart(4, '0')}`;
      pipeline.hset(keys.entry(key), 'value', String(n), 'version', '1', 'updatedAt', '1', 'timestamp', '1');
      pipeline.zadd(keys.index, 1, key);
    }
    await pipeline.exec();
    const listed = await state.entries<number>('item:');
    expect(listed).toHaveLength(1_200);
    expect(listed[1_199]).toMatchObject({ key: 'item:1199', value: 1199 });
    // A key of another type where an entry should be: the error comes out, not a wrong list.
    await manager.getConnection().set(keys.entry('item:0000'), 'not a hash');
    await expect(state.entries('item:')).rejects.toThrow(/WRONGTYPE/);
  });
});

describe('namespaces and scopes', () => {
  it('isolates scopes and namespaces from each other', async () => {
    const namespace = uniqueNamespace();
    const managerA = await createManager({ namespace });
    const managerB = await createManager({ namespace });
    const other = await createManager();
    const a = await createState({ scope: 'a' }, managerA);
    const b = await createState({ scope: 'b' }, managerB);
    const sameScopeOtherNamespace = await createState({ scope: 'a' }, other);
    await a.set('k', 'a');
    await b.set('k', 'b');
    expect(await a.get('k')).toBe('a');
    expect(await b.get('k')).toBe('b');
    expect(await sameScopeOtherNamespace.get('k')).toBeUndefined();
    expect(await sameScopeOtherNamespace.keys()).toEqual([]);
    expect(a.scope).toBe('a');
    expect(new StateManager(managerA).scope).toBe('default');
  });
});

describe('prototype pollution', () => {
  it('never lets a stored __proto__ key become a prototype', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const keys = stateKeys(manager.namespace, 'default');
    // Written by another tool: the package itself refuses such values.
    await manager
      .getConnection()
      .hset(
        keys.entry('evil'),
        'value',
        '{"__proto__":{"polluted":true},"a":{"__proto__":{"x":1}}}',
        'version',
        '1',
        'updatedAt',
        '1',
      );
    const value = await state.get<Record<string, unknown>>('evil');
    expect(value).toEqual({ a: {} });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(value!['a'])).toBe(Object.prototype);
  });

  it('drops a stored __proto__ key written with \\u escapes too', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const keys = stateKeys(manager.namespace, 'default');
    // JSON.parse decodes "\u005f_proto__" to "__proto__" and makes it an own property.
    const text = '{"\\u005f_proto__":{"polluted":true},"a":[{"__pr\\u006fto__":1}]}';
    expect(Object.hasOwn(JSON.parse(text) as object, '__proto__')).toBe(true);
    await manager.getConnection().hset(keys.entry('escaped'), 'value', text, 'version', '1', 'updatedAt', '1');
    const value = await state.get<Record<string, unknown>>('escaped');
    expect(Object.hasOwn(value!, '__proto__')).toBe(false);
    expect(Object.hasOwn((value!['a'] as object[])[0]!, '__proto__')).toBe(false);
    expect(value).toEqual({ a: [{}] });
  });

  it('reports data that is not JSON as MALFORMED_DATA', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const keys = stateKeys(manager.namespace, 'default');
    await manager.getConnection().hset(keys.entry('bad'), 'value', '{not json', 'version', '1', 'updatedAt', '1');
    await expect(state.get('bad')).rejects.toMatchObject({ code: 'MALFORMED_DATA', key: 'bad' });
  });
});
