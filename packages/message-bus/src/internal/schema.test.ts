import type { StandardSchemaV1 } from '@standard-schema/spec';
import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { MessageBusError } from '../errors.js';
import { assertSchema, validate } from './schema.js';

/** A hand-written Standard Schema whose validator is `run`. */
function schemaOf(
  run: (value: unknown) => StandardSchemaV1.Result<unknown> | Promise<StandardSchemaV1.Result<unknown>>,
) {
  return { '~standard': { version: 1, vendor: 'test', validate: run } } satisfies StandardSchemaV1;
}

function keyOf(segment: PropertyKey | StandardSchemaV1.PathSegment | undefined): unknown {
  return typeof segment === 'object' ? segment.key : segment;
}

describe('assertSchema()', () => {
  it('accepts a zod schema and returns it', () => {
    const schema = z.object({ id: z.number() });
    expect(assertSchema(schema)).toBe(schema);
  });

  it('accepts a valibot schema and returns it', () => {
    const schema = v.object({ id: v.number() });
    expect(assertSchema(schema)).toBe(schema);
  });

  it('accepts a hand-written Standard Schema', () => {
    const schema = schemaOf((value) => ({ value }));
    expect(assertSchema(schema)).toBe(schema);
  });

  it.each([
    ['undefined', undefined],
    ['null', null],
    ['a number', 42],
    ['a string', 'z.object()'],
    ['a plain object', { parse: () => 1 }],
    ['a function', () => 1],
    ['an empty ~standard', { '~standard': {} }],
    ['a null ~standard', { '~standard': null }],
    ['version 2', { '~standard': { version: 2, vendor: 'x', validate: () => ({ value: 1 }) } }],
    ["version '1'", { '~standard': { version: '1', vendor: 'x', validate: () => ({ value: 1 }) } }],
    ['a validate that is not a function', { '~standard': { version: 1, vendor: 'x', validate: 'yes' } }],
  ])('rejects %s with INVALID_OPTION', (_label, schema) => {
    let error: unknown;
    try {
      assertSchema(schema);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MessageBusError);
    expect((error as MessageBusError).code).toBe('INVALID_OPTION');
    expect((error as MessageBusError).message).toBe(
      'schema must implement Standard Schema v1 (zod ≥3.24, valibot ≥1, arktype ≥2 …)',
    );
  });
});

describe('validate()', () => {
  it('returns the value a zod schema accepts', async () => {
    const schema = z.object({ id: z.number(), tags: z.array(z.string()) });
    await expect(validate(schema, { id: 1, tags: ['a'] })).resolves.toEqual({
      ok: true,
      value: { id: 1, tags: ['a'] },
    });
  });

  it("returns a zod transform's output, not its input", async () => {
    const schema = z
      .object({ amount: z.string() })
      .transform(({ amount }) => ({ cents: Math.round(Number(amount) * 100) }));
    await expect(validate(schema, { amount: '12.34' })).resolves.toEqual({ ok: true, value: { cents: 1234 } });
  });

  it('returns the issues of a zod schema, with paths', async () => {
    const result = await validate(z.object({ id: z.number(), name: z.string() }), { id: 'x', name: 'n' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.path).toEqual(['id']);
    expect(result.issues[0]!.message).toMatch(/number/i);
  });

  it('returns the value a valibot schema accepts, including a transform', async () => {
    const schema = v.object({
      name: v.pipe(
        v.string(),
        v.transform((name) => name.length),
      ),
    });
    await expect(validate(schema, { name: 'abcd' })).resolves.toEqual({ ok: true, value: { name: 4 } });
  });

  it('returns the issues of a valibot schema, with { key } path segments', async () => {
    const result = await validate(v.object({ id: v.number() }), { id: 'x' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.path?.map(keyOf)).toEqual(['id']);
  });

  it('awaits an async zod refinement (validate returns a promise)', async () => {
    const schema = z.string().refine(async (text) => {
      await Promise.resolve();
      return text.startsWith('a');
    }, 'must start with a');
    expect(schema['~standard'].validate('abc')).toBeInstanceOf(Promise);

    await expect(validate(schema, 'abc')).resolves.toEqual({ ok: true, value: 'abc' });
    const rejected = await validate(schema, 'xyz');
    expect(rejected.ok).toBe(false);
    if (rejected.ok) return;
    expect(rejected.issues.map((issue) => issue.message)).toEqual(['must start with a']);
  });

  it('turns a validator that throws an Error into an issue', async () => {
    const schema = schemaOf(() => {
      throw new Error('kaput');
    });
    await expect(validate(schema, 1)).resolves.toEqual({
      ok: false,
      issues: [{ message: 'the validator threw: kaput' }],
    });
  });

  it('turns a validator that throws a non-Error into an issue', async () => {
    const schema = schemaOf(() => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error
      throw 'plain string';
    });
    await expect(validate(schema, 1)).resolves.toEqual({
      ok: false,
      issues: [{ message: 'the validator threw: plain string' }],
    });
  });

  it('turns a validator whose promise rejects into an issue', async () => {
    const schema = schemaOf(() => Promise.reject(new Error('late')));
    await expect(validate(schema, 1)).resolves.toEqual({
      ok: false,
      issues: [{ message: 'the validator threw: late' }],
    });
  });

  it('turns a zod refinement that throws into an issue', async () => {
    const schema = z.string().refine(() => {
      throw new Error('inside the refinement');
    });
    await expect(validate(schema, 'x')).resolves.toEqual({
      ok: false,
      issues: [{ message: 'the validator threw: inside the refinement' }],
    });
  });

  it('turns a validator that throws a value with no string form into an issue', async () => {
    const schema = schemaOf(() => {
      throw Object.create(null);
    });
    const result = await validate(schema, 1);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues).toHaveLength(1);
    expect(result.issues[0]!.message).toMatch(/^the validator threw: /);
  });

  it('passes issues of a hand-written schema through unchanged', async () => {
    const issues = [{ message: 'nope', path: ['a'] }];
    const result = await validate(
      schemaOf(() => ({ issues })),
      1,
    );
    expect(result).toEqual({ ok: false, issues });
    expect(result.ok ? undefined : result.issues).toBe(issues);
  });
});
