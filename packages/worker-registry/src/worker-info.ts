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

/** Builds a {@link WorkerInfo} from a worker hash as HGETALL returns it (flat list); undefined when incomplete. */
export function workerFromHash(flat: readonly string[]): WorkerInfo | undefined {
  const fields = new Map<string, string>();
  for (let index = 0; index + 1 < flat.length; index += 2) fields.set(flat[index] as string, flat[index + 1] as string);
  const id = fields.get('id');
  const incarnation = fields.get('inc');
  const status = fields.get('status');
  if (id === undefined || incarnation === undefined || !isWorkerStatus(status)) return undefined;
  const metadata: Record<string, unknown> = {};
  for (const [field, value] of fields) {
    if (!field.startsWith('m:')) continue;
    const key = field.slice(2);
    // Metadata values are written by this package as JSON; a key named __proto__ never becomes a prototype.
    Object.defineProperty(metadata, key, {
      value: JSON.parse(value) as unknown,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return {
    id,
    incarnation,
    status,
    metadata,
    registeredAt: Number(fields.get('reg')),
    lastHeartbeat: Number(fields.get('hb')),
  };
}
