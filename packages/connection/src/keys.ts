/** Characters a namespace may not contain: hash-tag braces, glob characters (SCAN/PSUBSCRIBE patterns), whitespace. */
const NAMESPACE_PATTERN = /^[A-Za-z0-9_.\-:@]+$/;

/**
 * Why `namespace` is unusable, or undefined when it is fine. A namespace is 1–128 characters
 * from `A-Z a-z 0-9 _ . - : @`, and does not start or end with `:`.
 */
export function namespaceProblem(namespace: unknown): string | undefined {
  if (typeof namespace !== 'string') return `expected a string, got ${typeof namespace}`;
  if (namespace.length === 0 || namespace.length > 128) return 'expected 1 to 128 characters';
  if (!NAMESPACE_PATTERN.test(namespace)) {
    return 'only letters, digits and _ . - : @ are allowed (no braces, glob characters or spaces)';
  }
  if (namespace.startsWith(':') || namespace.endsWith(':')) return 'must not start or end with ":"';
  return undefined;
}

/** A part of a key: a non-empty string or a finite number. */
export type KeyPart = string | number;

/**
 * Joins `namespace` and `parts` with `:` — `joinKey('shim', 'state', 'plan')` is `shim:state:plan`.
 * Throws a `TypeError` on an empty part, so a missing id can never collapse two keys into one.
 */
export function joinKey(namespace: string, ...parts: KeyPart[]): string {
  for (const [index, part] of parts.entries()) {
    if (typeof part === 'number' ? !Number.isFinite(part) : typeof part !== 'string' || part.length === 0) {
      throw new TypeError(`key part ${index} must be a non-empty string or a finite number`);
    }
  }
  return [namespace, ...parts].join(':');
}

/**
 * Wraps `value` in a Redis Cluster hash tag: `{value}`. Keys that must change together in one
 * Lua script or MULTI put the same tag in their name so they land on the same slot.
 */
export function hashTag(value: string): string {
  if (value.length === 0 || value.includes('{') || value.includes('}')) {
    throw new TypeError('a hash tag must be non-empty and contain no braces');
  }
  return `{${value}}`;
}
