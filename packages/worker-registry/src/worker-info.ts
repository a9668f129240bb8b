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

/** Every status, in the order messages list them. */
export const WORKER_STATUSES: readonly WorkerStatus[] = ['idle', 'busy', 'offline'];

/** True for `'idle' | 'busy' | 'offline'`. */
export function isWorkerStatus(value: unknown): value is WorkerStatus {
  return (WORKER_STATUSES as readonly unknown[]).includes(value);
}

/** Workers as the Lua scripts join them (JSON lines; '' = none), without `__proto__` keys (`\u`-escaped too). */
export function parseWorkers(text: string): WorkerInfo[] {
  return text === '' ? [] : (parseJsonWithoutProto(`[${text.replaceAll('\n', ',')}]`) as WorkerInfo[]);
}
