import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { emitSafely } from './emit.js';
import { ConnectionClosedError, RedisUnavailableError, type ShimConnectionError } from './errors.js';
import type { ConnectionRef, ConnectionRole, HealthReport, RedisConnectionManagerEvents } from './events.js';
import { HealthMonitor, type ServerInfo } from './health-monitor.js';
import { connectionHandlers, retryDelay, tlsHint, type EventContext } from './connection-events.js';
import { Redactor } from './internal/redact.js';
import { joinKey, type KeyPart } from './keys.js';
import { resolveConfig, type RedisConfig, type ResolvedConfig } from './options.js';
import { TrackedConnections, type ManagerContext, type Tracked } from './tracked-connections.js';

export type { ServerInfo } from './health-monitor.js';

/**
 * Lifecycle of a manager. `closed` is final. `failed`: the command connection stopped for good after
 * connecting (auth/TLS/db failure, or `reconnect.maxAttempts` used up); `connect()` rejects with that
 * error — disconnect and make a new manager.
 */
export type ConnectionManagerState = 'idle' | 'connecting' | 'connected' | 'failed' | 'closed';

/** The resolved options a manager exposes: no password, and TLS only as a flag (its options can hold keys). */
export type ConnectionManagerOptions = Readonly<Omit<ResolvedConfig, 'password' | 'tls'> & { tls: boolean }>;

/** Options of {@link RedisConnectionManager.createConnection}. */
export interface DedicatedConnectionOptions {
  /** Name of the connection (events, `CLIENT LIST`); must be unique in the manager. @defaultValue `<role>-<n>` */
  name?: string | undefined;
}

const noop = (): void => {};

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
  readonly #context: ManagerContext;
  /** What the ioredis event handlers of every connection need: built once. */
  readonly #events: EventContext;
  readonly #connections: TrackedConnections;
  readonly #health: HealthMonitor;
  #state: ConnectionManagerState = 'idle';
  #command: Tracked | undefined;
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #healthTimer: NodeJS.Timeout | undefined;
  #healthRun: Promise<HealthReport> | undefined;
  /** Why the command connection stopped for good after connecting (state `failed`). */
  #failure: ShimConnectionError | undefined;
  #counter = 0;

  /** Validates `config` at once; throws `RedisConfigError` naming the option at fault. Connects nothing yet. */
  constructor(config: RedisConfig = {}) {
    super();
    this.#config = resolveConfig(config);
    this.#redactor = new Redactor([this.#config.password]);
    this.#context = {
      config: this.#config,
      address: this.#config.address,
      connected: () => this.#state === 'connected',
      closedError: () => this.#closedError(),
      emit: (event, ...args) => {
        emitSafely(this, event, ...args);
      },
    };
    this.#connections = new TrackedConnections(this.#context);
    this.#health = new HealthMonitor(this.#context, this.#connections, this.#redactor);
    this.#events = {
      ...this.#context,
      redactor: this.#redactor,
      connections: this.#connections,
      closed: () => this.#state === 'closed',
      report: (tracked, error) => this.#report(tracked, error),
      recovered: (tracked) => {
        if (this.#state !== 'connected') return;
        // Do not wait for the next interval to clear this connection's failed check, and re-read the server: it may be a new one.
        void this.#health.checkOne(tracked);
        if (tracked.ref.role === 'command') void this.#health.inspectServer(tracked).catch(noop);
      },
    };
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
    for (const tracked of this.#connections.all()) {
      // A dedicated connection still being created (createConnection() pending) is not judged yet.
      if (!tracked.established && tracked.fatal === undefined) continue;
      if (!this.#connections.usable(tracked)) return false;
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
      await this.#connections.firstReady(tracked, this.#config.connectTimeoutMs);
    } catch (error) {
      await this.#connections.close(tracked);
      throw error;
    }
    return tracked.client;
  }

  /** Closes a connection obtained from {@link RedisConnectionManager.createConnection}. Unknown connections are ignored. */
  async releaseConnection(connection: Redis): Promise<void> {
    for (const tracked of this.#connections.all()) {
      if (tracked.client === connection && tracked.ref.role !== 'command') {
        await this.#connections.close(tracked);
        return;
      }
    }
  }

  /** The connections the manager owns right now. */
  listConnections(): ConnectionRef[] {
    return this.#connections.all().map((tracked) => ({ ...tracked.ref }));
  }

  /** What was read from the server at connect, or undefined before that. */
  getServerInfo(): ServerInfo | undefined {
    return this.#health.serverInfo;
  }

  /** The last health report, or undefined before the first check. */
  getLastHealth(): HealthReport | undefined {
    return this.#health.lastReport;
  }

  /**
   * Runs a health check now (the periodic one calls this): PING on the command and subscriber
   * connections (bounded by `healthCheckTimeoutMs`), status only for blocking connections.
   * Emits and returns the report. Concurrent calls share one check.
   */
  checkHealth(): Promise<HealthReport> {
    const fine = (): boolean => this.#state === 'connected' && this.#failure === undefined;
    this.#healthRun ??= this.#health.check(fine).finally(() => {
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
      const ready = this.#connections.firstReady(tracked).then(() => this.#health.inspectServer(tracked));
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
                    tlsHint(this.#context, tracked),
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
      await this.#connections.close(tracked);
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
    const all = this.#connections.all();
    for (const tracked of all) this.#connections.settle(tracked, error);
    await Promise.all(all.map((tracked) => this.#connections.close(tracked)));
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

  #open(role: ConnectionRole, name: string): Tracked {
    const events = this.#events;
    return this.#connections.open(role, name, {
      retryDelay: (tracked, times) => retryDelay(events, tracked, times),
      handlers: (tracked) => connectionHandlers(events, tracked),
    });
  }

  /** Rejects the pending `connect()`/`createConnection()` of `tracked`, or else emits `error`. */
  #report(tracked: Tracked, error: ShimConnectionError): void {
    if (tracked.waiter !== undefined) {
      this.#connections.settle(tracked, error);
      return;
    }
    if (tracked.ref.role === 'command' && this.#state === 'connected') this.#failure = error;
    this.#emit('error', error);
  }

  /**
   * Emits without ever throwing into ioredis or a timer: an `error` with no listener is dropped,
   * and an error thrown by a listener is routed to `error`.
   */
  #emit<K extends keyof RedisConnectionManagerEvents>(event: K, ...args: RedisConnectionManagerEvents[K]): void {
    emitSafely(this, event, ...args);
  }
}
