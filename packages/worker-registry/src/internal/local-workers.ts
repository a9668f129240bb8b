import { WorkerRegistryError } from '../errors.js';
import type { StopHeartbeat } from '../types.js';
import type { WorkerStatus } from '../worker-info.js';

/** A registration this registry made: what it needs to heartbeat the worker and to bring it back. */
export interface LocalWorker {
  incarnation: string;
  registeredAt: number;
  metadata: Record<string, unknown>;
  /** The status this registry last set: a worker registered again after data loss comes back with it. */
  status: WorkerStatus;
  /** The automatic heartbeat, while one runs. */
  timer?: NodeJS.Timeout | undefined;
}

/**
 * Runs `task` every `ms` on an unref'd timer (it never keeps the process alive), never two at once: a slow
 * Redis must not stack them up. A failure goes to `onError`.
 */
export function everyInterval(ms: number, task: () => Promise<unknown>, onError: (e: unknown) => void): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    task()
      .catch(onError)
      .finally(() => (running = false));
  }, ms);
  return timer.unref();
}

/** The workers this registry registered, by id, each with its automatic heartbeat while one runs. */
export class LocalWorkers extends Map<string, LocalWorker> {
  /** `onError` hears every failed automatic heartbeat. */
  constructor(private readonly onError: (error: unknown) => void) {
    super();
  }

  /** The worker, or `NOT_REGISTERED`: only the registry that registered a worker heartbeats it. */
  require(id: string): LocalWorker {
    const local = this.get(id);
    if (local !== undefined) return local;
    const why = `worker '${id}' is not registered by this registry: register it first`;
    throw new WorkerRegistryError('NOT_REGISTERED', why, { workerId: id });
  }

  /** Records a registration of `id`; an automatic heartbeat that runs for the id goes on with it. */
  record(id: string, registration: Omit<LocalWorker, 'timer'>): void {
    const local = this.get(id);
    if (local === undefined) this.set(id, { ...registration });
    else Object.assign(local, registration);
  }

  /** Forgets `id` and stops its automatic heartbeat. */
  override delete(id: string): boolean {
    this.stop(id);
    return super.delete(id);
  }

  /** Runs `beat` every `intervalMs` for `id` (which must be registered here), instead of any earlier one. */
  start(id: string, intervalMs: number, beat: () => Promise<void>): StopHeartbeat {
    const local = this.require(id);
    this.stop(id);
    const timer = everyInterval(intervalMs, beat, this.onError);
    local.timer = timer;
    // A stop() of an earlier start() must not stop this one.
    return () => {
      if (local.timer === timer) this.stop(id);
    };
  }

  /** Stops the automatic heartbeat of `id`, or of every worker. */
  stop(id?: string): void {
    for (const local of id === undefined ? this.values() : [this.get(id)]) {
      clearInterval(local?.timer);
      if (local !== undefined) local.timer = undefined;
    }
  }
}
