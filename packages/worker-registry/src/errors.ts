/** Every `code` an error of `@shim/worker-registry` can carry. */
export type WorkerRegistryErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_WORKER_ID'
  | 'INVALID_METADATA'
  | 'INVALID_STATUS'
  | 'ALREADY_REGISTERED'
  | 'NOT_REGISTERED'
  | 'REPLACED'
  | 'MALFORMED_EVENT'
  | 'REGISTRY_CLOSED';

/**
 * The error of this package. Match on `code` (or {@link isWorkerRegistryError}), not on the message.
 * `NOT_REGISTERED` means "register again": the worker is unknown, was reaped or its TTL passed.
 * `REPLACED` means the opposite: the id was registered again under a newer incarnation, so this
 * registration is over and must not come back.
 */
export class WorkerRegistryError extends Error {
  override readonly name = 'WorkerRegistryError';
  readonly code: WorkerRegistryErrorCode;
  /** The worker concerned, when there is one. */
  readonly workerId: string | undefined;

  constructor(code: WorkerRegistryErrorCode, message: string, options: { workerId?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.workerId = options.workerId;
  }
}

/** True when `value` is an error of this package (optionally with `code`); works across ESM/CJS copies. */
export function isWorkerRegistryError(value: unknown, code?: WorkerRegistryErrorCode): value is WorkerRegistryError {
  if (!(value instanceof Error) || value.name !== 'WorkerRegistryError') return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
