const MAX_DEPTH = 256;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Why `value` would not survive a JSON round trip unchanged, naming the path of the first bad
 * value (`data.items[2].when is a Date, …`), or undefined when it would. Refused: BigInt, cycles,
 * functions, symbols, `undefined`, NaN/Infinity, symbol keys, and objects that are not plain
 * (Date, Map, Set, class instances) — everything `JSON.stringify` would throw on, drop, or
 * silently turn into something else.
 */
export function jsonProblem(value: unknown, root = 'value'): string | undefined {
  return problemAt(value, root, []);
}

function problemAt(
  value: unknown,
  path: string,
  ancestors: Array<{ value: object; path: string }>,
): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON turns into null`;
    case 'bigint':
      return `${path} is a bigint, which JSON cannot represent (send it as a string)`;
    case 'object':
      return value === null ? undefined : objectProblem(value, path, ancestors);
    default:
      // undefined, function, symbol: JSON drops them silently.
      return `${path} is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON drops`;
  }
}

function objectProblem(
  value: object,
  path: string,
  ancestors: Array<{ value: object; path: string }>,
): string | undefined {
  const earlier = ancestors.find((ancestor) => ancestor.value === value);
  if (earlier !== undefined) return `${path} refers back to ${earlier.path} (a cycle)`;
  if (ancestors.length >= MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
  ancestors.push({ value, path });
  try {
    if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index += 1) {
        const problem = problemAt(value[index], `${path}[${index}]`, ancestors);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      return `${path} is a ${name}, which JSON does not keep (use a plain object, an array or a string)`;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) return `${path} has symbol keys, which JSON drops`;
    for (const key of Object.keys(value)) {
      const child = IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
      const problem = problemAt((value as Record<string, unknown>)[key], child, ancestors);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    ancestors.pop();
  }
}

/** Options of {@link isFaithfulJson}. */
export interface FaithfulJsonOptions {
  /** Also fail values with an own `__proto__` key (which `JSON.parse` turns back into an own property). @defaultValue false */
  refuseProtoKeys?: boolean;
}

/**
 * Whether `value` survives a JSON round trip unchanged: the quick check behind {@link jsonProblem}
 * (no paths, no cycle bookkeeping — a cycle exceeds the depth limit), for hot paths that call
 * `jsonProblem` only when this fails.
 */
export function isFaithfulJson(value: unknown, options: FaithfulJsonOptions = {}): boolean {
  return faithful(value, 0, options.refuseProtoKeys === true);
}

function faithful(value: unknown, depth: number, refuseProtoKeys: boolean): boolean {
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
        for (const item of value as unknown[]) if (!faithful(item, depth + 1, refuseProtoKeys)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return false;
      if (Object.getOwnPropertySymbols(value).length > 0) return false;
      for (const key in value) {
        if (refuseProtoKeys && key === '__proto__') return false;
        if (!faithful((value as Record<string, unknown>)[key], depth + 1, refuseProtoKeys)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/**
 * `JSON.parse` that drops every `__proto__` key (also one written with `\u` escapes), so data
 * from elsewhere never carries an own `__proto__` property that a later spread or `Object.assign`
 * would turn into a prototype. Throws like `JSON.parse` on malformed text.
 */
export function parseJsonWithoutProto(text: string): unknown {
  // The reviver costs time on every value: pay it only when such a key can be there.
  return text.includes('__proto__') || text.includes('\\u') ? JSON.parse(text, dropProtoKey) : JSON.parse(text);
}

function dropProtoKey(this: unknown, key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}
