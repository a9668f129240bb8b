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
