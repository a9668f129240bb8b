/** Status of a worker. */
export type WorkerStatus = 'idle' | 'busy' | 'offline';

/** A worker as the registry knows it. Times are Redis' clock, in ms since epoch. */
export interface WorkerInfo {
  id: string;
  /** Id of this registration: a worker that registers again (after a crash, say) gets a new one. */
  incarnation: string;
  status: WorkerStatus;
  /** As registered, with heartbeat patches applied. */
  metadata: Record<string, unknown>;
  registeredAt: number;
  lastHeartbeat: number;
}

const STATUSES: ReadonlySet<string> = new Set(['idle', 'busy', 'offline']);

/** True for `'idle' | 'busy' | 'offline'`. */
export function isWorkerStatus(value: unknown): value is WorkerStatus {
  return typeof value === 'string' && STATUSES.has(value);
}

/** Drops `__proto__` keys, so a metadata key of that name never becomes a prototype. */
function dropProto(this: unknown, key: string, value: unknown): unknown {
  return key === '__proto__' ? undefined : value;
}

/**
 * Parses worker JSON as the registry's Lua scripts build it (one worker, an array, or an event
 * holding one); `__proto__` keys in metadata are dropped.
 */
export function parseRegistryJson<T>(json: string): T {
  // The reviver costs time on every value: only pay it when such a key can be there.
  return (json.includes('__proto__') ? JSON.parse(json, dropProto) : JSON.parse(json)) as T;
}
