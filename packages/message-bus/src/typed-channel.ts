import type { StandardSchemaV1 } from '@standard-schema/spec';
import { MessageValidationError } from './errors.js';
import { validate } from './internal/schema.js';
import type { Handler, Unsubscribe } from './types.js';

/** What a {@link TypedChannel} needs from its bus. */
export interface TypedChannelBinding<S extends StandardSchemaV1> {
  name: string;
  schema: S;
  publish(data: unknown): Promise<number>;
  subscribe(handler: Handler<StandardSchemaV1.InferOutput<S>>): Promise<Unsubscribe>;
  unsubscribe(handler?: Handler<never>): Promise<void>;
}

/**
 * A channel bound to a Standard Schema, made by `bus.channel(name, schema)`. `publish` takes the
 * schema's input type and sends nothing when validation fails; handlers get the schema's output type
 * and never see an invalid message (it is reported as `invalid-message` on the bus instead).
 */
export class TypedChannel<S extends StandardSchemaV1> {
  readonly #binding: TypedChannelBinding<S>;

  /** @internal Made by `MessageBusWrapper.channel()`. */
  constructor(binding: TypedChannelBinding<S>) {
    this.#binding = binding;
  }

  /** The channel's name. */
  get name(): string {
    return this.#binding.name;
  }

  /** The channel's schema. */
  get schema(): S {
    return this.#binding.schema;
  }

  /** Validates `data`, then publishes it. Throws `MessageValidationError` (nothing sent) when it does not match. */
  async publish(data: StandardSchemaV1.InferInput<S>): Promise<number> {
    const checked = await validate(this.#binding.schema, data);
    if (!checked.ok) throw new MessageValidationError(this.#binding.name, checked.issues);
    // The input is sent as given: receivers validate it again and get the schema's output.
    return this.#binding.publish(data);
  }

  /** Calls `handler` with every valid message, typed by the schema's output. */
  subscribe(handler: Handler<StandardSchemaV1.InferOutput<S>>): Promise<Unsubscribe> {
    return this.#binding.subscribe(handler);
  }

  /** Removes `handler` (every handler of this channel when omitted). */
  unsubscribe(handler?: Handler<StandardSchemaV1.InferOutput<S>>): Promise<void> {
    return this.#binding.unsubscribe(handler);
  }
}
