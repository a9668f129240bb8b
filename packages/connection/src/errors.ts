/** Every `code` an error of `@shim/connection` can carry. */
export type ConnectionErrorCode =
  | 'INVALID_CONFIG'
  | 'CONNECT_TIMEOUT'
  | 'UNREACHABLE'
  | 'RECONNECT_EXHAUSTED'
  | 'OFFLINE_TIMEOUT'
  | 'AUTH_FAILED'
  | 'TLS_FAILED'
  | 'NOT_CONNECTED'
  | 'MANAGER_CLOSED';

/** Codes of {@link RedisUnavailableError}: Redis could not be reached now; trying again later may work. */
export type UnavailableErrorCode = Extract<
  ConnectionErrorCode,
  'CONNECT_TIMEOUT' | 'UNREACHABLE' | 'RECONNECT_EXHAUSTED' | 'OFFLINE_TIMEOUT'
>;

/** Codes of {@link ConnectionClosedError}. */
export type ClosedErrorCode = Extract<ConnectionErrorCode, 'NOT_CONNECTED' | 'MANAGER_CLOSED'>;

const ERROR_NAMES = new Set([
  'RedisConfigError',
  'RedisUnavailableError',
  'RedisAuthError',
  'RedisTlsError',
  'ConnectionClosedError',
]);

/** Options shared by the error constructors. */
export interface ConnectionErrorOptions {
  /** `host:port` of the server concerned (never credentials). */
  address?: string | undefined;
  /** The underlying failure, already stripped of anything secret. */
  cause?: unknown;
}

/** Base of every error this package throws or emits. Match on `code` (or {@link isConnectionError}), not on the message. */
export abstract class ShimConnectionError extends Error {
  abstract readonly code: ConnectionErrorCode;
  /** `host:port` of the server concerned, when there is one. */
  readonly address: string | undefined;

  constructor(message: string, options: ConnectionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.address = options.address;
  }
}

/** A configuration value is invalid; the message names the option to change. Fatal: fix the config. */
export class RedisConfigError extends ShimConnectionError {
  override readonly name = 'RedisConfigError';
  readonly code = 'INVALID_CONFIG' as const;
  /** The option at fault, e.g. `reconnect.maxDelayMs`. */
  readonly option: string;

  constructor(option: string, problem: string, options?: ConnectionErrorOptions) {
    super(`invalid option '${option}': ${problem}`, options);
    this.option = option;
  }
}

/** Redis could not be reached (now). Retryable: the same call may work later. */
export class RedisUnavailableError extends ShimConnectionError {
  override readonly name = 'RedisUnavailableError';
  readonly code: UnavailableErrorCode;

  constructor(code: UnavailableErrorCode, message: string, options?: ConnectionErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Redis rejected the credentials. Fatal: retrying with the same password never helps, so the manager stops trying. */
export class RedisAuthError extends ShimConnectionError {
  override readonly name = 'RedisAuthError';
  readonly code = 'AUTH_FAILED' as const;
}

/** The TLS handshake failed (untrusted certificate, wrong host name, TLS/plain mismatch). Fatal. */
export class RedisTlsError extends ShimConnectionError {
  override readonly name = 'RedisTlsError';
  readonly code = 'TLS_FAILED' as const;
}

/** The manager is not connected yet (`NOT_CONNECTED`) or was disconnected for good (`MANAGER_CLOSED`). */
export class ConnectionClosedError extends ShimConnectionError {
  override readonly name = 'ConnectionClosedError';
  readonly code: ClosedErrorCode;

  constructor(code: ClosedErrorCode, message: string, options?: ConnectionErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/**
 * True when `value` is an error of this package (optionally with the given `code`).
 * Checks `name` and `code`, not `instanceof`, so it also works across ESM/CJS copies of the package.
 */
export function isConnectionError(value: unknown, code?: ConnectionErrorCode): value is ShimConnectionError {
  if (!(value instanceof Error) || !ERROR_NAMES.has(value.name)) return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
