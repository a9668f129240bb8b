export { RedisConnectionManager } from './redis-connection-manager.js';
export type {
  ConnectionManagerOptions,
  ConnectionManagerState,
  DedicatedConnectionOptions,
  ServerInfo,
} from './redis-connection-manager.js';
export { DEFAULT_CONNECTION_OPTIONS } from './options.js';
export type { RedisConfig, ReconnectOptions } from './options.js';
export type {
  ConnectionHealth,
  ConnectionRef,
  ConnectionRole,
  ConnectionWarning,
  ConnectionWarningCode,
  HealthReport,
  RedisConnectionManagerEvents,
} from './events.js';
export {
  ConnectionClosedError,
  RedisAuthError,
  RedisConfigError,
  RedisTlsError,
  RedisUnavailableError,
  ShimConnectionError,
  isConnectionError,
} from './errors.js';
export type { ClosedErrorCode, ConnectionErrorCode, ConnectionErrorOptions, UnavailableErrorCode } from './errors.js';
export type { DeadLetterListOptions, DeadLetterRecord, DeadLetterStore } from './dead-letters.js';
