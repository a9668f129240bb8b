import { describe, expect, it } from 'vitest';
import { isFaithfulJson, jsonProblem, parseJsonWithoutProto } from './json.js';

describe('jsonProblem', () => {
  it('accepts plain JSON data, including null-prototype objects', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    expect(jsonProblem({ a: [1, 'x', true, null, { b: bare }] })).toBeUndefined();
    expect(jsonProblem('text')).toBeUndefined();
    expect(jsonProblem(null)).toBeUndefined();
  });

  it.each([
    ['a BigInt', { a: { b: 1n } }, 'data.a.b is a bigint'],
    ['a function', { list: [1, () => 1] }, 'data.list[1] is a function'],
    ['undefined', { a: undefined }, 'data.a is undefined'],
    ['a symbol', [Symbol('s')], 'data[0] is a symbol'],
    ['NaN', { n: Number.NaN }, 'data.n is NaN, which JSON turns into null'],
    ['Infinity', { n: Infinity }, 'data.n is Infinity'],
    ['a Map', { m: new Map() }, 'data.m is a Map'],
    ['a Date', { d: new Date(0) }, 'data.d is a Date'],
    ['symbol keys', { [Symbol('k')]: 1 }, 'data has symbol keys'],
  ])('names the path of %s', (_name, value, message) => {
    expect(jsonProblem(value, 'data')).toContain(message);
  });

  it('names where a cycle closes, and accepts a shared (acyclic) object', () => {
    const node: Record<string, unknown> = { name: 'n' };
    node['self'] = { back: node };
    expect(jsonProblem({ root: node }, 'data')).toBe('data.root.self.back refers back to data.root (a cycle)');
    const shared = { x: 1 };
    expect(jsonProblem({ a: shared, b: [shared] })).toBeUndefined();
  });

  it('limits the depth', () => {
    let deep: unknown = 1;
    for (let index = 0; index < 300; index += 1) deep = [deep];
    expect(jsonProblem(deep, 'v')).toMatch(/nested deeper than 256 levels/);
  });

  it('uses "value" as the default root name and quotes keys that are not identifiers', () => {
    expect(jsonProblem({ 'a b': undefined })).toBe('value["a b"] is undefined, which JSON drops');
  });
});

describe('isFaithfulJson', () => {
  const bad: Array<[string, unknown]> = [
    ['a BigInt', { a: { b: 1n } }],
    ['a function', { list: [1, () => 1] }],
    ['undefined', { a: undefined }],
    ['a symbol', [Symbol('s')]],
    ['NaN', { n: Number.NaN }],
    ['a Map', { m: new Map() }],
    ['a Date', { d: new Date(0) }],
    ['symbol keys', { [Symbol('k')]: 1 }],
  ];

  it('agrees with jsonProblem on plain data and on every kind of bad value', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    for (const value of [{ a: [1, 'x', true, null, { b: bare }] }, 'text', null, 0, []]) {
      expect(isFaithfulJson(value)).toBe(true);
    }
    for (const [, value] of bad) {
      expect(jsonProblem(value)).toBeDefined();
      expect(isFaithfulJson(value)).toBe(false);
    }
  });

  it('fails cycles and values nested deeper than jsonProblem accepts, and passes the deepest it accepts', () => {
    const node: Record<string, unknown> = {};
    node['self'] = node;
    expect(isFaithfulJson(node)).toBe(false);
    const nest = (levels: number): unknown => {
      let deep: unknown = 1;
      for (let index = 0; index < levels; index += 1) deep = [deep];
      return deep;
    };
    expect(jsonProblem(nest(256))).toBeUndefined();
    expect(isFaithfulJson(nest(256))).toBe(true);
    expect(jsonProblem(nest(257))).toBeDefined();
    expect(isFaithfulJson(nest(257))).toBe(false);
  });

  it('fails an own __proto__ key only when asked to', () => {
    const value = JSON.parse('{"a":[{"__proto__":{"x":1}}]}') as unknown;
    expect(isFaithfulJson(value)).toBe(true);
    expect(isFaithfulJson(value, { refuseProtoKeys: true })).toBe(false);
    expect(isFaithfulJson({ 'x"__proto__': 1 }, { refuseProtoKeys: true })).toBe(true);
  });
});

describe('parseJsonWithoutProto', () => {
  it('parses JSON and drops __proto__ keys at any depth, escaped or not', () => {
    const parsed = parseJsonWithoutProto(
      '{"__proto__":{"polluted":true},"a":[{"\\u005f_proto__":1,"b":2}],"c":{"__pr\\u006fto__":{}}}',
    ) as { a: Array<Record<string, unknown>>; c: object };
    expect(parsed).toEqual({ a: [{ b: 2 }], c: {} });
    expect(Object.hasOwn(parsed, '__proto__')).toBe(false);
    expect(Object.hasOwn(parsed.a[0]!, '__proto__')).toBe(false);
    expect(Object.hasOwn(parsed.c, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('keeps text that merely mentions __proto__, and throws on malformed JSON like JSON.parse', () => {
    expect(parseJsonWithoutProto('{"text":"\\"__proto__\\":1","k\\u0020":[1]}')).toEqual({
      text: '"__proto__":1',
      'k ': [1],
    });
    expect(() => parseJsonWithoutProto('{nope')).toThrow(SyntaxError);
  });
});
