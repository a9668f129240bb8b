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
