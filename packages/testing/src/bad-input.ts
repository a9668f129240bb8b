/**
 * `@shim/testing/bad-input`: the one bad-input harness of the SHIM packages. A package lists its
 * cases (the call, the code it must be refused with, what the message must name) and
 * `badInputSuite` registers one test per case: on a fresh namespace, the call is refused the way
 * the case says (a synchronous throw or a rejected promise), with the right error, and writes no
 * key. It knows managers and errors by shape, so it depends on none of the packages it serves.
 * Import it from test files only (it imports the scope, which registers an `afterEach` hook).
 */
import { describe, expect, it } from 'vitest';
import { countNamespaceKeys } from './namespace.js';
import { onCleanup, sharedRedisUrl, type ManagerLike } from './scope.js';

/** One bad call and how it must be refused. */
export interface Case<TContext, TCode extends string = string> {
  /** The call, as a reader would write it. */
  call: string;
  run: (ctx: TContext) => unknown;
  /** The code the error must have (as `isError` decides). */
  code: TCode;
  /** What the message must contain, match, or (a string starting with '=') be exactly. */
  mentions?: string | RegExp;
  /** More properties the error must have. */
  props?: Record<string, unknown>;
  /** Puts the objects in the state the case needs, writing nothing. */
  before?: (ctx: TContext) => Promise<unknown>;
  /** A constructor or synchronous method: a synchronous throw is expected, not a rejection. */
  sync?: boolean;
}

export interface BadInputSuiteOptions<TManager extends ManagerLike, TContext, TCode extends string> {
  /** The `describe` title. */
  name: string;
  cases: ReadonlyArray<Case<TContext, TCode>>;
  /** A connected manager on a fresh namespace (deleted after the test), one per case. */
  manager: () => Promise<TManager>;
  /** The case's context on that manager. */
  context: (manager: TManager) => TContext;
  /** True when `error` is the package's error with `code`. */
  isError: (error: unknown, code: TCode) => boolean;
  /** The connection's guard, deciding the cases coded NOT_CONNECTED or MANAGER_CLOSED (else `isError` does). */
  isConnectionError?: (error: unknown, code: UnservedCode) => boolean;
  /** More assertions on every error (package-specific). */
  check?: (error: Error, c: Case<TContext, TCode>) => void;
}

/** The codes of a manager that cannot serve (see `unservedManagerCases`). */
export type UnservedCode = 'NOT_CONNECTED' | 'MANAGER_CLOSED';

/** How a call ended: thrown or rejected with `error`, or (wrongly) returned or resolved. */
export interface Outcome {
  how: 'threw' | 'rejected' | 'returned' | 'resolved';
  error?: unknown;
}

/** Calls `run`, telling a synchronous throw from a rejection of the promise it returns. */
export async function outcomeOf(run: () => unknown): Promise<Outcome> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return { how: 'threw', error };
  }
  if (!(result instanceof Promise)) return { how: 'returned' };
  return (result as Promise<unknown>).then(
    (): Outcome => ({ how: 'resolved' }),
    (error: unknown): Outcome => ({ how: 'rejected', error }),
  );
}

/** Fails the test unless `message` contains, matches or (`'=…'`) equals `mentions`. */
export function expectMentions(message: string, mentions: string | RegExp | undefined): void {
  if (typeof mentions === 'string' && mentions.startsWith('=')) expect(message).toBe(mentions.slice(1));
  else if (typeof mentions === 'string') expect(message).toContain(mentions);
  else if (mentions !== undefined) expect(message).toMatch(mentions);
}

/** Registers one test per case, named `call → code`: see the module comment for what each asserts. */
export function badInputSuite<TManager extends ManagerLike, TContext, TCode extends string>(
  options: BadInputSuiteOptions<TManager, TContext, TCode>,
): void {
  const { name, cases, manager: makeManager, context, isError, isConnectionError, check } = options;
  const unserved = (code: string): code is UnservedCode => code === 'NOT_CONNECTED' || code === 'MANAGER_CLOSED';
  const matches = (error: unknown, code: TCode): boolean =>
    isConnectionError !== undefined && unserved(code) ? isConnectionError(error, code) : isError(error, code);
  describe(name, () => {
    it.each(cases.map((c) => [`${c.call} → ${c.code}`, c] as const))('%s', async (_title, c) => {
      const manager = await makeManager();
      const ctx = context(manager);
      await c.before?.(ctx);
      const { how, error } = await outcomeOf(() => c.run(ctx));
      // A Promise-returning method refuses by rejecting; a constructor or sync method by throwing.
      expect(how, String(error)).toBe(c.sync === true ? 'threw' : 'rejected');
      expect(error).toBeInstanceOf(Error);
      const refused = error as Error & { code?: unknown };
      expect(matches(error, c.code), `${refused.name} ${String(refused.code)}: ${refused.message}`).toBe(true);
      expect(refused.message.trim()).not.toBe('');
      expectMentions(refused.message, c.mentions);
      if (c.props !== undefined) expect(error).toMatchObject(c.props);
      check?.(refused, c);
      expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
    });
  });
}

/**
 * A case's context: its manager, and a spare one on the same namespace (anything it wrote would be
 * counted) made by `makeManager` on first use, not connected, disconnected after the test.
 */
export class BadInputContext<TManager extends ManagerLike> {
  readonly manager: TManager;
  readonly #makeManager: (base: { url: string; namespace: string }) => TManager;
  #spare: TManager | undefined;

  constructor(manager: TManager, makeManager: (base: { url: string; namespace: string }) => TManager) {
    this.manager = manager;
    this.#makeManager = makeManager;
  }

  spare(): TManager {
    if (this.#spare === undefined) {
      const spare = this.#makeManager({ url: sharedRedisUrl(), namespace: this.manager.namespace });
      onCleanup(() => spare.disconnect());
      this.#spare = spare;
    }
    return this.#spare;
  }
}

/** A call on a manager, as `[the call as a reader would write it, the call]`. */
export type ManagerCall<TManager> = readonly [call: string, run: (manager: TManager) => unknown];

/**
 * The two cases of a manager that cannot serve: `notConnected` on the spare manager before
 * `connect()` (NOT_CONNECTED), `disconnected` on it after `disconnect()` (MANAGER_CLOSED). The
 * connection's errors must reach the caller unchanged.
 */
export function unservedManagerCases<TManager extends ManagerLike>(
  notConnected: ManagerCall<TManager>,
  disconnected: ManagerCall<TManager>,
): Array<Case<BadInputContext<TManager>, UnservedCode>> {
  return [
    {
      call: `${notConnected[0]} on a manager not connected`,
      run: (ctx) => notConnected[1](ctx.spare()),
      code: 'NOT_CONNECTED',
    },
    {
      call: `${disconnected[0]} on a disconnected manager`,
      before: async (ctx) => {
        await ctx.spare().connect();
        await ctx.spare().disconnect();
      },
      run: (ctx) => disconnected[1](ctx.spare()),
      code: 'MANAGER_CLOSED',
    },
  ];
}

/** An object that holds itself (`{ a: 1, self: <itself> }`). */
export function cycle(): Record<string, unknown> {
  const object: Record<string, unknown> = { a: 1 };
  object['self'] = object;
  return object;
}

class Point {}

/** Names every validator refuses: empty, not a string, control characters. */
export const BAD_NAMES: ReadonlyArray<readonly [label: string, value: unknown]> = [
  ['""', ''],
  ['42', 42],
  ['undefined', undefined],
  ['a newline', 'a\nb'],
  ['a tab', 'a\tb'],
  ['NUL', 'a\u0000b'],
  ['a C1 control', 'a\u0085b'],
];

/** Values JSON would not carry faithfully (made afresh per call). */
export const UNFAITHFUL: ReadonlyArray<readonly [label: string, value: () => unknown]> = [
  ['undefined', () => undefined],
  ['a BigInt', () => 10n],
  ['a cycle', cycle],
  ['a function', () => () => 1],
  ['a symbol', () => Symbol('s')],
  ['NaN', () => Number.NaN],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['a Date', () => new Date(0)],
  ['a Map', () => new Map([[1, 2]])],
  ['a Set', () => new Set([1])],
  ['a class instance', () => new Point()],
  ['{ a: undefined }', () => ({ a: undefined })],
  ['[1, undefined]', () => [1, undefined]],
  ['a symbol key', () => ({ [Symbol('k')]: 1 })],
];

/** Unfaithful values nested in a faithful one, with the path a message must name (after the root). */
export const NESTED_UNFAITHFUL: ReadonlyArray<readonly [label: string, value: () => unknown, path: string]> = [
  ['a nested Date', () => ({ items: [1, 2, { when: new Date(0) }] }), 'items[2].when'],
  ['a nested BigInt', () => ({ a: { b: 1n } }), 'a.b'],
  ['a nested cycle', () => ({ a: cycle() }), 'a.self'],
  ['a nested function', () => ({ list: [() => 1] }), 'list[0]'],
];
