import { v } from './internal/validation.js';

/** Validates a worker id (`INVALID_WORKER_ID`): 1–256 characters, no control characters, well-formed Unicode. */
export function assertWorkerId(id: unknown): string {
  return v.name(id, { field: 'worker id', code: 'INVALID_WORKER_ID', maxLength: 256 });
}

/** Redis names of one namespace's registry. Every key shares the `{<namespace>}` hash tag (Lua scripts touch several). */
export interface RegistryKeys {
  /** Sorted set: worker id → last heartbeat (Redis ms). */
  alive: string;
  /** Hash: worker id → JSON `{ id, incarnation, registeredAt, metadata }`. */
  info: string;
  /** Hash: worker id → status. */
  status: string;
  /** Hash: worker id → incarnation. */
  incarnation: string;
  /**
   * Sorted set: worker id → sequence number of its last change other than a plain heartbeat
   * (registered, status, metadata). Lets `listActive()` read only what changed since its last call.
   */
  changes: string;
  /** Hash: `epoch` (random, new whenever the keys are created again) and `seq` (last sequence number). */
  version: string;
  /** Every key above, in the order the Lua scripts take them. */
  all: [string, string, string, string, string, string];
  /** Pub/Sub channel of registry events. */
  events: string;
}

/** Builds the {@link RegistryKeys} for `namespace`. */
export function registryKeys(namespace: string): RegistryKeys {
  const names = ['alive', 'info', 'status', 'incarnation', 'changes', 'version'] as const;
  const all = names.map((name) => `${namespace}:workers:{${namespace}}:${name}`) as RegistryKeys['all'];
  const [alive, info, status, incarnation, changes, version] = all;
  return { alive, info, status, incarnation, changes, version, all, events: `${namespace}:workers:events` };
}
