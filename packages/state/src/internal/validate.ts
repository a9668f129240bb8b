import { createValidator, parseJsonWithoutProto, type Validator } from '@shim/connection/kit';
import { StateError, type StateErrorCode } from '../errors.js';

/** The kit's boundary checks, throwing this package's `StateError` with the code each call names. */
export const v: Validator<StateErrorCode> = createValidator(({ code, message }) => new StateError(code, message));

/** An options argument must be an object: `null` would otherwise surface as a bare TypeError. */
export function assertOptions(options: unknown): void {
  v.object(options, 'options', 'INVALID_OPTION');
}

/**
 * JSON of a value to store: plain data that JSON keeps exactly (no BigInt, cycles, functions,
 * symbols, `undefined` inside, NaN, Dates, Maps, class instances), no own `__proto__` key, within
 * `maxBytes` (`VALUE_TOO_LARGE`). `undefined` means absent: refused.
 */
export function encodeValue(value: unknown, maxBytes: number, field = 'value'): string {
  if (value === undefined)
    v.fail('INVALID_VALUE', field, `${field} is undefined, which means absent: use delete() instead`);
  return v.json(value, {
    field,
    code: 'INVALID_VALUE',
    maxBytes,
    tooLargeCode: 'VALUE_TOO_LARGE',
    limitName: 'option maxValueBytes',
    refuseProtoKeys: true,
  });
}

/** Parses JSON read from Redis; `__proto__` keys are dropped (escaped ones too); malformed text is `MALFORMED_DATA`. */
export function parseJson<T>(text: string, key: string): T {
  try {
    return parseJsonWithoutProto(text) as T;
  } catch (error) {
    throw new StateError('MALFORMED_DATA', `stored data of '${key}' is not valid JSON: ${text.slice(0, 100)}`, {
      key,
      cause: error,
    });
  }
}
