import {
  RedisAuthError,
  RedisConfigError,
  RedisTlsError,
  RedisUnavailableError,
  type ShimConnectionError,
} from './errors.js';
import { backoffDelay } from './internal/backoff.js';
import { classifyFailure } from './internal/classify.js';
import type { Redactor } from './internal/redact.js';
import type { ConnectionHandlers, ManagerContext, Tracked, TrackedConnections } from './tracked-connections.js';

/** What the ioredis event handlers of a manager's connections need of the manager. */
export interface EventContext extends ManagerContext {
  readonly redactor: Redactor;
  readonly connections: TrackedConnections;
  /** `disconnect()` has started. */
  closed(): boolean;
  /** A connection failed for good (fatal error, reconnects used up): rejects its pending wait, or else is reported. */
  report(tracked: Tracked, error: ShimConnectionError): void;
  /** A connection that had been up is ready again after a drop. */
  recovered(tracked: Tracked): void;
}

/**
 * The handlers of one connection's ioredis events: what a connect, ready, error, close,
 * reconnecting or end means for the manager (fatal failures stop reconnecting, a refused first
 * attempt ends `connect()` unless `waitForServer`, a drop starts the offline bound).
 */
export function connectionHandlers(ctx: EventContext, tracked: Tracked): ConnectionHandlers {
  return {
    connect: () => onConnect(ctx, tracked),
    ready: () => onReady(ctx, tracked),
    error: (error) => onError(ctx, tracked, error),
    close: () => onClose(ctx, tracked),
    reconnecting: (delayMs) => onReconnecting(ctx, tracked, delayMs),
    end: () => onEnd(ctx, tracked),
  };
}

/** The delay before reconnect attempt `times`, or null to stop (released, fatal, closing, attempts used up). */
export function retryDelay(ctx: EventContext, tracked: Tracked, times: number): number | null {
  if (tracked.released || tracked.fatal !== undefined || ctx.closed()) return null;
  // Without waitForServer a first attempt that fails ends connect(); do not retry behind its back.
  if (!tracked.established && !ctx.config.waitForServer) return null;
  if (times > ctx.config.reconnect.maxAttempts) return null;
  tracked.attempt = times;
  return backoffDelay(times, ctx.config.reconnect);
}

/** Hint for a TLS client whose handshake never finished: the usual cause is a plain (non-TLS) server. */
export function tlsHint(ctx: Pick<ManagerContext, 'config'>, tracked: Tracked): string {
  return ctx.config.tls !== undefined && !tracked.socketUp
    ? '; the TLS handshake did not finish: is the server plain redis:// rather than rediss://?'
    : '';
}

function onConnect(ctx: EventContext, tracked: Tracked): void {
  tracked.socketUp = true;
  ctx.emit('connected', { ...tracked.ref, address: ctx.address });
}

function onReady(ctx: EventContext, tracked: Tracked): void {
  // ioredis still reports `ready` after a failed SELECT, on the wrong database.
  if (tracked.fatal !== undefined) return;
  const recovered = tracked.established;
  tracked.established = true;
  tracked.up = true;
  tracked.attempt = 0;
  tracked.lastError = undefined;
  tracked.failedChecks = 0;
  ctx.connections.backOnline(tracked);
  ctx.connections.settle(tracked);
  ctx.emit('ready', { ...tracked.ref });
  if (recovered) ctx.recovered(tracked);
}

function onError(ctx: EventContext, tracked: Tracked, raw: unknown): void {
  const safe = ctx.redactor.error(raw);
  tracked.lastError = safe.message;
  const kind = classifyFailure(raw);
  const options = { address: ctx.address, cause: safe };
  if (kind === 'auth' || kind === 'tls' || kind === 'db') {
    const user = ctx.config.username === undefined ? '' : ` for user '${ctx.config.username}'`;
    tracked.fatal =
      kind === 'auth'
        ? new RedisAuthError(`Redis at ${ctx.address} rejected the credentials${user}: ${safe.message}`, options)
        : kind === 'tls'
          ? new RedisTlsError(`TLS handshake with Redis at ${ctx.address} failed: ${safe.message}`, options)
          : new RedisConfigError(
              'db',
              `Redis at ${ctx.address} refused database ${ctx.config.db}: ${safe.message}`,
              options,
            );
    // A wrong password, an untrusted certificate or a missing database never fixes itself: stop reconnecting.
    tracked.client.disconnect();
    ctx.report(tracked, tracked.fatal);
    return;
  }
  if (!tracked.established && !ctx.config.waitForServer && tracked.waiter !== undefined) {
    const hint =
      tlsHint(ctx, tracked) ||
      (kind === 'network' ? ' (is it running? waitForServer: true makes connect() wait for it)' : '');
    ctx.connections.settle(
      tracked,
      new RedisUnavailableError(
        'UNREACHABLE',
        `could not connect to Redis at ${ctx.address}: ${safe.message}${hint}`,
        options,
      ),
    );
    tracked.client.disconnect();
    return;
  }
  // Network errors during an outage are reported through `disconnected`/`reconnecting`.
  if (kind !== 'network') ctx.emit('error', safe);
}

function onClose(ctx: EventContext, tracked: Tracked): void {
  const wasUp = tracked.up;
  tracked.up = false;
  if (wasUp) {
    tracked.lastCheckOk = false;
    ctx.emit('disconnected', { ...tracked.ref, reason: tracked.lastError });
    ctx.connections.startOfflineTimer(tracked);
  }
  if (!tracked.established && !ctx.config.waitForServer && tracked.fatal === undefined) {
    ctx.connections.settle(
      tracked,
      new RedisUnavailableError(
        'UNREACHABLE',
        `could not connect to Redis at ${ctx.address}: ${tracked.lastError ?? 'the connection closed before Redis answered'}`,
        { address: ctx.address },
      ),
    );
  }
}

function onReconnecting(ctx: EventContext, tracked: Tracked, delayMs: number): void {
  ctx.emit('reconnecting', { ...tracked.ref, attempt: tracked.attempt, delayMs, reason: tracked.lastError });
}

function onEnd(ctx: EventContext, tracked: Tracked): void {
  if (tracked.fatal !== undefined || ctx.closed()) return;
  if (!tracked.established && !ctx.config.waitForServer) return;
  tracked.gaveUp = true;
  clearTimeout(tracked.offlineTimer);
  ctx.report(
    tracked,
    new RedisUnavailableError(
      'RECONNECT_EXHAUSTED',
      `gave up reconnecting the ${tracked.ref.name} connection to Redis at ${ctx.address} after ${ctx.config.reconnect.maxAttempts} attempts` +
        ` (last error: ${tracked.lastError ?? 'none'})`,
      { address: ctx.address },
    ),
  );
}
