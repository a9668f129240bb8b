import type { StandardSchemaV1 } from '@standard-schema/spec';
import { MessageBusError } from '../errors.js';
import { describeError } from './describe.js';

/** Outcome of a validation: the (possibly transformed) value, or the issues. */
export type Validated<T> = { ok: true; value: T } | { ok: false; issues: readonly StandardSchemaV1.Issue[] };

/** Checks that `schema` implements Standard Schema v1. */
export function assertSchema(schema: unknown): StandardSchemaV1 {
  const standard = (schema as { '~standard'?: { version?: unknown; validate?: unknown } } | null)?.['~standard'];
  if (standard?.version !== 1 || typeof standard.validate !== 'function') {
    throw new MessageBusError(
      'INVALID_OPTION',
      'schema must implement Standard Schema v1 (zod ≥3.24, valibot ≥1, arktype ≥2 …)',
    );
  }
  return schema as StandardSchemaV1;
}

/** Runs a Standard Schema (sync or async); a validator that throws counts as an issue. */
export async function validate<S extends StandardSchemaV1>(
  schema: S,
  value: unknown,
): Promise<Validated<StandardSchemaV1.InferOutput<S>>> {
  let result: StandardSchemaV1.Result<StandardSchemaV1.InferOutput<S>>;
  try {
    result = await schema['~standard'].validate(value);
  } catch (error) {
    return {
      ok: false,
      issues: [{ message: `the validator threw: ${describeError(error)}` }],
    };
  }
  return result.issues === undefined ? { ok: true, value: result.value } : { ok: false, issues: result.issues };
}
