import { describe, expect, it } from 'vitest';
import { jsonProblem } from './json.js';

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
