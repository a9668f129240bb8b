import { describe, expect, it } from 'vitest';
import { RedisConnectionManager, isConnectionError, type ConnectionErrorCode } from '@shim/connection';
import { countNamespaceKeys } from '@shim/testing';
import {
  BAD_NAMES,
  BadInputContext,
  badInputSuite,
  NESTED_UNFAITHFUL,
  UNFAITHFUL as UNFAITHFUL_VALUES,
  unservedManagerCases,
  type Case as BadInputCase,
} from '@shim/testing/bad-input';
import { closeAfter } from '@shim/testing/scope';
import { isMessageBusError, MessageBusWrapper, type MessageBusErrorCode } from '../src/index.js';
import { createBus, createManager } from './helpers.js';

// Every bad input the README lists (moved here from the integration package's sweep): each is
// refused with a clear error of the documented code, naming what is at fault, and writes nothing.

type Schema = Parameters<MessageBusWrapper['channel']>[1];

class Context extends BadInputContext<RedisConnectionManager> {
  #default: MessageBusWrapper | undefined;

  /** A bus (`{ sender: 'sweep' }`, or with `options`), closed after the test. */
  bus(options?: object): MessageBusWrapper {
    if (options !== undefined) return closeAfter(new MessageBusWrapper(this.manager, options));
    this.#default ??= closeAfter(new MessageBusWrapper(this.manager, { sender: 'sweep' }));
    return this.#default;
  }
}

type Case = BadInputCase<Context, MessageBusErrorCode | ConnectionErrorCode>;

function schemaOf(check: (value: unknown) => boolean, message: string): Schema {
  const validate = (value: unknown) => (check(value) ? { value } : { issues: [{ message }] });
  return { '~standard': { version: 1, vendor: 'bad-input', validate } };
}

const positive = schemaOf((value) => typeof value === 'number' && value > 0, 'expected a positive number');
const throwing: Schema = {
  '~standard': {
    version: 1,
    vendor: 'bad-input',
    validate: () => {
      throw new Error('validator exploded');
    },
  },
};
const NOT_SCHEMAS: Array<[string, unknown]> = [
  ['{}', {}],
  ['null', null],
  ['a function', () => true],
  ['version 2', { '~standard': { version: 2, vendor: 'x', validate: () => ({ value: 1 }) } }],
];
/** Values JSON would not carry faithfully, and where the message must say the problem is. */
const UNFAITHFUL: ReadonlyArray<readonly [label: string, value: () => unknown, mentions: string]> = [
  ...UNFAITHFUL_VALUES.map(([label, value]) => [label, value, 'message'] as const),
  ...NESTED_UNFAITHFUL.map(([label, value, path]) => [label, value, `message.${path}`] as const),
];

const option = (label: string, options: unknown, field: string): Case => ({
  call: `new MessageBusWrapper(manager, ${label})`,
  run: (ctx) => new MessageBusWrapper(ctx.manager, options as never),
  code: 'INVALID_OPTION',
  mentions: field,
  sync: true,
});

const CASES: Case[] = [
  ...[null, {}].map((connection): Case => ({
    call: `new MessageBusWrapper(${JSON.stringify(connection)})`,
    run: () => new MessageBusWrapper(connection as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  })),

  ...[
    option('null', null, 'options'),
    option('{ maxMessageBytes: 0 }', { maxMessageBytes: 0 }, 'maxMessageBytes'),
    option('{ maxMessageBytes: -1 }', { maxMessageBytes: -1 }, 'maxMessageBytes'),
    option('{ maxMessageBytes: NaN }', { maxMessageBytes: Number.NaN }, 'maxMessageBytes'),
    option('{ maxMessageBytes: 1.5 }', { maxMessageBytes: 1.5 }, 'maxMessageBytes'),
    option("{ maxMessageBytes: '1024' }", { maxMessageBytes: '1024' }, 'maxMessageBytes'),
    option('{ inboxMaxLength: 0 }', { inboxMaxLength: 0 }, 'inboxMaxLength'),
    option('{ inboxMaxLength: Infinity }', { inboxMaxLength: Number.POSITIVE_INFINITY }, 'inboxMaxLength'),
    option("{ codec: 'json' }", { codec: 'json' }, 'codec'),
    option('{ codec: { encode: 1, decode } }', { codec: { encode: 1, decode: () => '' } }, 'codec'),
    option("{ sender: '' }", { sender: '' }, 'sender'),
    option('{ sender: 42 }', { sender: 42 }, 'sender'),
    option('{ sender: 257 characters }', { sender: 's'.repeat(257) }, 'sender'),
  ],
  ...[...BAD_NAMES, ['257 characters', 'c'.repeat(257)] as [string, unknown], ['a space', 'a b'] as [string, unknown]]
    .map(([label, channel]): Case[] => [
      {
        call: `publish(<channel: ${label}>, {})`,
        run: (ctx) => ctx.bus().publish(channel as never, {}),
        code: 'INVALID_CHANNEL',
        mentions: 'channel',
      },
      {
        call: `subscribe(<channel: ${label}>, handler)`,
        run: (ctx) => ctx.bus().subscribe(channel as never, () => {}),
        code: 'INVALID_CHANNEL',
        mentions: 'channel',
      },
      {
        call: `subscribePattern(<pattern: ${label}>, handler)`,
        run: (ctx) => ctx.bus().subscribePattern(channel as never, () => {}),
        code: 'INVALID_CHANNEL',
        mentions: 'pattern',
      },
      {
        call: `unsubscribe(<channel: ${label}>)`,
        run: (ctx) => ctx.bus().unsubscribe(channel as never),
        code: 'INVALID_CHANNEL',
        mentions: 'channel',
      },
      {
        call: `unsubscribePattern(<pattern: ${label}>)`,
        run: (ctx) => ctx.bus().unsubscribePattern(channel as never),
        code: 'INVALID_CHANNEL',
        mentions: 'pattern',
      },
      {
        call: `channel(<name: ${label}>, schema)`,
        run: (ctx) => ctx.bus().channel(channel as never, positive),
        code: 'INVALID_CHANNEL',
        mentions: 'channel',
        sync: true,
      },
    ])
    .flat(),
  ...UNFAITHFUL.map(([label, value, mentions]): Case[] => [
    {
      call: `publish('c', <${label}>)`,
      run: (ctx) => ctx.bus().publish('c', value()),
      code: 'UNSERIALIZABLE_MESSAGE',
      mentions,
    },
    {
      call: `send('w1', <${label}>)`,
      run: (ctx) => ctx.bus().send('w1', value()),
      code: 'UNSERIALIZABLE_MESSAGE',
      mentions,
    },
  ]).flat(),
  {
    call: "publish('c', <1 MiB string>) (default maxMessageBytes)",
    run: (ctx) => ctx.bus().publish('c', 'x'.repeat(1_048_576)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  {
    call: "publish('c', <100 bytes>) with { maxMessageBytes: 64 }",
    run: (ctx) => ctx.bus({ maxMessageBytes: 64 }).publish('c', 'x'.repeat(100)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  {
    call: "send('w1', <1 MiB string>)",
    run: (ctx) => ctx.bus().send('w1', 'x'.repeat(1_048_576)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  ...([null, undefined, 'handler', {}] as unknown[])
    .map((handler): Case[] => [
      {
        call: `subscribe('c', ${String(handler)})`,
        run: (ctx) => ctx.bus().subscribe('c', handler as never),
        code: 'INVALID_OPTION',
        mentions: 'handler',
      },
      {
        call: `subscribePattern('c.*', ${String(handler)})`,
        run: (ctx) => ctx.bus().subscribePattern('c.*', handler as never),
        code: 'INVALID_OPTION',
        mentions: 'handler',
      },
      {
        call: `TypedChannel.subscribe(${String(handler)})`,
        run: (ctx) =>
          ctx
            .bus()
            .channel('typed', positive)
            .subscribe(handler as never),
        code: 'INVALID_OPTION',
        mentions: 'handler',
      },
      {
        call: `Inbox.consume(${String(handler)})`,
        run: (ctx) =>
          ctx
            .bus()
            .inbox('w1')
            .consume(handler as never),
        code: 'INVALID_OPTION',
        mentions: 'handler',
      },
    ])
    .flat(),
  ...NOT_SCHEMAS.map(([label, schema]): Case[] => [
    {
      call: `channel('typed', <schema: ${label}>)`,
      run: (ctx) => ctx.bus().channel('typed', schema as never),
      code: 'INVALID_OPTION',
      mentions: 'schema',
      sync: true,
    },
    {
      call: `inbox('w1', { schema: ${label} })`,
      run: (ctx) => ctx.bus().inbox('w1', { schema: schema as never }),
      code: 'INVALID_OPTION',
      mentions: 'schema',
      sync: true,
    },
    ...(schema === null
      ? []
      : [
          {
            call: `send('w1', 1, { schema: ${label} })`,
            run: (ctx: Context) => ctx.bus().send('w1', 1, { schema: schema as never }),
            code: 'INVALID_OPTION' as const,
            mentions: 'schema',
          },
        ]),
  ]).flat(),
  {
    call: 'TypedChannel.publish(-1) (schema: positive number)',
    run: (ctx) => ctx.bus().channel('typed', positive).publish(-1),
    code: 'VALIDATION_FAILED',
    mentions: 'expected a positive number',
  },
  {
    call: 'TypedChannel.publish(1) (the validator throws)',
    run: (ctx) => ctx.bus().channel('typed', throwing).publish(1),
    code: 'VALIDATION_FAILED',
    mentions: 'validator exploded',
  },
  {
    call: "send('w1', -1, { schema: positive number })",
    run: (ctx) => ctx.bus().send('w1', -1, { schema: positive }),
    code: 'VALIDATION_FAILED',
    mentions: 'expected a positive number',
  },
  {
    call: "send('w1', 1, null)",
    run: (ctx) => ctx.bus().send('w1', 1, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  ...[
    ...BAD_NAMES,
    ['braces', 'w{1}'] as [string, unknown],
    ['a space', 'worker 1'] as [string, unknown],
    ['257 characters', 'r'.repeat(257)] as [string, unknown],
    ['a lone surrogate', 'w\uD800'] as [string, unknown],
  ]
    .map(([label, recipient]): Case[] => [
      {
        call: `send(<recipient: ${label}>, {})`,
        run: (ctx) => ctx.bus().send(recipient as never, {}),
        code: 'INVALID_RECIPIENT',
        mentions: 'recipient',
      },
      {
        call: `inbox(<recipient: ${label}>)`,
        run: (ctx) => ctx.bus().inbox(recipient as never),
        code: 'INVALID_RECIPIENT',
        mentions: 'recipient',
        sync: true,
      },
    ])
    .flat(),
  ...(
    [
      ['null', null, 'options'],
      ['{ redeliverAfterMs: 0 }', { redeliverAfterMs: 0 }, 'redeliverAfterMs'],
      ['{ redeliverAfterMs: 2 ** 31 }', { redeliverAfterMs: 2 ** 31 }, 'redeliverAfterMs'],
      ['{ maxDeliveries: NaN }', { maxDeliveries: Number.NaN }, 'maxDeliveries'],
      ['{ maxDeliveries: -1 }', { maxDeliveries: -1 }, 'maxDeliveries'],
      ['{ batchSize: 0 }', { batchSize: 0 }, 'batchSize'],
      ['{ batchSize: 10001 }', { batchSize: 10_001 }, 'batchSize'],
      ['{ batchSize: 1.5 }', { batchSize: 1.5 }, 'batchSize'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, field]): Case => ({
    call: `inbox('w1', ${label})`,
    run: (ctx) => ctx.bus().inbox('w1', options as never),
    code: 'INVALID_OPTION',
    mentions: field,
    sync: true,
  })),
  ...([0, -1, Number.NaN, 1.5, 10_001, '5'] as unknown[])
    .map((count): Case[] => [
      {
        call: `Inbox.peek(${String(count)})`,
        run: (ctx) =>
          ctx
            .bus()
            .inbox('w1')
            .peek(count as never),
        code: 'INVALID_OPTION',
        mentions: 'count',
      },
      {
        call: `Inbox.deadLetters(${String(count)})`,
        run: (ctx) =>
          ctx
            .bus()
            .inbox('w1')
            .deadLetters(count as never),
        code: 'INVALID_OPTION',
        mentions: 'count',
      },
    ])
    .flat(),
  {
    call: 'Inbox.peek() after Inbox.close()',
    run: async (ctx) => {
      const inbox = ctx.bus().inbox('w1');
      await inbox.close();
      return inbox.peek();
    },
    code: 'BUS_CLOSED',
    mentions: 'closed',
  },
  {
    call: 'Inbox.consume(handler) and peek() after MessageBusWrapper.close()',
    run: async (ctx) => {
      const bus = ctx.bus();
      const inbox = bus.inbox('w1');
      await bus.close();
      await expect(inbox.peek()).rejects.toMatchObject({ code: 'BUS_CLOSED' });
      return inbox.consume(() => {});
    },
    code: 'BUS_CLOSED',
    mentions: 'closed',
  },
  ...(
    [
      ["publish('c', 1)", (bus) => bus.publish('c', 1)],
      ["subscribe('c', handler)", (bus) => bus.subscribe('c', () => {})],
      ["subscribePattern('c.*', handler)", (bus) => bus.subscribePattern('c.*', () => {})],
      ["unsubscribe('c')", (bus) => bus.unsubscribe('c')],
      ["unsubscribePattern('c.*')", (bus) => bus.unsubscribePattern('c.*')],
      ["send('w1', 1)", (bus) => bus.send('w1', 1)],
      ["inbox('w1')", (bus) => bus.inbox('w1'), true],
      ["channel('typed', schema)", (bus) => bus.channel('typed', positive), true],
    ] as Array<[string, (bus: MessageBusWrapper) => unknown, boolean?]>
  ).map(([label, call, sync]): Case => ({
    call: `${label} after close()`,
    before: (ctx) => ctx.bus().close(),
    run: (ctx) => call(ctx.bus()),
    code: 'BUS_CLOSED',
    mentions: 'closed',
    sync: sync === true,
  })),
  ...unservedManagerCases<RedisConnectionManager>(
    ["publish('c', 1)", (spare) => closeAfter(new MessageBusWrapper(spare)).publish('c', 1)],
    ["send('w1', 1)", (spare) => closeAfter(new MessageBusWrapper(spare)).send('w1', 1)],
  ),
];

badInputSuite({
  name: 'bad input: refused with the documented code, naming what is at fault, writing nothing',
  cases: CASES,
  manager: () => createManager(),
  context: (manager) => new Context(manager, (base) => new RedisConnectionManager(base)),
  isError: (error, code) => isMessageBusError(error, code as MessageBusErrorCode),
  isConnectionError,
});

describe('bad input: found by the integration sweep', () => {
  it('refuses names with a lone surrogate (Redis would store U+FFFD, merging two names)', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await expect(bus.send('w\uD800', {})).rejects.toSatisfy((error) => isMessageBusError(error, 'INVALID_RECIPIENT'));
    await expect(bus.publish('c\uDC00', {})).rejects.toSatisfy((error) => isMessageBusError(error, 'INVALID_CHANNEL'));
    // A well-formed pair is fine.
    await expect(bus.publish('c\uD83D\uDE00', {})).resolves.toBe(0);
    expect(await countNamespaceKeys(manager.getConnection(), manager.namespace)).toBe(0);
  });

  it('a second consume() of a consumed inbox is refused with INVALID_OPTION', async () => {
    const bus = await createBus();
    const inbox = bus.inbox('w1');
    const stop = await inbox.consume(() => {});
    await expect(inbox.consume(() => {})).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await stop();
  });
});
