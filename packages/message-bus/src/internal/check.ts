import { createValidator, type Validator } from '@shim/connection/kit';
import { MessageBusError, type MessageBusErrorCode } from '../errors.js';

/** The kit's validator, throwing this package's {@link MessageBusError}. */
export const check: Validator<MessageBusErrorCode> = createValidator<MessageBusErrorCode>(
  ({ code, message }) => new MessageBusError(code, message),
);

/** A count of messages (`peek`, `deadLetters`, `list`): 1 to 10,000. */
export function checkCount(value: unknown, field = 'count'): number {
  return check.integer(value, { field, code: 'INVALID_OPTION', max: 10_000, unit: 'messages' });
}

/** A handler, listener or other callback argument. */
export function checkHandler<T>(handler: T): T {
  if (typeof handler !== 'function') check.fail('INVALID_OPTION', 'handler', 'handler must be a function');
  return handler;
}
