import { jsonProblem } from '@shim/connection';
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
  if (!isPlainJson(value, 0)) {
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

const MAX_DEPTH = 256;

/**
 * True when `value` is plain JSON data that JSON keeps exactly and has no own `__proto__` key.
 * No cycle bookkeeping: a cycle exceeds the depth limit, and then {@link jsonProblem} says why.
 */
function isPlainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= MAX_DEPTH) return false;
      if (Array.isArray(value)) {
        for (const item of value as unknown[]) if (!isPlainJson(item, depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const key in value) {
        if (key === '__proto__' || !isPlainJson((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

function hasProtoKey(text: string): boolean {
  let found = false;
  JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__') found = true;
    return value;
  });
  return found;
}

/** Drops `__proto__` keys, so a key of that name in stored JSON never becomes a prototype. */
function dropProto(this: unknown, key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/** Parses JSON read from Redis; `__proto__` keys are dropped; malformed text is `MALFORMED_DATA`. */
export function parseJson<T>(text: string, key: string): T {
  try {
    // The reviver costs time on every value: only pay it when such a key can be there.
    return (text.includes('__proto__') ? JSON.parse(text, dropProto) : JSON.parse(text)) as T;
  } catch (error) {
    throw new StateError('MALFORMED_DATA', `stored data of '${key}' is not valid JSON: ${text.slice(0, 100)}`, {
      key,
      cause: error,
    });
  }
}
