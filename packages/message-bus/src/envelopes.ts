import { randomBytes } from 'node:crypto';
import { bytesOver } from '@shim/connection/kit';
import { parseEnvelope, type Envelope } from './codec.js';
import { MessageBusError } from './errors.js';
import { describeError } from './internal/describe.js';
import type { ResolvedBusOptions } from './options.js';

/**
 * Wraps messages in numbered envelopes and checks what arrives, with the bus' codec and size
 * limit: one per bus, shared by Pub/Sub and inboxes.
 */
export class Envelopes {
  readonly #options: ResolvedBusOptions;
  /** Random id of this bus instance: publishers are told apart by it, not by their (optional) names. */
  readonly #src = randomBytes(9).toString('base64url');
  /** Last number used per channel (`c:<name>`) or recipient (`i:<name>`). */
  readonly #seq = new Map<string, number>();

  constructor(options: ResolvedBusOptions) {
    this.#options = options;
  }

  /** Encodes `message` as the next of `sequenceKey`; throws (numbering nothing) when it cannot be sent. */
  encode(sequenceKey: string, message: unknown): string {
    if (message === undefined) {
      throw new MessageBusError('UNSERIALIZABLE_MESSAGE', 'message is undefined: send null or an object instead');
    }
    const { codec, maxMessageBytes, sender } = this.#options;
    const seq = (this.#seq.get(sequenceKey) ?? 0) + 1;
    const envelope: Envelope = { v: 1, id: `${this.#src}:${seq}`, ts: Date.now(), src: this.#src, seq, p: message };
    if (sender !== undefined) envelope.s = sender;
    let raw: string;
    try {
      raw = codec.encode(envelope);
    } catch (error) {
      if (error instanceof MessageBusError) throw error;
      const reason = `the codec could not encode the message: ${describeError(error)}`;
      throw new MessageBusError('UNSERIALIZABLE_MESSAGE', reason, { cause: error });
    }
    const bytes = bytesOver(raw, maxMessageBytes);
    if (bytes !== undefined) {
      throw new MessageBusError(
        'MESSAGE_TOO_LARGE',
        `message is ${bytes} bytes encoded, over the limit of ${maxMessageBytes} (option maxMessageBytes)`,
      );
    }
    this.#seq.set(sequenceKey, seq);
    return raw;
  }

  /** The envelope in `raw`, or why it is not one. Never throws. */
  decode(raw: string): Envelope | string {
    const { codec, maxMessageBytes } = this.#options;
    if (bytesOver(raw, maxMessageBytes) !== undefined) return `larger than ${maxMessageBytes} bytes`;
    let value: unknown;
    try {
      value = codec.decode(raw);
    } catch (error) {
      return `cannot be decoded: ${describeError(error)}`;
    }
    return parseEnvelope(value);
  }
}
