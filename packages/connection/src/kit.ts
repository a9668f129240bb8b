/**
 * `@shim/connection/kit`: what the SHIM packages share besides the connection manager — the one
 * Pub/Sub subscriber per manager, the validation kit, the Lua script runner, the faithful-JSON
 * and prototype-safe parsing helpers, safe event emission and key builders. Versioned with the
 * same care as the main entry (a breaking change here is a major release), but meant for packages
 * built on SHIM, not for applications.
 */
export { SubscriptionHub, subscriptionHub } from './subscription-hub.js';
export type { ChannelListener, HubSubscribeOptions, HubUnsubscribe, PatternListener } from './subscription-hub.js';
export {
  MAX_TIMER_MS,
  bytesOver,
  createValidator,
  describeType,
  hasLoneSurrogate,
  isConnectionManagerLike,
} from './validation.js';
export type { IntegerRules, JsonRules, NameRules, Problem, ProblemFactory, Validator } from './validation.js';
export { isFaithfulJson, jsonProblem, parseJsonWithoutProto } from './json.js';
export type { FaithfulJsonOptions } from './json.js';
export { emitSafely, toError } from './emit.js';
export type { SafeEmitter } from './emit.js';
export { luaScript, runLuaScript } from './lua-script.js';
export type { LuaScript, LuaScriptCall } from './lua-script.js';
export { hashTag, joinKey, namespaceProblem } from './keys.js';
export type { KeyPart } from './keys.js';
export { resolveConfig } from './options.js';
export type { ResolvedConfig } from './options.js';
