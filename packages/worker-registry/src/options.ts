import { isConnectionManagerLike } from '@shim/connection/kit';
import { v } from './internal/validation.js';

/** Options of {@link WorkerRegistry}. */
export interface WorkerRegistryOptions {
  /** A worker whose last heartbeat is older than this (by Redis' clock) is not alive. Unit: ms. @defaultValue 15_000 */
  heartbeatTtlMs?: number | undefined;
  /** Run `detectStale()` on this interval (unref'd timer). Unit: ms. @defaultValue undefined (off) */
  cleanupIntervalMs?: number | undefined;
  /** Largest metadata object, JSON-encoded. Unit: bytes. @defaultValue 65_536 */
  maxMetadataBytes?: number | undefined;
}

/** Defaults merged under every {@link WorkerRegistryOptions}. */
export const DEFAULT_WORKER_REGISTRY_OPTIONS = {
  heartbeatTtlMs: 15_000,
  maxMetadataBytes: 65_536,
} as const;

/** The constructor's arguments checked (`INVALID_OPTION`) and merged with the defaults. */
export function resolveOptions(
  connection: unknown,
  options: unknown,
): { ttlMs: number; maxMetadataBytes: number; cleanupIntervalMs: number | undefined } {
  if (!isConnectionManagerLike(connection)) {
    v.fail('INVALID_OPTION', 'connection', 'connection must be a RedisConnectionManager');
  }
  const given = v.object(options, 'options', 'INVALID_OPTION') as WorkerRegistryOptions;
  const d = DEFAULT_WORKER_REGISTRY_OPTIONS;
  const ms = (field: string, value: unknown, unit = 'ms'): number =>
    v.integer(value, { field, code: 'INVALID_OPTION', unit });
  return {
    ttlMs: ms('heartbeatTtlMs', given.heartbeatTtlMs ?? d.heartbeatTtlMs),
    maxMetadataBytes: ms('maxMetadataBytes', given.maxMetadataBytes ?? d.maxMetadataBytes, 'bytes'),
    cleanupIntervalMs:
      given.cleanupIntervalMs === undefined ? undefined : ms('cleanupIntervalMs', given.cleanupIntervalMs),
  };
}
