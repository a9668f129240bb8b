import { isFaithfulJson, jsonProblem, parseJsonWithoutProto } from '@shim/connection/kit';
import { StateError } from '../errors.js';

/** Checks that the JSON `text` fits in `maxBytes` (UTF-8). */
export function checkSize(text: string, maxBytes: number, what: string): void {
  // Every UTF-16 unit takes at most 3 bytes: short strings need no count.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) {
      throw new StateError(
        'VALUE_TOO_LARGE',
        `${what} is ${bytes} bytes as JSON, over the limit of ${maxBytes} (option maxValueBytes)`,
      );
    }
  }
}

const REFUSE_PROTO_KEYS = { refuseProtoKeys: true } as const;

/**
 * JSON of a value to store: plain data that JSON keeps exactly (`jsonProblem` of
 * `@shim/connection`: no BigInt, cycles, functions, symbols, `undefined`, NaN, Dates, Maps, class
 * instances), no own `__proto__` key, within `maxBytes`. `undefined` means absent: refused.
 */
export function encodeValue(value: unknown, maxBytes: number, what = 'value'): string {
  if (value === undefined) {
    throw new StateError('INVALID_VALUE', `${what} is undefined, which means absent: use delete() instead`);
  }
  // The quick walk accepts ordinary data; anything it doubts gets the exact diagnosis.
  if (!isFaithfulJson(value, REFUSE_PROTO_KEYS)) {
    const problem = jsonProblem(value, what);
    if (problem !== undefined) throw new StateError('INVALID_VALUE', problem);
    if (hasProtoKey(JSON.stringify(value))) {
      throw new StateError(
        'INVALID_VALUE',
        `${what} has an own '__proto__' key, which is refused (prototype pollution)`,
      );
    }
  }
  const text = JSON.stringify(value);
  checkSize(text, maxBytes, what);
  return text;
}

function hasProtoKey(text: string): boolean {
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') found = true;
    return value;
  });
  return found;
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
