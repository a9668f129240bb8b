import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import {
  ConnectionClosedError,
  RedisAuthError,
  RedisConfigError,
  RedisTlsError,
  RedisUnavailableError,
  type ShimConnectionError,
} from './errors.js';
import type {
  ConnectionHealth,
  ConnectionRef,
  ConnectionRole,
  ConnectionWarning,
  HealthReport,
  RedisConnectionManagerEvents,
} from './events.js';
import { emitSafely } from './emit.js';
import { backoffDelay } from './internal/backoff.js';
import { classifyFailure } from './internal/classify.js';
import { Redactor } from './internal/redact.js';
import { joinKey, type KeyPart } from './keys.js';
import { resolveConfig, type RedisConfig, type ResolvedConfig } from './options.js';

/**
 * Lifecycle of a manager. `closed` is final. `failed`: the command connection stopped for good after
 * connecting (auth/TLS/db failure, or `reconnect.maxAttempts` used up); `connect()` rejects with that
 * error — disconnect and make a new manager.
 */
export type ConnectionManagerState = 'idle' | 'connecting' | 'connected' | 'failed' | 'closed';

/** The resolved options a manager exposes: no password, and TLS only as a flag (its options can hold keys). */
export type ConnectionManagerOptions = Readonly<Omit<ResolvedConfig, 'password' | 'tls'> & { tls: boolean }>;

/** Consecutive failed PINGs after which a connection that still looks `ready` is dropped and reconnected (half-open socket). */
const FAILED_CHECKS_BEFORE_RECONNECT = 2;
/** How often commands issued after the offline window are failed while the connection stays down. Unit: ms. */
const FAIL_FAST_INTERVAL_MS = 50;

/** What the manager read from the server at connect (and after each reconnect of the command connection). */
export interface ServerInfo {
  /** `redis_version` from `INFO server`. */
  version: string;
  /** `maxmemory-policy`, or undefined when `CONFIG GET` is not allowed (managed Redis, ACL). */
  maxmemoryPolicy: string | undefined;
}

/** Options of {@link RedisConnectionManager.createConnection}. */
export interface DedicatedConnectionOptions {
  /** Name of the connection (events, `CLIENT LIST`); must be unique in the manager. @defaultValue `<role>-<n>` */
  name?: string | undefined;
}

type Waiter = { resolve: () => void; reject: (error: Error) => void };

/** One ioredis client the manager owns, with the state the manager keeps about it. */
interface Tracked {
  readonly ref: ConnectionRef;
  readonly client: Redis;
  readonly handlers: {
    connect: () => void;
    ready: () => void;
    error: (error: unknown) => void;
    close: () => void;
    reconnecting: (delayMs: number) => void;
    end: () => void;
  };
  /** Reached `ready` at least once: from then on it reconnects by itself. */
  established: boolean;
  /** Currently `ready`. */
  up: boolean;
  /** The socket (and TLS session) came up at least once. */
  socketUp: boolean;
  /** Reconnect attempt within the current outage (1-based). */
  attempt: number;
  lastError: string | undefined;
  /** Auth or TLS failure: the connection is stopped for good. */
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

/** The private ioredis method that rejects queued commands; see `#flushOffline`. */
type FlushQueue = (error: Error, options: { offlineQueue: boolean; commandQueue: boolean }) => void;
/** The private ioredis queue of commands to resend after a reconnect. */
type PendingQueue = { shift(): { command: { reject(error: Error): void } } | undefined };

const noop = (): void => {};

/** Resolves `promise`, or undefined after `ms` (the timer never keeps the process alive). */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
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
 * Owns every Redis connection of a SHIM process: the shared command connection and the
 * dedicated subscriber and blocking connections other packages ask for. It connects (failing
 * fast, or waiting for the server with `waitForServer`), reconnects with exponential backoff
 * and jitter, checks health with a periodic PING on every connection, bounds how long commands
 * wait while disconnected, warns about server settings that lose data, and closes everything
 * it created.
 *
 * @example
 * ```ts
 * const manager = new RedisConnectionManager({ url: 'redis://127.0.0.1:6379', namespace: 'team-a' });
 * manager.on('error', (error) => console.error(error.message));
 * await manager.connect();
 * await manager.getConnection().set(manager.key('greeting'), 'hello');
 * await manager.disconnect();
 * ```
 */
export class RedisConnectionManager extends EventEmitter<RedisConnectionManagerEvents> {
  readonly #config: ResolvedConfig;
  readonly #redactor: Redactor;
  readonly #connections = new Map<string, Tracked>();
  #state: ConnectionManagerState = 'idle';
  #command: Tracked | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #healthRun: Promise<HealthReport> | undefined;
  #lastHealth: HealthReport | undefined;
  #serverInfo: ServerInfo | undefined;
  /** Why the command connection stopped for good after connecting (state `failed`). */
  #failure: ShimConnectionError | undefined;
  #counter = 0;
  #warnedFlushUnsupported = false;

  /** Validates `config` at once; throws `RedisConfigError` naming the option at fault. Connects nothing yet. */
  constructor(config: RedisConfig = {}) {
    super();
    this.#config = resolveConfig(config);
    this.#redactor = new Redactor([this.#config.password]);
  }

  /** Namespace every SHIM package prefixes its keys and channels with. */
  get namespace(): string {
    return this.#config.namespace;
  }

  /** `host:port` of the server (never credentials). */
  get address(): string {
    return this.#config.address;
  }

  /** `idle` → `connecting` → `connected` → `closed` (final). A failed `connect()` returns to `idle`. */
  get state(): ConnectionManagerState {
    return this.#state === 'connected' && this.#failure !== undefined ? 'failed' : this.#state;
  }

  /** The resolved options (defaults applied), without the password or TLS keys. */
  get options(): ConnectionManagerOptions {
    const { password: _password, tls, ...rest } = this.#config;
    return { ...rest, tls: tls !== undefined };
  }

  /** `<namespace>:<part>:<part>…`; throws a `TypeError` on an empty part. */
  key(...parts: KeyPart[]): string {
    return joinKey(this.#config.namespace, ...parts);
  }

  /**
   * Connects the command connection and resolves once Redis answers commands. Concurrent calls
   * share one attempt; when connected it resolves at once. Rejects with `RedisAuthError`,
   * `RedisTlsError`, `RedisUnavailableError` (`UNREACHABLE`, `CONNECT_TIMEOUT`,
   * `RECONNECT_EXHAUSTED`) or, after `disconnect()`, `ConnectionClosedError`.
   */
  connect(): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(this.#closedError());
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#state === 'connected') return Promise.resolve();
    this.#connecting ??= this.#establish().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Closes every connection the manager created (QUIT, then a forced close after
   * `quitTimeoutMs`), stops its timers and rejects a `connect()` in flight. Idempotent and final:
   * afterwards `getConnection()` throws and `connect()` rejects; make a new manager to reconnect.
   */
  disconnect(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** Same as {@link RedisConnectionManager.disconnect}, for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect();
  }

  /** True while every connection is ready and passed its last health check. */
  isHealthy(): boolean {
    if (this.#state !== 'connected' || this.#failure !== undefined) return false;
    for (const tracked of this.#connections.values()) {
      // A dedicated connection still being created (createConnection() pending) is not judged yet.
      if (!tracked.established && tracked.fatal === undefined) continue;
      if (!this.#connectionUsable(tracked)) return false;
      if (tracked.ref.role !== 'blocking' && tracked.lastCheckOk === false) return false;
    }
    return true;
  }

  /**
   * The shared command connection. Do not use it for SUBSCRIBE or blocking commands: ask
   * {@link RedisConnectionManager.createConnection} for a dedicated one.
   * @throws ConnectionClosedError before `connect()` (`NOT_CONNECTED`) and after `disconnect()` (`MANAGER_CLOSED`).
   */
  getConnection(): Redis {
    if (this.#state === 'closed') throw this.#closedError();
    if (this.#command === undefined) {
      throw new ConnectionClosedError('NOT_CONNECTED', 'not connected: call connect() before getConnection()', {
        address: this.address,
      });
    }
    return this.#command.client;
  }

  /**
   * A new connection for a role that cannot share the command connection, resolved once it is
   * ready: `subscriber` (Pub/Sub mode) or `blocking` (BRPOP, XREAD BLOCK, BullMQ workers; it has
   * `maxRetriesPerRequest: null` as BullMQ requires). The manager tracks it (health, reconnect,
   * events) and closes it in `disconnect()`; {@link RedisConnectionManager.releaseConnection} closes it earlier.
   */
  async createConnection(
    role: Exclude<ConnectionRole, 'command'>,
    options: DedicatedConnectionOptions = {},
  ): Promise<Redis> {
    if (role !== 'subscriber' && role !== 'blocking') {
      throw new TypeError(`role must be 'subscriber' or 'blocking', got ${String(role)}`);
    }
    if (typeof options !== 'object' || options === null) {
      throw new TypeError(`options must be an object, got ${options === null ? 'null' : typeof options}`);
    }
    if (this.#state !== 'connected') {
      if (this.#state === 'closed') throw this.#closedError();
      throw new ConnectionClosedError(
        'NOT_CONNECTED',
        `not connected: call connect() before createConnection('${role}')`,
        {
          address: this.address,
        },
      );
    }
    const name = options.name ?? `${role}-${++this.#counter}`;
    if (typeof name !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(name)) {
      throw new TypeError('options.name must be 1 to 64 printable characters without spaces');
    }
    if (this.#connections.has(name)) throw new TypeError(`a connection named '${name}' already exists`);
    const tracked = this.#open(role, name);
    try {
      await this.#firstReady(tracked, this.#config.connectTimeoutMs);
    } catch (error) {
      await this.#close(tracked);
      throw error;
    }
    return tracked.client;
  }

  /** Closes a connection obtained from {@link RedisConnectionManager.createConnection}. Unknown connections are ignored. */
  async releaseConnection(connection: Redis): Promise<void> {
    for (const tracked of this.#connections.values()) {
      if (tracked.client === connection && tracked.ref.role !== 'command') {
        await this.#close(tracked);
        return;
      }
    }
  }

  /** The connections the manager owns right now. */
  listConnections(): ConnectionRef[] {
    return [...this.#connections.values()].map((tracked) => ({ ...tracked.ref }));
  }

  /** What was read from the server at connect, or undefined before that. */
  getServerInfo(): ServerInfo | undefined {
    return this.#serverInfo === undefined ? undefined : { ...this.#serverInfo };
  }

  /** The last health report, or undefined before the first check. */
  getLastHealth(): HealthReport | undefined {
    return this.#lastHealth;
  }

  /**
   * Runs a health check now (the periodic one calls this): PING on the command and subscriber
   * connections (bounded by `healthCheckTimeoutMs`), status only for blocking connections.
   * Emits and returns the report. Concurrent calls share one check.
   */
  checkHealth(): Promise<HealthReport> {
    this.#healthRun ??= this.#runHealthCheck().finally(() => {
      this.#healthRun = undefined;
    });
    return this.#healthRun;
  }

  // ---------------------------------------------------------------- lifecycle

  async #establish(): Promise<void> {
    this.#state = 'connecting';
    const tracked = this.#open('command', 'command');
    this.#command = tracked;
    const deadline = this.#config.waitForServer ? undefined : this.#config.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    try {
      const ready = this.#firstReady(tracked).then(() => this.#inspectServer(tracked));
      if (deadline === undefined) {
        await ready;
      } else {
        await Promise.race([
          ready,
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => {
              reject(
                new RedisUnavailableError(
                  'CONNECT_TIMEOUT',
                  `could not connect to Redis at ${this.address} within ${deadline} ms` +
                    (tracked.lastError === undefined ? '' : ` (last error: ${tracked.lastError})`) +
                    this.#tlsHint(tracked),
                  { address: this.address },
                ),
              );
            }, deadline);
          }),
        ]);
      }
      // disconnect() may have run while the server checks were in flight.
      if (this.#state !== 'connecting') throw this.#closedError();
      this.#state = 'connected';
      this.#healthTimer = setInterval(() => {
        void this.checkHealth();
      }, this.#config.healthCheckIntervalMs);
      this.#healthTimer.unref();
    } catch (error) {
      tracked.waiter = undefined;
      this.#command = undefined;
      await this.#close(tracked);
      if (this.#state === 'connecting') this.#state = 'idle';
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closed';
    clearInterval(this.#healthTimer);
    this.#healthTimer = undefined;
    const error = this.#closedError();
    for (const tracked of this.#connections.values()) this.#settleWaiter(tracked, error);
    await Promise.all([...this.#connections.values()].map((tracked) => this.#close(tracked)));
    this.#command = undefined;
    this.#emit('closed');
  }

  #closedError(): ConnectionClosedError {
    return new ConnectionClosedError(
      'MANAGER_CLOSED',
      'the connection manager was disconnected; create a new RedisConnectionManager to connect again',
      { address: this.address },
    );
  }

  // ---------------------------------------------------------------- connections

  #open(role: ConnectionRole, name: string): Tracked {
    const config = this.#config;
    const client = new Redis({
      host: config.host,
      port: config.port,
      db: config.db,
      lazyConnect: true,
      connectTimeout: config.connectTimeoutMs,
      connectionName: `${config.connectionName}:${name}`,
      // Commands wait for a reconnect; #startOfflineTimer bounds that wait in time instead of in attempts.
      maxRetriesPerRequest: null,
      enableOfflineQueue: true,
      enableReadyCheck: true,
      autoResubscribe: true,
      retryStrategy: (times: number) => this.#retryDelay(tracked, times),
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
    });

    const live = (): boolean => !tracked.released;
    const tracked: Tracked = {
      ref: { role, name },
      client,
      // ioredis emits status events on the next tick, so one can still arrive after the manager
      // released the connection: those are ignored, here in one place.
      handlers: {
        connect: () => live() && this.#onConnect(tracked),
        ready: () => live() && this.#onReady(tracked),
        error: (error) => live() && this.#onError(tracked, error),
        close: () => live() && this.#onClose(tracked),
        reconnecting: (delayMs) => live() && this.#onReconnecting(tracked, delayMs),
        end: () => live() && this.#onEnd(tracked),
      },
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
    for (const [event, handler] of Object.entries(tracked.handlers)) client.on(event, handler);
    this.#connections.set(name, tracked);
    return tracked;
  }

  /** Starts `tracked` and resolves at its first `ready`; rejects on a fatal error, a refused first attempt (without `waitForServer`) or `timeoutMs`. */
  async #firstReady(tracked: Tracked, timeoutMs?: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        tracked.waiter = { resolve, reject };
        if (timeoutMs !== undefined) {
          timer = setTimeout(() => {
            this.#settleWaiter(
              tracked,
              new RedisUnavailableError(
                'CONNECT_TIMEOUT',
                `the ${tracked.ref.name} connection to Redis at ${this.address} was not ready within ${timeoutMs} ms`,
                { address: this.address },
              ),
            );
          }, timeoutMs);
        }
        // Failures arrive as events (handled in #onError/#onClose/#onEnd); this promise only repeats them.
        tracked.client.connect().catch(noop);
      });
    } finally {
      clearTimeout(timer);
    }
  }

  #settleWaiter(tracked: Tracked, error?: Error): void {
    const waiter = tracked.waiter;
    if (waiter === undefined) return;
    tracked.waiter = undefined;
    if (error === undefined) waiter.resolve();
    else waiter.reject(error);
  }

  #close(tracked: Tracked): Promise<void> {
    // Concurrent closers (disconnect() and releaseConnection(), say) all wait for the same close.
    tracked.closing ??= this.#closeNow(tracked);
    return tracked.closing;
  }

  async #closeNow(tracked: Tracked): Promise<void> {
    tracked.released = true;
    clearTimeout(tracked.offlineTimer);
    tracked.offlineTimer = undefined;
    clearInterval(tracked.failFastTimer);
    tracked.failFastTimer = undefined;
    const { client } = tracked;
    try {
      if (client.status === 'ready') await within(client.quit().catch(noop), this.#config.quitTimeoutMs);
    } finally {
      // A client waiting to reconnect has no socket: disconnect() just cancels the timer and no 'end' follows.
      if (client.status === 'reconnecting' || client.status === 'wait') {
        client.disconnect();
        // Nor does ioredis fail the commands it queued for the reconnect: fail them (and any new one) now.
        client.options.enableOfflineQueue = false;
        this.#flushQueued(tracked, this.#closedError());
      } else if (client.status !== 'end') {
        let onEnd = (): void => {};
        const ended = within(
          new Promise<void>((resolve) => {
            onEnd = () => {
              resolve();
            };
            client.once('end', onEnd);
          }),
          this.#config.quitTimeoutMs,
        );
        client.disconnect();
        // QUIT had its chance above; a peer that never answers must not hold the socket open.
        (client.stream as { destroy?: () => void } | undefined)?.destroy?.();
        await ended;
        // After a timeout the 'end' listener is still there: do not leave it behind.
        client.off('end', onEnd);
      }
      // ioredis can reach 'end' with its socket still open (e.g. after a protocol error from a peer
      // that is not Redis): never leave one behind.
      (client.stream as { destroy?: () => void } | undefined)?.destroy?.();
      for (const [event, handler] of Object.entries(tracked.handlers)) client.off(event, handler);
      this.#connections.delete(tracked.ref.name);
    }
  }

  #retryDelay(tracked: Tracked, times: number): number | null {
    if (tracked.released || tracked.fatal !== undefined || this.#state === 'closed') return null;
    // Without waitForServer a first attempt that fails ends connect(); do not retry behind its back.
    if (!tracked.established && !this.#config.waitForServer) return null;
    if (times > this.#config.reconnect.maxAttempts) return null;
    tracked.attempt = times;
    return backoffDelay(times, this.#config.reconnect);
  }

  /** Hint for a TLS client whose handshake never finished: the usual cause is a plain (non-TLS) server. */
  #tlsHint(tracked: Tracked): string {
    return this.#config.tls !== undefined && !tracked.socketUp
      ? '; the TLS handshake did not finish: is the server plain redis:// rather than rediss://?'
      : '';
  }

  #connectionUsable(tracked: Tracked): boolean {
    return tracked.fatal === undefined && !tracked.gaveUp && tracked.client.status === 'ready';
  }

  // ---------------------------------------------------------------- ioredis events

  #onConnect(tracked: Tracked): void {
    tracked.socketUp = true;
    this.#emit('connected', { ...tracked.ref, address: this.address });
  }

  #onReady(tracked: Tracked): void {
    // ioredis still reports `ready` after a failed SELECT, on the wrong database.
    if (tracked.fatal !== undefined) return;
    const recovered = tracked.established;
    tracked.established = true;
    tracked.up = true;
    tracked.attempt = 0;
    tracked.lastError = undefined;
    tracked.failedChecks = 0;
    clearTimeout(tracked.offlineTimer);
    tracked.offlineTimer = undefined;
    clearInterval(tracked.failFastTimer);
    tracked.failFastTimer = undefined;
    this.#settleWaiter(tracked);
    this.#emit('ready', { ...tracked.ref });
    if (recovered && this.#state === 'connected') {
      // Do not wait for the next interval to clear this connection's failed check, and re-read the server: it may be a new one.
      void this.#checkOne(tracked);
      if (tracked.ref.role === 'command') void this.#inspectServer(tracked).catch(noop);
    }
  }

  #onError(tracked: Tracked, raw: unknown): void {
    const safe = this.#redactor.error(raw);
    tracked.lastError = safe.message;
    const kind = classifyFailure(raw);
    const options = { address: this.address, cause: safe };
    if (kind === 'auth' || kind === 'tls' || kind === 'db') {
      const user = this.#config.username === undefined ? '' : ` for user '${this.#config.username}'`;
      tracked.fatal =
        kind === 'auth'
          ? new RedisAuthError(`Redis at ${this.address} rejected the credentials${user}: ${safe.message}`, options)
          : kind === 'tls'
            ? new RedisTlsError(`TLS handshake with Redis at ${this.address} failed: ${safe.message}`, options)
            : new RedisConfigError(
                'db',
                `Redis at ${this.address} refused database ${this.#config.db}: ${safe.message}`,
                options,
              );
      // A wrong password, an untrusted certificate or a missing database never fixes itself: stop reconnecting.
      tracked.client.disconnect();
      this.#report(tracked, tracked.fatal);
      return;
    }
    if (!tracked.established && !this.#config.waitForServer && tracked.waiter !== undefined) {
      const hint =
        this.#tlsHint(tracked) ||
        (kind === 'network' ? ' (is it running? waitForServer: true makes connect() wait for it)' : '');
      this.#settleWaiter(
        tracked,
        new RedisUnavailableError(
          'UNREACHABLE',
          `could not connect to Redis at ${this.address}: ${safe.message}${hint}`,
          options,
        ),
      );
      tracked.client.disconnect();
      return;
    }
    // Network errors during an outage are reported through `disconnected`/`reconnecting`.
    if (kind !== 'network') this.#emit('error', safe);
  }

  #onClose(tracked: Tracked): void {
    const wasUp = tracked.up;
    tracked.up = false;
    if (wasUp) {
      tracked.lastCheckOk = false;
      this.#emit('disconnected', { ...tracked.ref, reason: tracked.lastError });
      this.#startOfflineTimer(tracked);
    }
    if (!tracked.established && !this.#config.waitForServer && tracked.fatal === undefined) {
      this.#settleWaiter(
        tracked,
        new RedisUnavailableError(
          'UNREACHABLE',
          `could not connect to Redis at ${this.address}: ${tracked.lastError ?? 'the connection closed before Redis answered'}`,
          { address: this.address },
        ),
      );
    }
  }

  #onReconnecting(tracked: Tracked, delayMs: number): void {
    this.#emit('reconnecting', { ...tracked.ref, attempt: tracked.attempt, delayMs, reason: tracked.lastError });
  }

  #onEnd(tracked: Tracked): void {
    if (tracked.fatal !== undefined || this.#state === 'closed') return;
    if (!tracked.established && !this.#config.waitForServer) return;
    tracked.gaveUp = true;
    clearTimeout(tracked.offlineTimer);
    this.#report(
      tracked,
      new RedisUnavailableError(
        'RECONNECT_EXHAUSTED',
        `gave up reconnecting the ${tracked.ref.name} connection to Redis at ${this.address} after ${this.#config.reconnect.maxAttempts} attempts` +
          ` (last error: ${tracked.lastError ?? 'none'})`,
        { address: this.address },
      ),
    );
  }

  /** Rejects the pending `connect()`/`createConnection()` of `tracked`, or else emits `error`. */
  #report(tracked: Tracked, error: ShimConnectionError): void {
    if (tracked.waiter !== undefined) {
      this.#settleWaiter(tracked, error);
      return;
    }
    if (tracked.ref.role === 'command' && this.#state === 'connected') this.#failure = error;
    this.#emit('error', error);
  }

  // ---------------------------------------------------------------- offline commands

  #startOfflineTimer(tracked: Tracked): void {
    // Blocking connections (BullMQ workers) wait for the reconnect: BullMQ expects that.
    if (tracked.ref.role === 'blocking' || tracked.offlineTimer !== undefined || this.#state !== 'connected') return;
    tracked.offlineTimer = setTimeout(() => {
      // #onReady and #close clear this timer, so the connection is still down here.
      tracked.offlineTimer = undefined;
      this.#flushOffline(tracked);
      // From now on a command waits at most FAIL_FAST_INTERVAL_MS before it fails with OFFLINE_TIMEOUT too.
      tracked.failFastTimer = setInterval(() => {
        this.#flushOffline(tracked);
      }, FAIL_FAST_INTERVAL_MS);
      tracked.failFastTimer.unref();
      this.#emitWarning({
        code: 'OFFLINE_COMMANDS_FAILED',
        message: `no connection to Redis at ${this.address} for ${this.#config.offlineCommandTimeoutMs} ms: commands waiting on the ${tracked.ref.name} connection failed, and new ones fail at once (OFFLINE_TIMEOUT) until it is back`,
      });
    }, this.#config.offlineCommandTimeoutMs);
    tracked.offlineTimer.unref();
  }

  /**
   * Rejects the commands ioredis holds for a reconnect. ioredis only offers this through its
   * private `flushQueue` (its public `maxRetriesPerRequest` counts attempts, not time, and
   * `commandTimeout` leaves timed-out commands queued to run later), so it is feature-detected.
   */
  #flushOffline(tracked: Tracked): void {
    const flushed = this.#flushQueued(
      tracked,
      new RedisUnavailableError(
        'OFFLINE_TIMEOUT',
        `no connection to Redis at ${this.address} for ${this.#config.offlineCommandTimeoutMs} ms; the command was given up (if it had been sent before the connection dropped, it may have run)`,
        { address: this.address },
      ),
    );
    if (!flushed && !this.#warnedFlushUnsupported) {
      this.#warnedFlushUnsupported = true;
      this.#emitWarning({
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

  // ---------------------------------------------------------------- server checks and health

  async #inspectServer(tracked: Tracked): Promise<void> {
    const { client } = tracked;
    let version = 'unknown';
    try {
      const info = await client.info('server');
      version = /redis_version:([^\r\n]+)/.exec(info)?.[1] ?? 'unknown';
    } catch (error) {
      this.#emitWarning({
        code: 'SERVER_INFO_UNAVAILABLE',
        message: `could not read INFO from Redis at ${this.address}: ${this.#redactor.error(error).message}`,
      });
    }
    let maxmemoryPolicy: string | undefined;
    try {
      const reply = (await client.config('GET', 'maxmemory-policy')) as unknown;
      if (Array.isArray(reply) && typeof reply[1] === 'string') maxmemoryPolicy = reply[1];
    } catch (error) {
      this.#emitWarning({
        code: 'SERVER_INFO_UNAVAILABLE',
        message: `could not read maxmemory-policy from Redis at ${this.address} (check that it is noeviction yourself): ${this.#redactor.error(error).message}`,
      });
    }
    this.#serverInfo = { version, maxmemoryPolicy };
    if (maxmemoryPolicy !== undefined && maxmemoryPolicy !== 'noeviction') {
      this.#emitWarning({
        code: 'MAXMEMORY_POLICY',
        message: `Redis at ${this.address} has maxmemory-policy '${maxmemoryPolicy}': under memory pressure it evicts keys, and queues (BullMQ) lose jobs. Set it to 'noeviction'.`,
      });
    }
  }

  async #runHealthCheck(): Promise<HealthReport> {
    const established = [...this.#connections.values()].filter(
      (tracked) => tracked.established || tracked.fatal !== undefined,
    );
    const connections = await Promise.all(established.map((tracked) => this.#checkOne(tracked)));
    const command = connections.find((connection) => connection.role === 'command');
    const report: HealthReport = {
      healthy:
        this.#state === 'connected' &&
        this.#failure === undefined &&
        connections.every((connection) => connection.healthy),
      latencyMs: command?.latencyMs,
      checkedAt: Date.now(),
      connections,
    };
    this.#lastHealth = report;
    this.#emit('health', report);
    return report;
  }

  async #checkOne(tracked: Tracked): Promise<ConnectionHealth> {
    const base = { ...tracked.ref, status: tracked.client.status as string };
    if (!this.#connectionUsable(tracked)) {
      tracked.lastCheckOk = false;
      return { ...base, healthy: false, latencyMs: undefined };
    }
    // A PING would queue behind the blocking command and prove nothing.
    if (tracked.ref.role === 'blocking') return { ...base, healthy: true, latencyMs: undefined };
    // At most one PING in flight per connection, so a frozen server does not pile them up.
    if (tracked.pendingPing === undefined) {
      const startedAt = performance.now();
      tracked.pendingPing = tracked.client
        .ping()
        .then(
          () => {
            // A late answer still proves the connection works: recovery shows at once, not at the next check.
            tracked.lastCheckOk = true;
            tracked.failedChecks = 0;
            return performance.now() - startedAt;
          },
          () => undefined,
        )
        .finally(() => {
          tracked.pendingPing = undefined;
        });
    }
    const latencyMs = await within(tracked.pendingPing, this.#config.healthCheckTimeoutMs);
    const healthy = latencyMs !== undefined && this.#connectionUsable(tracked);
    tracked.lastCheckOk = healthy;
    if (!healthy) this.#checkFailed(tracked);
    return { ...base, healthy, latencyMs: latencyMs === undefined ? undefined : Math.round(latencyMs * 100) / 100 };
  }

  /**
   * A socket that stays `ready` but answers nothing (half-open: frozen server, lost network) is
   * dropped after FAILED_CHECKS_BEFORE_RECONNECT failed PINGs, so ioredis reconnects and the offline
   * bound applies to what waits on it.
   */
  #checkFailed(tracked: Tracked): void {
    tracked.failedChecks += 1;
    if (tracked.failedChecks < FAILED_CHECKS_BEFORE_RECONNECT || tracked.client.status !== 'ready') return;
    tracked.failedChecks = 0;
    tracked.lastError = `no answer to ${FAILED_CHECKS_BEFORE_RECONNECT} health checks`;
    tracked.client.stream.destroy();
  }

  // ---------------------------------------------------------------- events

  #emitWarning(warning: ConnectionWarning): void {
    this.#emit('warning', warning);
  }

  /**
   * Emits without ever throwing into ioredis or a timer: an `error` with no listener is dropped,
   * and an error thrown by a listener is routed to `error`.
   */
  #emit<K extends keyof RedisConnectionManagerEvents>(event: K, ...args: RedisConnectionManagerEvents[K]): void {
    emitSafely(this, event, ...args);
  }
}
