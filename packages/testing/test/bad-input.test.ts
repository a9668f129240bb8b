import { describe, expect, it } from 'vitest';
import {
  BAD_NAMES,
  BadInputContext,
  badInputSuite,
  expectMentions,
  NESTED_UNFAITHFUL,
  outcomeOf,
  UNFAITHFUL,
  unservedManagerCases,
  type Case,
} from '../src/bad-input.js';
import { managedManager } from '../src/scope.js';
import { TinyManager } from './fixtures/tiny-manager.js';

class TinyError extends Error {
  constructor(
    readonly code: 'BAD_NAME' | 'BAD_VALUE' | 'NOT_CONNECTED' | 'MANAGER_CLOSED',
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** A tiny "package" whose `save(name, value)` refuses bad names and values before writing. */
class TinyStore {
  constructor(readonly manager: TinyManager) {}
  check(name: unknown): asserts name is string {
    if (typeof name !== 'string' || !/^\w+$/.test(name)) throw new TinyError('BAD_NAME', `bad name`, 'name');
  }
  async save(name: unknown, value: unknown): Promise<void> {
    this.check(name);
    if (this.manager.state === 'idle') throw new TinyError('NOT_CONNECTED', 'connect() first');
    if (this.manager.state !== 'connected') throw new TinyError('MANAGER_CLOSED', 'disconnected for good');
    if (typeof value !== 'number') throw new TinyError('BAD_VALUE', 'value is not faithful JSON', 'value');
    await this.manager.getConnection().set(`${this.manager.namespace}:${name}`, JSON.stringify(value));
  }
}

class Context extends BadInputContext<TinyManager> {
  readonly store = new TinyStore(this.manager);
}

const CASES: Array<Case<Context, 'BAD_NAME' | 'BAD_VALUE' | 'NOT_CONNECTED' | 'MANAGER_CLOSED'>> = [
  ...BAD_NAMES.map(([label, name]) => ({
    call: `check(<${label}>)`,
    run: (ctx: Context) => ctx.store.check(name),
    code: 'BAD_NAME' as const,
    mentions: '=bad name',
    props: { field: 'name' },
    sync: true,
  })),
  {
    call: 'save(<a Map>) (an unfaithful value)',
    run: (ctx) => ctx.store.save('k', new Map()),
    code: 'BAD_VALUE',
    mentions: /faithful/,
  },
  ...unservedManagerCases<TinyManager>(
    ["save('k', 1)", (spare) => new TinyStore(spare).save('k', 1)],
    ["save('k', 2)", (spare) => new TinyStore(spare).save('k', 2)],
  ),
];

const checked: string[] = [];

badInputSuite({
  name: 'badInputSuite',
  cases: CASES,
  manager: () => managedManager((base) => new TinyManager(base)),
  context: (manager) => new Context(manager, (base) => new TinyManager(base)),
  isError: (error, code) => error instanceof TinyError && error.code === code && code.startsWith('BAD_'),
  isConnectionError: (error, code) => error instanceof TinyError && error.code === code,
  check: (error, c) => {
    checked.push(`${c.call}: ${error.message}`);
  },
});

describe('bad-input harness', () => {
  it('ran the check hook for each case', () => {
    expect(checked).toHaveLength(CASES.length);
  });

  it('tells a throw, a rejection, a return and a resolution apart', async () => {
    const boom = new Error('boom');
    expect(
      await outcomeOf(() => {
        throw boom;
      }),
    ).toEqual({ how: 'threw', error: boom });
    expect(await outcomeOf(() => Promise.reject(boom))).toEqual({ how: 'rejected', error: boom });
    expect(await outcomeOf(() => 1)).toEqual({ how: 'returned' });
    expect(await outcomeOf(() => Promise.resolve(1))).toEqual({ how: 'resolved' });
  });

  it('checks mentions as text, exact text or a pattern', () => {
    expectMentions('invalid option maxBytes', 'maxBytes');
    expectMentions('exactly this', '=exactly this');
    expectMentions('got 42', /\d+/);
    expectMentions('anything', undefined);
    expect(() => expectMentions('exactly this, and more', '=exactly this')).toThrow();
    expect(() => expectMentions('other', /\d/)).toThrow();
  });

  it('makes values JSON would not carry faithfully, afresh on each call', () => {
    for (const [label, value] of [...UNFAITHFUL, ...NESTED_UNFAITHFUL]) {
      let copy: unknown;
      try {
        copy = JSON.parse(JSON.stringify(value()) ?? 'null') as unknown;
      } catch {
        continue; // a BigInt or a cycle: JSON refuses it
      }
      expect(copy, label).not.toStrictEqual(value());
    }
    expect(new Set(BAD_NAMES.map(([label]) => label)).size).toBe(BAD_NAMES.length);
  });
});
