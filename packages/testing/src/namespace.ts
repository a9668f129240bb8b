import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A namespace no other test uses: `test:<uuid>`. */
export function uniqueNamespace(label = 'test'): string {
  return `${label}:${randomUUID()}`;
}

/** Escapes glob characters so a namespace is matched literally by `SCAN MATCH`. */
function escapeGlob(value: string): string {
  return value.replace(/[*?[\]\\]/g, (char) => `\\${char}`);
}

/**
 * Deletes every key under `namespace:` (SCAN + UNLINK, never KEYS or FLUSHALL),
 * so test files can share one Redis and run in parallel. Returns how many keys it removed.
 */
export async function deleteNamespace(redis: Redis, namespace: string): Promise<number> {
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(namespace)}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) removed += await redis.unlink(...keys);
  } while (cursor !== '0');
  return removed;
}

/** Counts the keys under `namespace:` (SCAN). */
export async function countNamespaceKeys(redis: Redis, namespace: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${escapeGlob(namespace)}:*`, 'COUNT', 500);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}
