import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from '@shim/testing';
import { isStateError, StateManager } from '../src/index.js';
import { createManager, createState } from './helpers.js';

async function setup(options = {}) {
  const manager = await createManager();
  const state = await createState({ cleanupIntervalMs: 0, ...options }, manager);
  const nothingWritten = async (): Promise<void> => {
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  };
  return { manager, state, nothingWritten };
}

const cyclic: Record<string, unknown> = { a: 1 };
cyclic['self'] = cyclic;

describe('bad input is refused with a clear error and nothing is written', () => {
  it.each([
    ['an empty key', ''],
    ['a key with a newline', 'a\nb'],
    ['a key with NUL', 'a\u0000'],
    ['a key that is not a string', 42],
    ['a key over 1024 characters', 'k'.repeat(1025)],
    ['a lone surrogate', 'x\ud800'],
  ])('%s → INVALID_KEY', async (_name, key) => {
    const { state, nothingWritten } = await setup();
    for (const call of [
      () => state.set(key as string, 1),
      () => state.get(key as string),
      () => state.getEntry(key as string),
      () => state.has(key as string),
      () => state.delete(key as string),
      () => state.atomicUpdate(key as string, () => 1),
      () => state.increment(key as string),
      () => state.merge(key as string, { a: 1 }),
      () => state.subscribe(key as string, () => {}),
      () => state.lock(key as string),
      () => state.withLock(key as string, () => 1),
    ]) {
      await expect(call()).rejects.toMatchObject({ name: 'StateError', code: 'INVALID_KEY' });
    }
    await nothingWritten();
  });

  it.each([
    ['a BigInt', 10n, /bigint/],
    ['a cyclic object', cyclic, /cycle/],
    ['a function', () => 1, /function/],
    ['a nested function', { a: [1, () => 1] }, /value\.a\[1\] is a function/],
    ['undefined', undefined, /use delete/],
    ['NaN', { n: Number.NaN }, /NaN/],
    ['a Date', { when: new Date() }, /Date/],
    ['a Map', new Map(), /Map/],
    ['a symbol', Symbol('s'), /symbol/],
    ['an own __proto__ key', JSON.parse('{"__proto__":{"x":1}}') as unknown, /__proto__/],
    ['a nested own __proto__ key', JSON.parse('{"a":[{"__proto__":1}]}') as unknown, /__proto__/],
  ])('%s as a value → INVALID_VALUE', async (_name, value, message) => {
    const { state, nothingWritten } = await setup();
    const error: unknown = await state.set('k', value).catch((caught: unknown) => caught);
    expect(isStateError(error, 'INVALID_VALUE')).toBe(true);
    expect((error as Error).message).toMatch(message);
    await expect(state.atomicUpdate('k', () => value)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await nothingWritten();
  });

  it('a key merely containing "__proto__" text is fine', async () => {
    const { state } = await setup();
    await state.set('k', { 'x"__proto__': 1, text: '"__proto__":' });
    expect(await state.get('k')).toEqual({ 'x"__proto__': 1, text: '"__proto__":' });
  });

  it('a value over the size limit (default 1 MiB) → VALUE_TOO_LARGE', async () => {
    const { state, nothingWritten } = await setup();
    await expect(state.set('k', 'x'.repeat(1_048_576))).rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    await expect(state.set('k', 'é'.repeat(600_000))).rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    await expect(state.merge('k', { big: 'x'.repeat(1_048_576) })).rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    await nothingWritten();
    const small = await setup({ maxValueBytes: 10 });
    await expect(small.state.set('k', '12345678901')).rejects.toMatchObject({ code: 'VALUE_TOO_LARGE' });
    await small.state.set('k', '1234567');
  });

  it.each([0, -5, 1.5, Number.NaN, '100'])('ttlMs %j → INVALID_OPTION', async (ttlMs) => {
    const { state, nothingWritten } = await setup();
    await expect(state.set('k', 1, { ttlMs: ttlMs as number })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.increment('k', 1, { ttlMs: ttlMs as number })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.atomicUpdate('k', () => 1, { ttlMs: ttlMs as number })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(state.lock('k', { ttlMs: ttlMs as number })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await nothingWritten();
  });

  it('other bad arguments', async () => {
    const { state, nothingWritten } = await setup();
    await expect(state.atomicUpdate('k', 'not a function' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      key: 'k',
    });
    await expect(state.subscribe('k', null as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(state.set('k', 1, { ifVersion: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.set('k', 1, { timestamp: 1.5 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.set('k', 1, { writer: '' })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.atomicUpdate('k', () => 1, { maxAttempts: 0 })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    await expect(state.increment('k', 1.5)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(state.increment('k', '1' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(state.increment('k', 1, { field: '' })).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(state.increment('k', 1, { field: '__proto__' })).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(state.merge('k', [1] as never)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(state.merge('k', new Map() as never)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(state.merge('k', null as never)).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(state.merge('k', { f: () => 1 })).rejects.toMatchObject({ code: 'INVALID_VALUE' });
    await expect(state.merge('k', JSON.parse('{"__proto__":1}') as Record<string, unknown>)).rejects.toMatchObject({
      code: 'INVALID_VALUE',
    });
    await expect(state.subscribePrefix('a\tb', () => {})).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(state.keys('a\tb')).rejects.toMatchObject({ code: 'INVALID_KEY' });
    await expect(state.cleanup({ maxIdleMs: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(state.lock('k', { waitMs: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await nothingWritten();
  });
});

describe('options', () => {
  it('are validated at construction, naming the option', async () => {
    const manager = await createManager();
    expect(() => new StateManager({} as never)).toThrow(/RedisConnectionManager/);
    expect(() => new StateManager(manager, null as never)).toThrow(/options must be an object/);
    for (const [options, message] of [
      [{ scope: 'a b' }, /'scope'/],
      [{ scope: '{tag}' }, /'scope'/],
      [{ maxValueBytes: 0 }, /'maxValueBytes'/],
      [{ maxAttempts: 1.5 }, /'maxAttempts'/],
      [{ cleanupIntervalMs: -1 }, /'cleanupIntervalMs'/],
      [{ maxIdleMs: 0 }, /'maxIdleMs'/],
      [{ lockTtlMs: 2 }, /'lockTtlMs'/],
      [{ lockWaitMs: -1 }, /'lockWaitMs'/],
      [{ retryBaseDelayMs: 10, retryMaxDelayMs: 5 }, /'retryMaxDelayMs'/],
      [{ writer: 7 }, /'writer'/],
      [{ resyncOnReconnect: 'yes' }, /'resyncOnReconnect'/],
    ] as const) {
      expect(() => new StateManager(manager, options as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTION', message: expect.stringMatching(message) as string }),
      );
    }
  });
});
