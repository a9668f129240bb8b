export { WorkerRegistry } from './worker-registry.js';
export type {
  AutoHeartbeatOptions,
  HeartbeatOptions,
  ListFilter,
  RegisterOptions,
  StopHeartbeat,
} from './worker-registry.js';
export { isWorkerStatus } from './worker-info.js';
export type { WorkerInfo, WorkerStatus } from './worker-info.js';
export type { RegistryEvent, RegistryEventHandler, RegistryEventType, WorkerRegistryEvents } from './events.js';
export { DEFAULT_WORKER_REGISTRY_OPTIONS } from './options.js';
export type { WorkerRegistryOptions } from './options.js';
export { WorkerRegistryError, isWorkerRegistryError } from './errors.js';
export type { WorkerRegistryErrorCode } from './errors.js';
export { assertWorkerId, registryKeys } from './keys.js';
export type { RegistryKeys } from './keys.js';
