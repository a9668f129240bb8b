/** For promises whose failure is handled elsewhere (best-effort cleanup): `.catch(ignore)`. */
export const ignore = (): undefined => undefined;

/** Outcome of {@link settleWithin}: `ok` with the value, or not (rejected or out of time). */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Waits for `promise` at most `ms` (an unref'd timer: never keeps the process alive). Never rejects. */
export function settleWithin<T>(promise: Promise<T>, ms: number): Promise<Settled<T>> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ ok: false, error: new Error(`timed out after ${ms} ms`) }), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ ok: true, value });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ ok: false, error });
      },
    );
  });
}

/** How long a forced close may take once the graceful one ran out of time. Unit: ms. */
export const FORCED_CLOSE_MS = 500;
