import { Redis } from 'ioredis';
import { RedisUnavailableError, type ConnectionClosedError, type ShimConnectionError } from './errors.js';
import type { ConnectionRef, ConnectionRole, ConnectionWarning, RedisConnectionManagerEvents } from './events.js';
import type { ResolvedConfig } from './options.js';

/** How often commands issued after the offline window are failed while the connection stays down. Unit: ms. */
const FAIL_FAST_INTERVAL_MS = 50;

/** What the parts of a manager share: its settings and its way of reporting. */
export interface ManagerContext {
  readonly config: ResolvedConfig;
  readonly address: string;
  /** Whether the manager is connected (not connecting, idle or closed). */
  connected(): boolean;
  closedError(): ConnectionClosedError;
  emit<K extends keyof RedisConnectionManagerEvents>(event: K, ...args: RedisConnectionManagerEvents[K]): void;
}

type Waiter = { resolve: () => void; reject: (error: Error) => void };

/** The ioredis events a manager handles for each connection. */
export type ConnectionHandlers = {
  connect: () => void;
  ready: () => void;
  error: (error: unknown) => void;
  close: () => void;
  reconnecting: (delayMs: number) => void;
  end: () => void;
};

/** One ioredis client the manager owns, with the state the manager keeps about it. */
export interface Tracked {
  readonly ref: ConnectionRef;
  readonly client: Redis;
  readonly handlers: ConnectionHandlers;
  /** Reached `ready` at least once: from then on it reconnects by itself. */
  established: boolean;
  /** Currently `ready`. */
  up: boolean;
  /** The socket (and TLS session) came up at least once. */
  socketUp: boolean;
  /** Reconnect attempt within the current outage (1-based). */
  attempt: number;
  lastError: string | undefined;
  /** Auth, TLS or db failure: the connection is stopped for good. */
  fatal: ShimConnectionError | undefined;
  gaveUp: boolean;
  /** Being closed by the manager: no more events or reconnects. */
  released: boolean;
  lastCheckOk: boolean | undefined;
  /** Consecutive failed PINGs. */
  failedChecks: number;
  pendingPing: Promise<number | undefined> | undefined;
  offlineTimer: NodeJS.Timeout | undefined;
  /** Offline window used up: queued commands are failed every FAIL_FAST_INTERVAL_MS until `ready`. */
  failFastTimer: NodeJS.Timeout | undefined;
  waiter: Waiter | undefined;
  /** Set once the manager starts closing this connection. */
  closing: Promise<void> | undefined;
}

/** The private ioredis method that rejects queued commands; see {@link TrackedConnections.flushQueued}. */
type FlushQueue = (error: Error, options: { offlineQueue: boolean; commandQueue: boolean }) => void;
/** The private ioredis queue of commands to resend after a reconnect. */
type PendingQueue = { shift(): { command: { reject(error: Error): void } } | undefined };

const noop = (): void => {};

/** Resolves `promise`, or undefined after `ms` (the timer never keeps the process alive). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The ioredis clients of one manager: how each is opened, waited for, bounded while offline and
 * closed. What their events mean for the manager is decided by the manager itself.
 */
export class TrackedConnections {
  readonly #context: ManagerContext;
  readonly #connections = new Map<string, Tracked>();
  #warnedFlushUnsupported = false;

  constructor(context: ManagerContext) {
    this.#context = context;
  }

  has(name: string): boolean {
    return this.#connections.has(name);
  }

  all(): Tracked[] {
    return [...this.#connections.values()];
  }

  /** Creates (but does not start) a client; `handlers` get the tracked connection, and never run after it is released. */
  open(
    role: ConnectionRole,
    name: string,
    options: {
      handlers: (tracked: Tracked) => ConnectionHandlers;
      retryDelay: (tracked: Tracked, times: number) => number | null;
    },
  ): Tracked {
    const { config } = this.#context;
    const client = new Redis({
      host: config.host,
      port: config.port,
      db: config.db,
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      connectionName: `${config.connectionName}:${name}`,
      // Commands wait for a reconnect; startOfflineTimer bounds that wait in time instead of in attempts.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      enableReadyCheck: true,
      autoResubscribe: true,
      retryStrategy: (times: number) => options.retryDelay(tracked, times),
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
    });
    const tracked: Tracked = {
      ref: { role, name },
      client,
      handlers: undefined as unknown as ConnectionHandlers,
      established: false,
      up: false,
      socketUp: false,
      attempt: 0,
      lastError: undefined,
      fatal: undefined,
      gaveUp: false,
      released: false,
      lastCheckOk: undefined,
      failedChecks: 0,
      pendingPing: undefined,
      offlineTimer: undefined,
      failFastTimer: undefined,
      waiter: undefined,
      closing: undefined,
    };
    const wanted = options.handlers(tracked);
    // ioredis emits status events on the next tick, so one can still arrive after the manager
    // released the connection: those are ignored, here in one place.
    const guarded = Object.fromEntries(
      Object.entries(wanted).map(([event, handler]) => [
        event,
        (...args: unknown[]) => {
          if (!tracked.released) (handler as (...values: unknown[]) => void)(...args);
        },
      ]),
    ) as ConnectionHandlers;
    (tracked as { handlers: ConnectionHandlers }).handlers = guarded;
    for (const [event, handler] of Object.entries(guarded)) client.on(event, handler);
    this.#connections.set(name, tracked);
    return tracked;
  }

  /** Starts `tracked` and resolves at its first `ready`; rejects on a fatal error, a refused first attempt (without `waitForServer`) or `timeoutMs`. */
  async firstReady(tracked: Tracked, timeoutMs?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        tracked.waiter = { resolve, reject };
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            this.settle(
              tracked,
              new RedisUnavailableError(
                'CONNECT_TIMEOUT',
                `the ${tracked.ref.name} connection to Redis at ${this.#context.address} was not ready within ${timeoutMs} ms`,
                { address: this.#context.address },
              ),
            );
          }, timeoutMs);
        }
        // Failures arrive as events (handled by the manager); this promise only repeats them.
        tracked.client.connect().catch(noop);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves (no `error`) or rejects the pending `firstReady` of `tracked`, if any. */
  settle(tracked: Tracked, error?: Error): void {
    const waiter = tracked.waiter;
    if (waiter === undefined) return;
    tracked.waiter = undefined;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  usable(tracked: Tracked): boolean {
    return tracked.fatal === undefined && !tracked.gaveUp && tracked.client.status === 'ready';
  }

  /** Clears the offline bound of a connection that is ready again. */
  backOnline(tracked: Tracked): void {
    clearTimeout(tracked.offlineTimer);
    tracked.offlineTimer = undefined;
    clearInterval(tracked.failFastTimer);
    tracked.failFastTimer = undefined;
  }

  /**
   * Once a connection has been down for `offlineCommandTimeoutMs`, fails the commands waiting on it
   * and, until it is back, every new one within FAIL_FAST_INTERVAL_MS.
   */
  startOfflineTimer(tracked: Tracked): void {
    // Blocking connections (BullMQ workers) wait for the reconnect: BullMQ expects that.
    if (tracked.ref.role === 'blocking' || tracked.offlineTimer !== undefined || !this.#context.connected()) return;
    const { address, config } = this.#context;
    tracked.offlineTimer = setTimeout(() => {
      // backOnline() and close() clear this timer, so the connection is still down here.
      tracked.offlineTimer = undefined;
      this.#flushOffline(tracked);
      tracked.failFastTimer = setInterval(() => {
        this.#flushOffline(tracked);
      }, FAIL_FAST_INTERVAL_MS);
      tracked.failFastTimer.unref();
      this.#warn({
        code: 'OFFLINE_COMMANDS_FAILED',
        message: `no connection to Redis at ${address} for ${config.offlineCommandTimeoutMs} ms: commands waiting on the ${tracked.ref.name} connection failed, and new ones fail at once (OFFLINE_TIMEOUT) until it is back`,
      });
    }, config.offlineCommandTimeoutMs);
    tracked.offlineTimer.unref();
  }

  /**
   * Rejects the commands ioredis holds for a reconnect. ioredis only offers this through its
   * private `flushQueue` (its public `maxRetriesPerRequest` counts attempts, not time, and
   * `commandTimeout` leaves timed-out commands queued to run later), so it is feature-detected.
   */
  #flushOffline(tracked: Tracked): void {
    const { address, config } = this.#context;
    const error = new RedisUnavailableError(
      'OFFLINE_TIMEOUT',
      `no connection to Redis at ${address} for ${config.offlineCommandTimeoutMs} ms; the command was given up (if it had been sent before the connection dropped, it may have run)`,
      { address },
    );
    if (!this.#flushQueued(tracked, error) && !this.#warnedFlushUnsupported) {
      this.#warnedFlushUnsupported = true;
      this.#warn({
        code: 'OFFLINE_FLUSH_UNSUPPORTED',
        message: 'this ioredis version cannot fail queued commands early: they wait for the reconnect',
      });
    }
  }

  /** Rejects with `error` every command ioredis holds for a reconnect; false when ioredis offers no way to. */
  #flushQueued(tracked: Tracked, error: Error): boolean {
    const flush = (tracked.client as unknown as { flushQueue?: FlushQueue }).flushQueue;
    if (typeof flush !== 'function') return false;
    const { status } = tracked.client;
    // With a live socket ('connect': handshake running, 'ready') the command queue holds commands awaiting replies: leave it.
    flush.call(tracked.client, error, { offlineQueue: true, commandQueue: status !== 'connect' && status !== 'ready' });
    // Commands in flight when the connection dropped wait in prevCommandQueue to be resent after the
    // handshake; once a new socket is up they are no longer in the command queue, so fail them here.
    const held = tracked.client as unknown as { prevCommandQueue?: PendingQueue | null };
    const previous = held.prevCommandQueue;
    if (previous !== undefined && previous !== null && status !== 'ready') {
      for (let item = previous.shift(); item !== undefined; item = previous.shift()) item.command.reject(error);
      held.prevCommandQueue = null;
    }
    return true;
  }

  /** Closes `tracked` (QUIT, then a forced close after `quitTimeoutMs`); concurrent callers share one close. */
  close(tracked: Tracked): Promise<void> {
    tracked.closing ??= this.#closeNow(tracked);
    return tracked.closing;
  }

  async #closeNow(tracked: Tracked): Promise<void> {
    tracked.released = true;
    this.backOnline(tracked);
    const { client } = tracked;
    const { quitTimeoutMs } = this.#context.config;
    try {
      if (client.status === 'ready') await within(client.quit().catch(noop), quitTimeoutMs);
    } finally {
      // A client waiting to reconnect has no socket: disconnect() just cancels the timer and no 'end' follows.
      if (client.status === 'reconnecting' || client.status === 'wait') {
        client.disconnect();
        // Nor does ioredis fail the commands it queued for the reconnect: fail them (and any new one) now.
        client.options.enableOfflineQueue = false;
        this.#flushQueued(tracked, this.#context.closedError());
      } else if (client.status !== 'end') {
        let onEnd = noop;
        const ended = within(
          new Promise<void>((resolve) => {
            onEnd = resolve;
            client.once('end', onEnd);
          }),
          quitTimeoutMs,
        );
        client.disconnect();
        // QUIT had its chance above; a peer that never answers must not hold the socket open.
        destroySocket(client);
        await ended;
        // After a timeout the 'end' listener is still there: do not leave it behind.
        client.off('end', onEnd);
      }
      // ioredis can reach 'end' with its socket still open (e.g. after a protocol error from a peer
      // that is not Redis): never leave one behind.
      destroySocket(client);
      for (const [event, handler] of Object.entries(tracked.handlers)) client.off(event, handler);
      this.#connections.delete(tracked.ref.name);
    }
  }

  #warn(warning: ConnectionWarning): void {
    this.#context.emit('warning', warning);
  }
}

function destroySocket(client: Redis): void {
  (client.stream as { destroy?: () => void } | undefined)?.destroy?.();
}
