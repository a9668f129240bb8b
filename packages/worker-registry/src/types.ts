import type { WorkerStatus } from './worker-info.js';

/** Options of {@link WorkerRegistry.registerWorker}. */
export interface RegisterOptions {
  /** Take over the id even if a live worker holds it (its incarnation is then refused). @defaultValue false */
  replace?: boolean | undefined;
}

/** Options of {@link WorkerRegistry.heartbeat}. */
export interface HeartbeatOptions {
  /** New status, visible to every process with the heartbeat. */
  status?: 'idle' | 'busy' | undefined;
  /** Top-level metadata keys to set (merged into what was registered). */
  metadata?: Record<string, unknown> | undefined;
  /** Top-level metadata keys to remove. */
  removeMetadataKeys?: string[] | undefined;
}

/** Filter of {@link WorkerRegistry.listActive}. */
export interface ListFilter {
  status?: WorkerStatus | undefined;
  /** Only workers whose `metadata.capabilities` (an array) contains this value. */
  capability?: string | undefined;
}

/** Options of {@link WorkerRegistry.startHeartbeat}. */
export interface AutoHeartbeatOptions {
  /** Time between heartbeats; keep it well under the TTL (a third or less). Unit: ms. */
  intervalMs: number;
}

/** Stops an automatic heartbeat. */
export type StopHeartbeat = () => void;
