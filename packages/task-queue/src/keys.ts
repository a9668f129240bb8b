/** Suffix reserved in queue names: `<queue>.dead-letter` was the dead-letter queue of earlier versions. */
export const DEAD_LETTER_SUFFIX = '.dead-letter';

/**
 * Why `name` cannot be a queue name, or undefined. 1 to 200 printable characters; no `:` (BullMQ
 * builds keys with it), no `{` `}` (this package puts the name in a hash tag), and not ending in
 * `.dead-letter` (reserved: earlier versions kept each queue's dead letters in a queue of that name).
 */
export function queueNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `expected a string, got ${typeof name}`;
  if (name.length === 0 || name.length > 200) return `expected 1 to 200 characters, got ${name.length}`;
  if (!/^[\x21-\x7e]+$/.test(name)) return 'only printable ASCII characters without spaces are allowed';
  if (/[:{}]/.test(name)) return "':', '{' and '}' are not allowed";
  if (name.endsWith(DEAD_LETTER_SUFFIX)) return `'${DEAD_LETTER_SUFFIX}' is reserved for dead-letter queues`;
  return undefined;
}

/**
 * Names and prefix of the BullMQ queue behind one task queue. BullMQ's `prefix` is the manager's
 * namespace; the queue name sits in a `{hash tag}`, so every key of the BullMQ queue lands in one
 * Redis Cluster slot (BullMQ's scripts touch several keys of one queue at once).
 */
export interface QueueNames {
  prefix: string;
  /** Name of the BullMQ queue. */
  main: string;
  /** @deprecated Dead letters stay in the main queue's failed set; this is the name earlier versions gave a separate dead-letter queue, which nothing uses any more. */
  deadLetter: string;
}

/** The BullMQ names for task queue `name` in `namespace` (validate `name` first). */
export function queueNames(namespace: string, name: string): QueueNames {
  return { prefix: namespace, main: `{${name}}`, deadLetter: `{${name}${DEAD_LETTER_SUFFIX}}` };
}
