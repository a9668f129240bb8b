import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { RedisConfigError } from './errors.js';
import { namespaceProblem } from './keys.js';

/** How a dropped connection is retried: exponential backoff with jitter and a cap. */
export interface ReconnectOptions {
  /** Delay before the first attempt of an outage. Unit: ms. @defaultValue 100 */
  initialDelayMs?: number | undefined;
  /** Upper bound of any delay. Unit: ms. @defaultValue 5_000 */
  maxDelayMs?: number | undefined;
  /** Each delay is the previous one times this. @defaultValue 2 */
  factor?: number | undefined;
  /** Share of each delay that is random, from 0 (none) to 1 (full jitter), so many clients do not reconnect in step. @defaultValue 0.2 */
  jitter?: number | undefined;
  /**
   * Consecutive failed attempts after which the manager gives up on a connection, emits an
   * `error` with code `RECONNECT_EXHAUSTED` and stays unhealthy. `Infinity` never gives up.
   * @defaultValue Infinity
   */
  maxAttempts?: number | undefined;
}

/** Configuration of a {@link RedisConnectionManager}. Every field is optional. */
export interface RedisConfig {
  /**
   * `redis://[[username][:password]@]host[:port][/db]` or `rediss://…` (TLS). Explicit
   * `host`/`port`/`username`/`password`/`db`/`tls` fields override the URL's parts.
   */
  url?: string | undefined;
  /** @defaultValue '127.0.0.1' */
  host?: string | undefined;
  /** @defaultValue 6379 */
  port?: number | undefined;
  /** ACL user name (Redis 6+). */
  username?: string | undefined;
  /** Password (`requirepass` or the ACL user's). Never appears in any error, log or event. */
  password?: string | undefined;
  /** Database index. @defaultValue 0 */
  db?: number | undefined;
  /** `true` or Node TLS options (`ca`, `servername`, …) to use TLS; a `rediss://` URL implies `true`. */
  tls?: boolean | TlsConnectionOptions | undefined;
  /** Prefix of every key and channel the SHIM packages build (`<namespace>:<package>:…`). @defaultValue 'shim' */
  namespace?: string | undefined;
  /** Base of the `CLIENT SETNAME` of each connection (`<connectionName>:<connection name>`). @defaultValue 'shim' */
  connectionName?: string | undefined;
  /** Longest time `connect()` may take (socket, handshake, server checks). Unit: ms. @defaultValue 10_000 */
  connectTimeoutMs?: number | undefined;
  /** Time between health checks (PING on every non-blocking connection). Unit: ms. @defaultValue 5_000 */
  healthCheckIntervalMs?: number | undefined;
  /** A PING not answered within this counts as failed; capped at `healthCheckIntervalMs`. Unit: ms. @defaultValue 2_000 */
  healthCheckTimeoutMs?: number | undefined;
  /** Backoff of automatic reconnects. */
  reconnect?: ReconnectOptions | undefined;
  /**
   * `false`: `connect()` fails at once when Redis refuses or cannot be reached (within `connectTimeoutMs`).
   * `true`: `connect()` keeps retrying with backoff until Redis appears (or `reconnect.maxAttempts` is used up).
   * @defaultValue false
   */
  waitForServer?: boolean | undefined;
  /**
   * How long commands on the command and subscriber connections wait for a reconnect once the
   * connection has dropped. When it runs out, waiting commands fail with `OFFLINE_TIMEOUT` and new
   * ones fail at once until the connection is back. Unit: ms. @defaultValue 10_000
   */
  offlineCommandTimeoutMs?: number | undefined;
  /** How long `disconnect()` waits for a graceful QUIT before it drops a socket. Unit: ms. @defaultValue 2_000 */
  quitTimeoutMs?: number | undefined;
}

/** Defaults merged under every {@link RedisConfig}. */
export const DEFAULT_CONNECTION_OPTIONS = {
  host: '127.0.0.1',
  port: 6379,
  db: 0,
  namespace: 'shim',
  connectionName: 'shim',
  connectTimeoutMs: 10_000,
  healthCheckIntervalMs: 5_000,
  healthCheckTimeoutMs: 2_000,
  waitForServer: false,
  offlineCommandTimeoutMs: 10_000,
  quitTimeoutMs: 2_000,
  reconnect: {
    initialDelayMs: 100,
    maxDelayMs: 5_000,
    factor: 2,
    jitter: 0.2,
    maxAttempts: Number.POSITIVE_INFINITY,
  },
} as const;

/** A {@link RedisConfig} after defaults, URL parsing and validation. */
export interface ResolvedConfig {
  host: string;
  port: number;
  username: string | undefined;
  password: string | undefined;
  db: number;
  tls: TlsConnectionOptions | undefined;
  namespace: string;
  connectionName: string;
  connectTimeoutMs: number;
  healthCheckIntervalMs: number;
  healthCheckTimeoutMs: number;
  waitForServer: boolean;
  offlineCommandTimeoutMs: number;
  quitTimeoutMs: number;
  reconnect: Required<{ [K in keyof ReconnectOptions]: number }>;
  /** `host:port`, for messages. */
  address: string;
}

interface UrlParts {
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: boolean;
}

function parseUrl(url: unknown): UrlParts {
  if (typeof url !== 'string') throw new RedisConfigError('url', `expected a string, got ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The URL is not echoed: it may hold a password.
    throw new RedisConfigError('url', 'not a valid URL (expected redis://host:port or rediss://host:port)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisConfigError('url', `unsupported scheme '${parsed.protocol}' (expected redis: or rediss:)`);
  }
  const parts: UrlParts = { tls: parsed.protocol === 'rediss:' };
  if (parsed.hostname !== '') parts.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (parsed.port !== '') parts.port = Number(parsed.port);
  try {
    if (parsed.username !== '') parts.username = decodeURIComponent(parsed.username);
    if (parsed.password !== '') parts.password = decodeURIComponent(parsed.password);
  } catch {
    throw new RedisConfigError('url', 'the user name or password is not valid percent-encoding (encode % as %25)');
  }
  const path = parsed.pathname.replace(/^\//, '');
  if (path !== '') {
    // The path is not echoed either: a mistyped URL (missing //, unencoded /) puts the password there.
    if (!/^\d+$/.test(path))
      throw new RedisConfigError('url', 'the path must be a database number, like redis://host:6379/0');
    parts.db = Number(path);
  }
  return parts;
}

function integer(option: string, value: unknown, [min, max]: [number, number] = [0, Number.MAX_SAFE_INTEGER]): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RedisConfigError(option, `expected an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function positiveMs(option: string, value: unknown): number {
  return integer(option, value, [1, 2_147_483_647]);
}

function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new RedisConfigError(option, `expected a string, got ${typeof value}`);
  return value;
}

function resolveReconnect(value: ReconnectOptions | undefined): ResolvedConfig['reconnect'] {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new RedisConfigError('reconnect', 'expected an object');
  }
  const defaults = DEFAULT_CONNECTION_OPTIONS.reconnect;
  const initialDelayMs = positiveMs('reconnect.initialDelayMs', value?.initialDelayMs ?? defaults.initialDelayMs);
  const maxDelayMs = positiveMs('reconnect.maxDelayMs', value?.maxDelayMs ?? defaults.maxDelayMs);
  if (maxDelayMs < initialDelayMs) {
    throw new RedisConfigError('reconnect.maxDelayMs', `must be at least reconnect.initialDelayMs (${initialDelayMs})`);
  }
  const factor = value?.factor ?? defaults.factor;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw new RedisConfigError('reconnect.factor', `expected a number of at least 1, got ${String(factor)}`);
  }
  const jitter = value?.jitter ?? defaults.jitter;
  if (typeof jitter !== 'number' || !(jitter >= 0 && jitter <= 1)) {
    throw new RedisConfigError('reconnect.jitter', `expected a number from 0 to 1, got ${String(jitter)}`);
  }
  const maxAttempts = value?.maxAttempts ?? defaults.maxAttempts;
  if (maxAttempts !== Number.POSITIVE_INFINITY)
    integer('reconnect.maxAttempts', maxAttempts, [1, Number.MAX_SAFE_INTEGER]);
  return { initialDelayMs, maxDelayMs, factor, jitter, maxAttempts };
}

/** Applies defaults, parses `url` and validates every option. Throws {@link RedisConfigError}. */
export function resolveConfig(config: RedisConfig = {}): ResolvedConfig {
  if (typeof config !== 'object' || config === null) {
    throw new RedisConfigError('config', 'expected an object');
  }
  const fromUrl = config.url === undefined ? {} : parseUrl(config.url);
  const d = DEFAULT_CONNECTION_OPTIONS;

  const host = config.host ?? fromUrl.host ?? d.host;
  if (typeof host !== 'string' || host.length === 0) throw new RedisConfigError('host', 'expected a non-empty string');
  const port = integer('port', config.port ?? fromUrl.port ?? d.port, [1, 65_535]);
  const db = integer('db', config.db ?? fromUrl.db ?? d.db);
  const username = optionalString('username', config.username ?? fromUrl.username);
  const password = optionalString('password', config.password ?? fromUrl.password);

  let tls: TlsConnectionOptions | undefined;
  const tlsOption = config.tls ?? fromUrl.tls ?? false;
  if (tlsOption === true) tls = {};
  else if (typeof tlsOption === 'object' && tlsOption !== null) tls = tlsOption;
  else if (tlsOption !== false) throw new RedisConfigError('tls', 'expected a boolean or Node TLS options');
  // A rediss:// URL with explicit TLS options: both ask for TLS; the options win.
  if (tls !== undefined && fromUrl.tls === true && typeof config.tls === 'object') tls = config.tls;

  const namespace = config.namespace ?? d.namespace;
  const problem = namespaceProblem(namespace);
  if (problem !== undefined) throw new RedisConfigError('namespace', problem);

  const connectionName = config.connectionName ?? d.connectionName;
  if (typeof connectionName !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(connectionName)) {
    throw new RedisConfigError('connectionName', 'expected 1 to 64 printable characters without spaces');
  }

  const waitForServer = config.waitForServer ?? d.waitForServer;
  if (typeof waitForServer !== 'boolean') throw new RedisConfigError('waitForServer', 'expected a boolean');

  const healthCheckIntervalMs = positiveMs(
    'healthCheckIntervalMs',
    config.healthCheckIntervalMs ?? d.healthCheckIntervalMs,
  );
  const healthCheckTimeoutMs = Math.min(
    positiveMs('healthCheckTimeoutMs', config.healthCheckTimeoutMs ?? d.healthCheckTimeoutMs),
    healthCheckIntervalMs,
  );

  return {
    host,
    port,
    username,
    password,
    db,
    tls,
    namespace,
    connectionName,
    connectTimeoutMs: positiveMs('connectTimeoutMs', config.connectTimeoutMs ?? d.connectTimeoutMs),
    healthCheckIntervalMs,
    healthCheckTimeoutMs,
    waitForServer,
    offlineCommandTimeoutMs: positiveMs(
      'offlineCommandTimeoutMs',
      config.offlineCommandTimeoutMs ?? d.offlineCommandTimeoutMs,
    ),
    quitTimeoutMs: positiveMs('quitTimeoutMs', config.quitTimeoutMs ?? d.quitTimeoutMs),
    reconnect: resolveReconnect(config.reconnect),
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
  };
}
