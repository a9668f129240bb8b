import { toError } from '@shim/connection/kit';

/** A thrown value as text, for messages. Never throws (see `toError` of `@shim/connection`). */
export function describeError(value: unknown): string {
  return toError(value).message;
}
