import { createValidator, describeType } from '@shim/connection/kit';
import { WorkerRegistryError, type WorkerRegistryErrorCode } from '../errors.js';
import { parseRegistryJson, type WorkerStatus } from '../worker-info.js';

/** The kit's checks, throwing {@link WorkerRegistryError} with this package's codes. */
export const v = createValidator<WorkerRegistryErrorCode>((code, message) => new WorkerRegistryError(code, message));

const ALL_STATUSES: readonly WorkerStatus[] = ['idle', 'busy', 'offline'];

/** `value` if it is one of `allowed`, else `INVALID_STATUS` naming `field`. */
export function checkStatus<T extends WorkerStatus>(
  value: unknown,
  field: string,
  allowed: readonly T[] = ALL_STATUSES as readonly T[],
): T {
  if ((allowed as readonly unknown[]).includes(value)) return value as T;
  const names = allowed.map((status) => `'${status}'`);
  const got = typeof value === 'string' ? `'${value}'` : describeType(value);
  return v.fail(
    'INVALID_STATUS',
    field,
    `${field} must be ${names.slice(0, -1).join(', ')} or ${names.at(-1)}, got ${got}`,
  );
}

/**
 * Checks that `metadata` is a plain object that JSON keeps exactly (no functions, undefined, NaN,
 * Dates, Maps, class instances, symbol keys, cycles or BigInt) and within `maxBytes`; returns a copy.
 */
export function checkMetadata(metadata: unknown, maxBytes: number, field = 'metadata'): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    v.fail('INVALID_METADATA', field, `${field} must be a plain object, got ${describeType(metadata)}`);
  }
  const text = v.json(metadata, { field, code: 'INVALID_METADATA', maxBytes, limitName: 'option maxMetadataBytes' });
  return parseRegistryJson<Record<string, unknown>>(text);
}
