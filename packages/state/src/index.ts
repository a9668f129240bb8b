export { StateManager } from './state-manager.js';
export type {
  AtomicUpdateOptions,
  CleanupOptions,
  DeleteOptions,
  IncrementOptions,
  KeyedStateEntry,
  Lock,
  LockContext,
  LockOptions,
  ServerUpdateOptions,
  SetOptions,
  SetResult,
  StateEntry,
} from './types.js';
export type { ChangeHandler, ChangeType, StateChange, StateManagerEvents, Unsubscribe } from './events.js';
export { DEFAULT_STATE_MANAGER_OPTIONS } from './options.js';
export type { StateManagerOptions } from './options.js';
export { LockError, StateConflictError, StateError, isStateError } from './errors.js';
export type { StateErrorCode } from './errors.js';
export { assertKey, stateKeys, MAX_KEY_LENGTH } from './keys.js';
export type { StateKeys } from './keys.js';
