import { WorkerRegistryError } from './errors.js';

const MAX_ID_LENGTH = 256;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/u;
// Half of a surrogate pair on its own (String.prototype.isWellFormed needs ES2024 typings).
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Validates a worker id: 1–256 characters, no control characters. */
export function assertWorkerId(id: unknown): string {
  if (typeof id !== 'string')
    throw new WorkerRegistryError('INVALID_WORKER_ID', `worker id must be a string, got ${typeof id}`);
  if (id.length === 0) throw new WorkerRegistryError('INVALID_WORKER_ID', 'worker id must not be empty');
  if (id.length > MAX_ID_LENGTH) {
    throw new WorkerRegistryError('INVALID_WORKER_ID', `worker id is longer than ${MAX_ID_LENGTH} characters`);
  }
  if (LONE_SURROGATE.test(id)) {
    // A lone surrogate would be stored as U+FFFD and collide with other ids.
    throw new WorkerRegistryError('INVALID_WORKER_ID', 'worker id is not well-formed Unicode (lone surrogate)');
  }
  if (CONTROL.test(id)) {
    throw new WorkerRegistryError('INVALID_WORKER_ID', `worker id ${JSON.stringify(id)} contains control characters`);
  }
  return id;
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
  const base = `${namespace}:workers:{${namespace}}`;
  const alive = `${base}:alive`;
  const info = `${base}:info`;
  const status = `${base}:status`;
  const incarnation = `${base}:incarnation`;
  const changes = `${base}:changes`;
  const version = `${base}:version`;
  return {
    alive,
    info,
    status,
    incarnation,
    changes,
    version,
    all: [alive, info, status, incarnation, changes, version],
    events: `${namespace}:workers:events`,
  };
}
