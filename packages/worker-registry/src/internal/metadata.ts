import { isDeepStrictEqual } from 'node:util';
import { WorkerRegistryError } from '../errors.js';

/**
 * Checks that `metadata` is a plain object that JSON keeps exactly (a round trip gives an equal
 * value: no functions, undefined, NaN, Dates, Maps, class instances, symbol keys, cycles or BigInt)
 * and within `maxBytes`; returns a copy.
 */
export function checkMetadata(metadata: unknown, maxBytes: number, what = 'metadata'): Record<string, unknown> {
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    throw new WorkerRegistryError('INVALID_METADATA', `${what} must be a plain object`);
  }
  const proto = Object.getPrototypeOf(metadata) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new WorkerRegistryError('INVALID_METADATA', `${what} must be a plain object, not a class instance`);
  }
  let text: string;
  try {
    text = JSON.stringify(metadata);
  } catch (error) {
    throw new WorkerRegistryError('INVALID_METADATA', `${what} is not JSON-serializable`, { cause: error });
  }
  if (!isDeepStrictEqual(JSON.parse(text), { ...metadata })) {
    throw new WorkerRegistryError(
      'INVALID_METADATA',
      `${what} does not survive JSON unchanged (functions, undefined, NaN, Dates, Maps, class instances, symbol keys?)`,
    );
  }
  if (text.length * 3 > maxBytes && Buffer.byteLength(text) > maxBytes) {
    throw new WorkerRegistryError(
      'INVALID_METADATA',
      `${what} is ${Buffer.byteLength(text)} bytes as JSON, over ${maxBytes}`,
    );
  }
  return JSON.parse(text) as Record<string, unknown>;
}
