import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describeError } from './internal/describe.js';

/** Every `code` an error of `@shim/message-bus` can carry. */
export type MessageBusErrorCode =
  | 'INVALID_OPTION'
  | 'INVALID_CHANNEL'
  | 'INVALID_RECIPIENT'
  | 'UNSERIALIZABLE_MESSAGE'
  | 'MESSAGE_TOO_LARGE'
  | 'VALIDATION_FAILED'
  | 'HANDLER_FAILED'
  | 'BUS_CLOSED'
  | 'NOT_FOUND';

const ERROR_NAMES = new Set(['MessageBusError', 'MessageValidationError', 'MessageHandlerError']);

/**
 * Base error of this package. Match on `code` (or {@link isMessageBusError}), not on the message.
 * Bad input (`INVALID_*`, `UNSERIALIZABLE_MESSAGE`, `MESSAGE_TOO_LARGE`, `VALIDATION_FAILED`) is
 * thrown before anything is sent: retrying the same call never helps. `NOT_FOUND`: the dead letter
 * asked for (`inbox.dead.retry(id)`) does not exist.
 */
export class MessageBusError extends Error {
  override readonly name: string = 'MessageBusError';
  readonly code: MessageBusErrorCode;

  constructor(code: MessageBusErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A message did not match its channel's schema (on publish: thrown, nothing sent). */
export class MessageValidationError extends MessageBusError {
  override readonly name = 'MessageValidationError';
  /** The schema's issues, as the Standard Schema validator reported them. */
  readonly issues: readonly StandardSchemaV1.Issue[];

  constructor(channel: string, issues: readonly StandardSchemaV1.Issue[]) {
    super('VALIDATION_FAILED', `message for '${channel}' does not match its schema: ${formatIssues(issues)}`);
    this.issues = issues;
  }
}

/** A handler threw or rejected. Emitted as `error`; the other handlers and later messages go on. */
export class MessageHandlerError extends MessageBusError {
  override readonly name = 'MessageHandlerError';
  /** The channel (or inbox recipient) the message came from. */
  readonly channel: string;
  /** Id of the message the handler failed on. */
  readonly messageId: string;

  constructor(channel: string, messageId: string, cause: unknown) {
    const reason = describeError(cause);
    super('HANDLER_FAILED', `a handler for '${channel}' failed on message ${messageId}: ${reason}`, { cause });
    this.channel = channel;
    this.messageId = messageId;
  }
}

/** `path.to.field: message; …` from Standard Schema issues. */
export function formatIssues(issues: readonly StandardSchemaV1.Issue[]): string {
  return issues
    .slice(0, 5)
    .map((issue) => {
      const path = (issue.path ?? [])
        .map((segment) => String(typeof segment === 'object' ? segment.key : segment))
        .join('.');
      return path === '' ? issue.message : `${path}: ${issue.message}`;
    })
    .join('; ')
    .concat(issues.length > 5 ? `; and ${issues.length - 5} more` : '');
}

/** True when `value` is an error of this package (optionally with `code`); works across ESM/CJS copies. */
export function isMessageBusError(value: unknown, code?: MessageBusErrorCode): value is MessageBusError {
  if (!(value instanceof Error) || !ERROR_NAMES.has(value.name)) return false;
  const actual = (value as { code?: unknown }).code;
  return typeof actual === 'string' && (code === undefined || actual === code);
}
