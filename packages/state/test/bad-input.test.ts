// Every bad input the README lists (and the obvious ones), on every public method that takes it:
// refused with the documented code, a message naming what is at fault, and nothing written to
// Redis. Each case runs on a fresh namespace with a state manager that made no valid call.
import { describe, expect, it } from 'vitest';
import { isConnectionError, RedisConnectionManager, type ConnectionErrorCode } from '@shim/connection';
import {
  BAD_NAMES,
  BadInputContext,
  badInputSuite,
  NESTED_UNFAITHFUL,
  UNFAITHFUL as UNFAITHFUL_VALUES,
  unservedManagerCases,
  type Case as BadInputCase,
} from '@shim/testing/bad-input';
import { closeAfter } from '@shim/testing/scope';
import { isStateError, StateManager, type StateErrorCode, type StateManagerOptions } from '../src/index.js';
import { createManager, createState } from './helpers.js';

class Context extends BadInputContext<RedisConnectionManager> {
  #default: StateManager | undefined;

  /** The case's state manager (scope `sweep`), or a new one with `options`. */
  state(options?: StateManagerOptions): StateManager {
    if (options !== undefined) return closeAfter(new StateManager(this.manager, { scope: 'sweep', ...options }));
    this.#default ??= closeAfter(new StateManager(this.manager, { scope: 'sweep' }));
    return this.#default;
  }
}

/** A `StateError` or connection code, or (PascalCase) the `name` of an error without one. */
type Case = BadInputCase<Context, StateErrorCode | ConnectionErrorCode | 'UpdaterFailed'>;

class Point {
  readonly x = 1;
}

class UpdaterFailed extends Error {
  override readonly name = 'UpdaterFailed';
}

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < levels; level += 1) value = { d: value };
  return value;
}

/** What the message says about some of the values JSON would not keep exactly. */
const SAYS: Readonly<Record<string, RegExp>> = {
  undefined: /use delete/,
  'a BigInt': /bigint/,
  'a cycle': /cycle/,
  'a function': /function/,
  'a symbol': /symbol/,
  NaN: /NaN/,
  '{ n: NaN }': /NaN/,
  'a Date': /Date/,
  'a Map': /Map/,
  "an own '__proto__' key": /__proto__/,
  "a nested own '__proto__' key": /__proto__/,
};

/** Values JSON would not keep exactly (the shared ones and the state's own), with what the message says. */
const UNFAITHFUL: ReadonlyArray<readonly [label: string, value: () => unknown, message: RegExp | undefined]> = (
  [
    ...UNFAITHFUL_VALUES,
    ['{ n: NaN }', () => ({ n: Number.NaN })],
    ['-Infinity', () => Number.NEGATIVE_INFINITY],
    ["an own '__proto__' key", () => JSON.parse('{"__proto__":{"x":1}}') as unknown],
    ["a nested own '__proto__' key", () => JSON.parse('{"a":[{"__proto__":1}]}') as unknown],
    ['nesting 300 levels deep', () => nested(300)],
  ] as ReadonlyArray<readonly [string, () => unknown]>
).map(([label, value]) => [label, value, SAYS[label]] as const);

/** Nested bad values whose path the message must name. */
const NESTED: ReadonlyArray<readonly [label: string, value: () => unknown, path: string]> = [
  ...NESTED_UNFAITHFUL,
  ['a function in an array', () => ({ a: [1, () => 1] }), 'a[1] is a function'],
];

/** TTLs every method that takes one refuses (`ttlMs ≥ 1`; locks need at least 3 ms). */
const BAD_TTLS: ReadonlyArray<readonly [label: string, options: unknown, mentions: string]> = [
  ['{ ttlMs: 0 }', { ttlMs: 0 }, 'ttlMs'],
  ['{ ttlMs: -5 }', { ttlMs: -5 }, 'ttlMs'],
  ['{ ttlMs: 1.5 }', { ttlMs: 1.5 }, 'ttlMs'],
  ['{ ttlMs: NaN }', { ttlMs: Number.NaN }, 'ttlMs'],
  ["{ ttlMs: '100' }", { ttlMs: '100' }, 'ttlMs'],
];

const BAD_KEYS: ReadonlyArray<readonly [label: string, value: unknown]> = [
  ...BAD_NAMES,
  ['a lone surrogate', 'k\uD800'],
  ['1025 characters', 'k'.repeat(1_025)],
];

type Call = (state: StateManager, input: never) => unknown;

const KEY_METHODS: ReadonlyArray<[method: string, call: Call]> = [
  ['get', (state, key) => state.get(key)],
  ['set', (state, key) => state.set(key, 1)],
  ['has', (state, key) => state.has(key)],
  ['getEntry', (state, key) => state.getEntry(key)],
  ['delete', (state, key) => state.delete(key)],
  ['atomicUpdate', (state, key) => state.atomicUpdate(key, () => 1)],
  ['increment', (state, key) => state.increment(key)],
  ['merge', (state, key) => state.merge(key, { a: 1 })],
  ['subscribe', (state, key) => state.subscribe(key, () => {})],
  ['lock', (state, name) => state.lock(name)],
  ['withLock', (state, name) => state.withLock(name, () => 1)],
];

/** Every method that takes an options object, with that argument. */
const OPTION_METHODS: ReadonlyArray<[method: string, call: Call]> = [
  ['set', (state, options) => state.set('k', 1, options)],
  ['delete', (state, options) => state.delete('k', options)],
  ['atomicUpdate', (state, options) => state.atomicUpdate('k', () => 1, options)],
  ['increment', (state, options) => state.increment('k', 1, options)],
  ['merge', (state, options) => state.merge('k', { a: 1 }, options)],
  ['cleanup', (state, options) => state.cleanup(options)],
  ['lock', (state, options) => state.lock('l', options)],
  ['withLock', (state, options) => state.withLock('l', () => 1, options)],
];

/** `[label, input, what the message names]` cases of one method, each expecting `code`. */
function casesOf(
  [method, call]: readonly [method: string, call: Call],
  code: StateErrorCode,
  inputs: ReadonlyArray<readonly [label: string, input: unknown, mentions: string | RegExp]>,
): Case[] {
  return inputs.map(([label, input, mentions]) => ({
    call: `StateManager.${method}(${label})`,
    run: (ctx: Context) => call(ctx.state(), input as never),
    code,
    mentions,
  }));
}

const CASES: Case[] = [
  // construction
  {
    call: 'new StateManager(null)',
    run: () => new StateManager(null as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  {
    call: 'new StateManager({})',
    run: () => new StateManager({} as never),
    code: 'INVALID_OPTION',
    mentions: /RedisConnectionManager/,
    sync: true,
  },
  ...(
    [
      ['null', null, /options must be an object/],
      ["{ scope: '' }", { scope: '' }, 'scope'],
      ["{ scope: 'a b' }", { scope: 'a b' }, 'scope'],
      ["{ scope: '{s}' }", { scope: '{s}' }, 'scope'],
      ["{ scope: 's*' }", { scope: 's*' }, 'scope'],
      ['{ scope: 42 }', { scope: 42 }, 'scope'],
      ["{ writer: '' }", { writer: '' }, 'writer'],
      ['{ writer: 42 }', { writer: 42 }, 'writer'],
      ['{ writer: 257 characters }', { writer: 'w'.repeat(257) }, 'writer'],
      ['{ maxValueBytes: 0 }', { maxValueBytes: 0 }, 'maxValueBytes'],
      ['{ maxValueBytes: NaN }', { maxValueBytes: Number.NaN }, 'maxValueBytes'],
      ['{ maxAttempts: 0 }', { maxAttempts: 0 }, 'maxAttempts'],
      ['{ maxAttempts: 1.5 }', { maxAttempts: 1.5 }, 'maxAttempts'],
      ['{ retryBaseDelayMs: -1 }', { retryBaseDelayMs: -1 }, 'retryBaseDelayMs'],
      ['{ retryBaseDelayMs: 10, retryMaxDelayMs: 5 }', { retryBaseDelayMs: 10, retryMaxDelayMs: 5 }, 'retryMaxDelayMs'],
      ['{ cleanupIntervalMs: -1 }', { cleanupIntervalMs: -1 }, 'cleanupIntervalMs'],
      ['{ cleanupIntervalMs: 1.5 }', { cleanupIntervalMs: 1.5 }, 'cleanupIntervalMs'],
      ['{ maxIdleMs: 0 }', { maxIdleMs: 0 }, 'maxIdleMs'],
      ['{ lockTtlMs: 2 }', { lockTtlMs: 2 }, 'lockTtlMs'],
      ['{ lockWaitMs: -1 }', { lockWaitMs: -1 }, 'lockWaitMs'],
      ["{ resyncOnReconnect: 'yes' }", { resyncOnReconnect: 'yes' }, 'resyncOnReconnect'],
    ] as Array<[string, unknown, string | RegExp]>
  ).map(([label, options, mentions]) => ({
    call: `new StateManager(manager, ${label})`,
    run: (ctx: Context) => new StateManager(ctx.manager, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: typeof mentions === 'string' ? `'${mentions}'` : mentions,
    sync: true,
  })),
  // keys and lock names, on every method that takes one
  ...KEY_METHODS.flatMap(([method, call]) =>
    casesOf(
      [method, call],
      'INVALID_KEY',
      BAD_KEYS.map(([label, key]) => [`<${label}>`, key, method.includes('ock') ? 'lock name' : 'key'] as const),
    ),
  ),
  // values
  ...UNFAITHFUL.flatMap(([label, value, message]): Case[] => [
    {
      call: `StateManager.set('k', <${label}>)`,
      run: (ctx) => ctx.state().set('k', value()),
      code: 'INVALID_VALUE',
      mentions: message ?? 'value',
    },
    {
      call: `StateManager.atomicUpdate('k', () => <${label}>)`,
      run: (ctx) => ctx.state().atomicUpdate('k', () => value()),
      code: 'INVALID_VALUE',
      mentions: message ?? 'updater result',
    },
  ]),
  ...NESTED.map(([label, value, path]): Case => ({
    call: `StateManager.set('k', <${label}>)`,
    run: (ctx) => ctx.state().set('k', value()),
    code: 'INVALID_VALUE',
    mentions: `value.${path}`,
  })),
  {
    call: "StateManager.set('k', <1 MiB string>) (default maxValueBytes)",
    run: (ctx) => ctx.state().set('k', 'x'.repeat(1_048_576)),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  {
    call: "StateManager.set('k', <600,000 × 'é': 1.2 MB of UTF-8>)",
    run: (ctx) => ctx.state().set('k', 'é'.repeat(600_000)),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  {
    call: "StateManager.set('k', <11 bytes>) with { maxValueBytes: 10 }",
    run: (ctx) => ctx.state({ maxValueBytes: 10 }).set('k', '123456789'),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  // options objects
  ...OPTION_METHODS.flatMap(([method, call]) =>
    casesOf([method, call], 'INVALID_OPTION', [
      ['null', null, /^options must be an object, got null$/],
      ['42', 42, /^options must be an object, got number$/],
    ]),
  ),
  ...(
    [
      ['set', (state, options) => state.set('k', 1, options)],
      ['atomicUpdate', (state, options) => state.atomicUpdate('k', () => 1, options)],
      ['increment', (state, options) => state.increment('k', 1, options)],
      ['merge', (state, options) => state.merge('k', { a: 1 }, options)],
      ['lock', (state, options) => state.lock('l', options)],
      ['withLock', (state, options) => state.withLock('l', () => 1, options)],
    ] as ReadonlyArray<[string, Call]>
  ).flatMap(([method, call]) => casesOf([method, call], 'INVALID_OPTION', BAD_TTLS)),
  ...casesOf(['set', (state, options) => state.set('k', 1, options)], 'INVALID_OPTION', [
    ['{ ifVersion: -1 }', { ifVersion: -1 }, 'ifVersion'],
    ['{ ifVersion: 1.5 }', { ifVersion: 1.5 }, 'ifVersion'],
    ['{ ifVersion: NaN }', { ifVersion: Number.NaN }, 'ifVersion'],
    ['{ timestamp: -1 }', { timestamp: -1 }, 'timestamp'],
    ['{ timestamp: 1.5 }', { timestamp: 1.5 }, 'timestamp'],
    ['{ timestamp: NaN }', { timestamp: Number.NaN }, 'timestamp'],
    ["{ writer: '' }", { writer: '' }, 'writer'],
    ['{ writer: 42 }', { writer: 42 }, 'writer'],
  ]),
  {
    call: "StateManager.set('k', 1, { ifVersion: 1 }) (the key is absent)",
    run: (ctx) => ctx.state().set('k', 1, { ifVersion: 1 }),
    code: 'CONFLICT',
    mentions: 'expected version 1',
    props: { name: 'StateConflictError', expectedVersion: 1, actualVersion: 0 },
  },
  ...casesOf(['delete', (state, options) => state.delete('k', options)], 'INVALID_OPTION', [
    ['{ timestamp: NaN }', { timestamp: Number.NaN }, 'timestamp'],
  ]),
  // atomicUpdate
  ...casesOf(['atomicUpdate', (state, updater) => state.atomicUpdate('k', updater)], 'INVALID_ARGUMENT', [
    ["'k', null", null, 'updater'],
    ["'k', 'updater'", 'updater', 'updater'],
    ["'k', 42", 42, 'updater'],
  ]).map((c) => ({ ...c, props: { key: 'k' } })),
  ...casesOf(['atomicUpdate', (state, options) => state.atomicUpdate('k', () => 1, options)], 'INVALID_OPTION', [
    ['{ maxAttempts: 0 }', { maxAttempts: 0 }, 'maxAttempts'],
    ['{ maxAttempts: NaN }', { maxAttempts: Number.NaN }, 'maxAttempts'],
    ["{ writer: '' }", { writer: '' }, 'writer'],
  ]),
  {
    call: "StateManager.atomicUpdate('k', () => { throw }) (the updater's own error comes out unchanged)",
    run: (ctx) =>
      ctx.state().atomicUpdate('k', () => {
        throw new UpdaterFailed('the updater said no');
      }),
    code: 'UpdaterFailed',
    mentions: 'the updater said no',
  },
  // increment / merge
  ...casesOf(['increment', (state, by) => state.increment('k', by)], 'INVALID_ARGUMENT', [
    ["'k', 1.5", 1.5, 'increment'],
    ["'k', NaN", Number.NaN, 'increment'],
    ["'k', Infinity", Number.POSITIVE_INFINITY, 'increment'],
    ["'k', 2 ** 53", 2 ** 53, 'increment'],
    ["'k', '1'", '1', 'increment'],
    ["'k', 1n", 1n, 'increment'],
  ]),
  ...casesOf(['increment', (state, field) => state.increment('k', 1, { field })], 'INVALID_KEY', [
    ["{ field: '' }", '', 'field'],
    ["{ field: '__proto__' }", '__proto__', 'field'],
    ['{ field: 42 }', 42, 'field'],
    ['{ field: <a newline> }', 'a\nb', 'field'],
  ]),
  ...casesOf(['increment', (state, options) => state.increment('k', 1, options)], 'INVALID_OPTION', [
    ['{ writer: 42 }', { writer: 42 }, 'writer'],
  ]),
  ...casesOf(['merge', (state, options) => state.merge('k', { a: 1 }, options)], 'INVALID_OPTION', [
    ['{ writer: 42 }', { writer: 42 }, 'writer'],
  ]),
  ...casesOf(['merge', (state, patch) => state.merge('k', patch)], 'INVALID_VALUE', [
    ["'k', null", null, 'patch'],
    ["'k', [1, 2]", [1, 2], 'patch'],
    ["'k', 'patch'", 'patch', 'patch'],
    ["'k', 42", 42, 'patch'],
    ["'k', <a Map>", new Map(), 'patch'],
    ["'k', <a Date>", new Date(0), 'patch'],
    ["'k', <a class instance>", new Point(), 'patch'],
    ["'k', { a: 1n }", { a: 1n }, 'patch'],
    ["'k', { a: NaN }", { a: Number.NaN }, 'patch'],
    ["'k', { a: { when: <a Date> } }", { a: { when: new Date(0) } }, 'patch'],
    ["'k', { f: () => 1 }", { f: () => 1 }, 'patch'],
    ["'k', { __proto__: … } (own key)", JSON.parse('{"__proto__":{"x":1}}'), 'patch'],
  ]),
  {
    call: "StateManager.merge('k', { big: <1 MiB string> })",
    run: (ctx) => ctx.state().merge('k', { big: 'x'.repeat(1_048_576) }),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  // listing, cleanup, subscriptions
  ...(
    [
      ['42', 42],
      ['a newline', 'a\nb'],
      ['a tab', 'a\tb'],
      ['NUL', '\u0000'],
      ['1025 characters', 'p'.repeat(1_025)],
    ] as const
  ).flatMap(([label, prefix]) =>
    (
      [
        ['keys', (state, input) => state.keys(input)],
        ['entries', (state, input) => state.entries(input)],
        ['subscribePrefix', (state, input) => state.subscribePrefix(input, () => {})],
      ] as ReadonlyArray<[string, Call]>
    ).flatMap(([method, call]) => casesOf([method, call], 'INVALID_KEY', [[`<prefix: ${label}>`, prefix, 'prefix']])),
  ),
  ...casesOf(['cleanup', (state, options) => state.cleanup(options)], 'INVALID_OPTION', [
    ['{ maxIdleMs: 0 }', { maxIdleMs: 0 }, 'maxIdleMs'],
    ['{ maxIdleMs: NaN }', { maxIdleMs: Number.NaN }, 'maxIdleMs'],
    ['{ maxIdleMs: -1 }', { maxIdleMs: -1 }, 'maxIdleMs'],
  ]),
  ...(
    [
      ['null', null],
      ["'handler'", 'handler'],
      ['undefined', undefined],
    ] as const
  ).flatMap(([label, handler]) => [
    ...casesOf(['subscribe', (state, input) => state.subscribe('k', input)], 'INVALID_ARGUMENT', [
      [`'k', ${label}`, handler, 'handler'],
    ]),
    ...casesOf(['subscribePrefix', (state, input) => state.subscribePrefix('', input)], 'INVALID_ARGUMENT', [
      [`'', ${label}`, handler, 'handler'],
    ]),
    ...casesOf(['withLock', (state, input) => state.withLock('l', input)], 'INVALID_ARGUMENT', [
      [`'l', ${label}`, handler, 'fn'],
    ]),
  ]),
  // locks
  ...(
    [
      ['{ ttlMs: 2 }', { ttlMs: 2 }, 'ttlMs'],
      ['{ waitMs: -1 }', { waitMs: -1 }, 'waitMs'],
      ['{ waitMs: 1.5 }', { waitMs: 1.5 }, 'waitMs'],
      ["{ waitMs: '10' }", { waitMs: '10' }, 'waitMs'],
    ] as const
  ).flatMap((input) => [
    ...casesOf(['lock', (state, options) => state.lock('l', options)], 'INVALID_OPTION', [input]),
    ...casesOf(['withLock', (state, options) => state.withLock('l', () => 1, options)], 'INVALID_OPTION', [input]),
  ]),
  // a closed state manager, a manager not connected or disconnected
  ...(
    [
      ["get('k')", (state) => state.get('k')],
      ["set('k', 1)", (state) => state.set('k', 1)],
      ["delete('k')", (state) => state.delete('k')],
      ["atomicUpdate('k', fn)", (state) => state.atomicUpdate('k', () => 1)],
      ["increment('k')", (state) => state.increment('k')],
      ["merge('k', { a: 1 })", (state) => state.merge('k', { a: 1 })],
      ['keys()', (state) => state.keys()],
      ['cleanup()', (state) => state.cleanup()],
      ["subscribe('k', handler)", (state) => state.subscribe('k', () => {})],
      ["subscribePrefix('', handler)", (state) => state.subscribePrefix('', () => {})],
      ["lock('l')", (state) => state.lock('l')],
      ["withLock('l', fn)", (state) => state.withLock('l', () => 1)],
    ] as ReadonlyArray<[string, (state: StateManager) => unknown]>
  ).map(([label, call]): Case => ({
    call: `StateManager.${label} after close()`,
    before: (ctx) => ctx.state().close(),
    run: (ctx) => call(ctx.state()),
    code: 'STATE_CLOSED',
    mentions: 'closed',
  })),
  ...unservedManagerCases<RedisConnectionManager>(
    ["StateManager.get('k')", (spare) => closeAfter(new StateManager(spare)).get('k')],
    ["StateManager.set('k', 1)", (spare) => closeAfter(new StateManager(spare)).set('k', 1)],
  ),
];

badInputSuite({
  name: 'bad input is refused with a clear error, and nothing is written',
  cases: CASES,
  manager: () => createManager(),
  context: (manager) => new Context(manager, (base) => new RedisConnectionManager(base)),
  isError: (error, code) => {
    if (/^[A-Z][a-z]/.test(code)) return error instanceof Error && error.name === code;
    return isStateError(error, code as StateErrorCode);
  },
  isConnectionError,
  // Bad input is a StateError itself; only the retryable failures have their own classes.
  check: (error, c) => {
    if (/^INVALID_|^VALUE_TOO_LARGE$/.test(c.code)) expect(error.name).toBe('StateError');
  },
});

describe('bad input: what is fine', () => {
  it('a key merely containing "__proto__" text is fine', async () => {
    const state = await createState();
    await state.set('k', { 'x"__proto__': 1, text: '"__proto__":' });
    expect(await state.get('k')).toEqual({ 'x"__proto__': 1, text: '"__proto__":' });
  });

  it('a value just within maxValueBytes is written', async () => {
    const state = await createState({ maxValueBytes: 10 });
    expect((await state.set('k', '1234567')).version).toBe(1);
  });

  it('afterwards the process still does a valid round trip', async () => {
    const state = await createState();
    await state.set('plan', 'text');
    await expect(state.increment('plan')).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
    expect(await state.getEntry('plan')).toMatchObject({ value: 'text', version: 1 });
    expect(await state.withLock('resource', ({ fencingToken }) => fencingToken)).toBeGreaterThan(0);
  });
});
