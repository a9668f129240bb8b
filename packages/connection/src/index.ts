export { RedisConnectionManager } from './redis-connection-manager.js';
export type { ConnectionManagerState, DedicatedConnectionOptions, ServerInfo } from './redis-connection-manager.js';
export { DEFAULT_CONNECTION_OPTIONS, resolveConfig } from './options.js';
export type { RedisConfig, ReconnectOptions, ResolvedConfig } from './options.js';
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
export { hashTag, joinKey, namespaceProblem } from './keys.js';
export { isFaithfulJson, jsonProblem, parseJsonWithoutProto, type FaithfulJsonOptions } from './json.js';
export { emitSafely, toError, type SafeEmitter } from './emit.js';
export { luaScript, runLuaScript } from './lua-script.js';
export type { LuaScript, LuaScriptCall } from './lua-script.js';
export type { KeyPart } from './keys.js';
