/** Suffix of the dead-letter queue's name: `<queue>.dead-letter`. */
export const DEAD_LETTER_SUFFIX = '.dead-letter';

/**
 * Why `name` cannot be a queue name, or undefined. 1 to 200 printable characters; no `:` (BullMQ
 * builds keys with it), no `{` `}` (this package puts the name in a hash tag), and not ending in
 * `.dead-letter` (that name belongs to another queue's dead-letter queue).
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
 * Names and prefix of the BullMQ queues behind one task queue. BullMQ's `prefix` is the manager's
 * namespace; the queue name sits in a `{hash tag}`, so every key of one BullMQ queue lands in one
 * Redis Cluster slot (BullMQ's scripts touch several keys of one queue at once).
 */
export interface QueueNames {
  prefix: string;
  /** Name of the main BullMQ queue. */
  main: string;
  /** Name of the dead-letter BullMQ queue. */
  deadLetter: string;
}

/** The BullMQ names for task queue `name` in `namespace` (validate `name` first). */
export function queueNames(namespace: string, name: string): QueueNames {
  return { prefix: namespace, main: `{${name}}`, deadLetter: `{${name}${DEAD_LETTER_SUFFIX}}` };
}

/** Key of a job's hash in one of the BullMQ queues (BullMQ's layout: `<prefix>:<queue>:<jobId>`). */
export function bullJobKey(names: QueueNames, queue: 'main' | 'deadLetter', jobId: string): string {
  return `${names.prefix}:${names[queue]}:${jobId}`;
}

/** Claim of the dead-letter move of one failure of a job (same hash tag as the queue). */
export function deadLetterClaimKey(names: QueueNames, jobId: string, failedAt: number): string {
  return `${names.prefix}:${names.main}:shim:dead-letter-claim:${jobId}:${failedAt}`;
}
