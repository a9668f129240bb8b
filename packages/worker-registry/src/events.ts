import type { WorkerInfo } from './worker-info.js';

/** Kinds of registry events. */
export type RegistryEventType = 'joined' | 'left' | 'stale' | 'status';

/**
 * A registry event, as every subscribed process receives it.
 * - `joined`: registered (`reason: 'replaced'` when it took over a live registration,
 *   `'recovered'` when the automatic heartbeat re-registered it after its registration was lost);
 * - `left`: unregistered;
 * - `stale`: reaped by `detectStale()` after its TTL passed;
 * - `status`: the status changed, or metadata was set by a heartbeat.
 */
export interface RegistryEvent {
  type: RegistryEventType;
  worker: WorkerInfo;
  reason?: 'replaced' | 'recovered';
}

/** Handler of {@link WorkerRegistry.subscribe}. */
export type RegistryEventHandler = (event: RegistryEvent) => void | Promise<void>;

/** Local events of a {@link WorkerRegistry} instance. */
export interface WorkerRegistryEvents {
  /** The automatic heartbeat found its worker gone (data loss, reaped) and registered it again. */
  reregistered: [WorkerInfo];
  /** The automatic heartbeat found its worker registered again elsewhere (`replace`): it stopped for good. Carries the id. */
  replaced: [string];
  /**
   * A failure no promise could report: an automatic heartbeat or cleanup that failed, a handler
   * that threw, a malformed event. Without a listener it is dropped, never thrown.
   */
  error: [Error];
}
