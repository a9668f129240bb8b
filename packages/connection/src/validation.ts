import { isFaithfulJson, jsonProblem } from './json.js';

/** What a check found wrong: the one shape every SHIM package turns into its own error. */
export interface Problem<TCode extends string> {
  code: TCode;
  /** What is at fault: an option, an argument, a key (`channel`, `ttlMs`, `worker id`). */
  field: string;
  /** What is wrong and what to change. */
  message: string;
}

/**
 * Makes the error a check throws: every SHIM package passes one that builds its own error class,
 * so users keep seeing that package's class and codes.
 */
export type ProblemFactory<TCode extends string> = (problem: Problem<TCode>) => Error;

/** Rules of {@link Validator.name}. Control characters and lone surrogates are always refused. */
export interface NameRules<TCode extends string> {
  /** What the name is, for messages (`channel`, `key`, `worker id`). */
  field: string;
  code: TCode;
  /** Longest name. Unit: characters. */
  maxLength: number;
  /** Accept `''` (a prefix that means "everything"). @defaultValue false */
  allowEmpty?: boolean | undefined;
  /** Refuse spaces, tabs and other whitespace. @defaultValue false */
  refuseWhitespace?: boolean | undefined;
  /** Refuse `{` and `}`: the name becomes a Redis Cluster hash tag. @defaultValue false */
  refuseBraces?: boolean | undefined;
}

/** Bounds of {@link Validator.integer}. */
export interface IntegerRules<TCode extends string> {
  field: string;
  code: TCode;
  /** @defaultValue 1 */
  min?: number | undefined;
  /** @defaultValue 2_147_483_647 (the longest Node timer) */
  max?: number | undefined;
  /** What the number counts, for messages. @defaultValue 'ms' */
  unit?: string | undefined;
}

/** Rules of {@link Validator.json}. */
export interface JsonRules<TCode extends string> {
  field: string;
  code: TCode;
  /** Largest JSON text (UTF-8). Unit: bytes. */
  maxBytes: number;
  /** Code when over `maxBytes`. @defaultValue `code` */
  tooLargeCode?: TCode | undefined;
  /** What to change to make it fit, for messages (`option maxValueBytes`). */
  limitName?: string | undefined;
  /** Refuse an own `__proto__` key anywhere (prototype pollution on the reader's side). @defaultValue false */
  refuseProtoKeys?: boolean | undefined;
}

/** The longest time a Node timer can wait (2^31-1 ms). */
export const MAX_TIMER_MS = 2_147_483_647;

// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
const WHITESPACE = /\s/u;
// In a /u pattern a well-formed pair is one code point: only half of a pair on its own is Cs.
const LONE_SURROGATE = /\p{Cs}/u;

/** `null`, `array`, or `typeof value`: what a message says a value was. */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** True when `text` holds half of a surrogate pair on its own (Redis would store it as U+FFFD, so two names could collide). */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/** The UTF-8 size of `text` when it is over `maxBytes`, else undefined; counts bytes only when the limit is in reach. */
export function bytesOver(text: string, maxBytes: number): number | undefined {
  // A UTF-16 unit is at most 3 UTF-8 bytes.
  if (text.length * 3 <= maxBytes) return undefined;
  const bytes = Buffer.byteLength(text);
  return bytes > maxBytes ? bytes : undefined;
}

/** True when `value` looks like a `RedisConnectionManager` (checked by shape: an ESM and a CJS copy are different classes). */
export function isConnectionManagerLike(value: unknown): boolean {
  return typeof (value as { getConnection?: unknown } | null | undefined)?.getConnection === 'function';
}

/**
 * The checks every SHIM package runs at its public boundary, throwing its own error class
 * (through `fail`). Each returns the checked value, so a call site reads `const key = v.name(…)`.
 */
export interface Validator<TCode extends string> {
  /** Throws the package's error for `{ code, field, message }`. */
  fail(code: TCode, field: string, message: string): never;
  /** An options (or other) argument that must be an object: `null` would otherwise surface as a bare TypeError. */
  object(value: unknown, field: string, code: TCode): object;
  /** A name that becomes part of a Redis key or channel: a string of bounded length, no control characters, well-formed Unicode. */
  name(value: unknown, rules: NameRules<TCode>): string;
  /** A safe integer in `[min, max]`. */
  integer(value: unknown, rules: IntegerRules<TCode>): number;
  /** A string of `min`–`max` characters (free text: a writer's or sender's name). */
  text(value: unknown, rules: { field: string; code: TCode; min?: number; max: number }): string;
  /** `value` as JSON text, when JSON keeps it exactly and it fits; `undefined` is refused. */
  json(value: unknown, rules: JsonRules<TCode>): string;
}

/** A {@link Validator} whose errors come from `fail`. */
export function createValidator<TCode extends string>(fail: ProblemFactory<TCode>): Validator<TCode> {
  const problem = (code: TCode, field: string, message: string): never => {
    throw fail({ code, field, message });
  };
  return {
    fail: problem,
    object(value, field, code) {
      if (typeof value !== 'object' || value === null) {
        return problem(code, field, `${field} must be an object, got ${describeType(value)}`);
      }
      return value;
    },
    name(value, rules) {
      const { field, code } = rules;
      if (typeof value !== 'string') return problem(code, field, `${field} must be a string, got ${typeof value}`);
      if (value.length === 0 && rules.allowEmpty !== true) return problem(code, field, `${field} must not be empty`);
      if (value.length > rules.maxLength) {
        return problem(code, field, `${field} is longer than ${rules.maxLength} characters`);
      }
      if (CONTROL.test(value) || (rules.refuseWhitespace === true && WHITESPACE.test(value))) {
        const what = rules.refuseWhitespace === true ? 'whitespace or control characters' : 'control characters';
        return problem(code, field, `${field} ${JSON.stringify(value)} contains ${what}`);
      }
      if (hasLoneSurrogate(value)) {
        return problem(
          code,
          field,
          `${field} is not well-formed Unicode (a lone surrogate, which Redis would store as U+FFFD)`,
        );
      }
      if (rules.refuseBraces === true && (value.includes('{') || value.includes('}'))) {
        return problem(code, field, `${field} ${JSON.stringify(value)} must not contain braces`);
      }
      return value;
    },
    integer(value, rules) {
      const { field, code, min = 1, max = MAX_TIMER_MS, unit = 'ms' } = rules;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
        const got = typeof value === 'number' ? String(value) : describeType(value);
        return problem(
          code,
          field,
          `invalid option '${field}': expected an integer number of ${unit} from ${min} to ${max}, got ${got}`,
        );
      }
      return value;
    },
    text(value, rules) {
      const { field, code, min = 1, max } = rules;
      if (typeof value !== 'string' || value.length < min || value.length > max) {
        return problem(code, field, `invalid option '${field}': expected a string of ${min} to ${max} characters`);
      }
      return value;
    },
    json(value, rules) {
      const { field, code } = rules;
      if (value === undefined) return problem(code, field, `${field} is undefined, which JSON cannot hold`);
      const refuseProtoKeys = rules.refuseProtoKeys === true;
      // The quick walk accepts ordinary data; anything it doubts gets the exact diagnosis.
      if (!isFaithfulJson(value, { refuseProtoKeys })) {
        const found = jsonProblem(value, field);
        if (found !== undefined) return problem(code, field, found);
        if (refuseProtoKeys) {
          return problem(code, field, `${field} has an own '__proto__' key, which is refused (prototype pollution)`);
        }
      }
      const text = JSON.stringify(value);
      const bytes = bytesOver(text, rules.maxBytes);
      if (bytes !== undefined) {
        const limit = rules.limitName === undefined ? '' : ` (${rules.limitName})`;
        return problem(
          rules.tooLargeCode ?? code,
          field,
          `${field} is ${bytes} bytes as JSON, over the limit of ${rules.maxBytes}${limit}`,
        );
      }
      return text;
    },
  };
}
