/** What {@link emitSafely} needs of an emitter (any Node.js `EventEmitter`, typed or not). */
export interface SafeEmitter {
  emit(event: string, ...args: never[]): boolean;
  listenerCount(event: string): number;
}

/**
 * A thrown value as an `Error`: itself when it is one, else an `Error` whose message is its text.
 * Never throws: `String()` does for `Object.create(null)` or a throwing `toString`, and even
 * `instanceof` does for a revoked Proxy.
 */
export function toError(value: unknown): Error {
  try {
    if (value instanceof Error) return value;
    try {
      return new Error(String(value));
    } catch {
      return new Error(Object.prototype.toString.call(value));
    }
  } catch {
    return new Error('a value that cannot be described was thrown');
  }
}

/**
 * Emits `event` without ever throwing, for the SHIM packages whose events fire from timers and
 * socket callbacks, where a throw would crash the process: an `error` with no listener is dropped
 * (Node.js would throw it), and a listener's throw is emitted as `error` instead (and dropped when
 * that throws too).
 */
export function emitSafely(emitter: SafeEmitter, event: string, ...args: unknown[]): void {
  if (event === 'error' && emitter.listenerCount('error') === 0) return;
  try {
    (emitter.emit as (event: string, ...args: unknown[]) => boolean).call(emitter, event, ...args);
  } catch (error) {
    if (event !== 'error') emitSafely(emitter, 'error', toError(error));
  }
}
