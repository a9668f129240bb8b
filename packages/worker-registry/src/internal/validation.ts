import { bytesOver, createValidator, describeType, parseJsonWithoutProto } from '@shim/connection/kit';
import { WorkerRegistryError, type WorkerRegistryErrorCode } from '../errors.js';
import { WORKER_STATUSES, type WorkerStatus } from '../worker-info.js';

/** The kit's checks, throwing {@link WorkerRegistryError} with this package's codes. */
export const v = createValidator<WorkerRegistryErrorCode>(
  ({ code, message }) => new WorkerRegistryError(code, message),
);

/** Throws `INVALID_STATUS` naming `field` unless `value` is one of `allowed`. */
export function checkStatus(value: unknown, field: string, allowed: readonly WorkerStatus[] = WORKER_STATUSES): void {
  if ((allowed as readonly unknown[]).includes(value)) return;
  const names = allowed.map((status) => `'${status}'`).join(', ');
  const got = typeof value === 'string' ? `'${value}'` : describeType(value);
  v.fail('INVALID_STATUS', field, `${field} must be ${names.replace(/, (?=[^,]*$)/, ' or ')}, got ${got}`);
}

/**
 * Checks that `metadata` is a plain object that JSON keeps exactly (no functions, undefined, NaN,
 * Dates, Maps, class instances, symbol keys, cycles or BigInt) and within `maxBytes`; returns a copy.
 */
export function checkMetadata(metadata: unknown, maxBytes: number, field = 'metadata'): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    v.fail('INVALID_METADATA', field, `${field} must be a plain object, got ${describeType(metadata)}`);
  }
  const text = v.json(metadata, { field, code: 'INVALID_METADATA', maxBytes: Number.POSITIVE_INFINITY });
  // Worded as before the kit ("over <limit>"), which callers may have matched.
  const bytes = bytesOver(text, maxBytes);
  if (bytes !== undefined) v.fail('INVALID_METADATA', field, `${field} is ${bytes} bytes as JSON, over ${maxBytes}`);
  return parseJsonWithoutProto(text) as Record<string, unknown>;
}
