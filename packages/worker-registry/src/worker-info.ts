import { parseJsonWithoutProto } from '@shim/connection/kit';

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

/**
 * Parses worker JSON as the registry's Lua scripts build it (one worker, an array, or an event
 * holding one); `__proto__` keys in metadata are dropped, also when written with `\u` escapes.
 */
export function parseRegistryJson<T>(json: string): T {
  return parseJsonWithoutProto(json) as T;
}
