import { afterAll, describe, expect, it, inject } from 'vitest';
import { RedisConnectionManager, isConnectionError, type ConnectionErrorCode } from '@shim/connection';
import {
  MessageBusWrapper,
  isMessageBusError,
  type MessageBusErrorCode,
  type MessageBusOptions,
} from '@shim/message-bus';
import { StateManager, isStateError, type StateErrorCode, type StateManagerOptions } from '@shim/state';
import { TaskQueueWrapper, isTaskQueueError, type TaskQueueErrorCode, type TaskQueueOptions } from '@shim/task-queue';
import { countNamespaceKeys } from '@shim/testing';
import {
  WorkerRegistry,
  isWorkerRegistryError,
  type WorkerRegistryErrorCode,
  type WorkerRegistryOptions,
} from '@shim/worker-registry';
import { afterTest, createManager } from './helpers.js';

// Scenario 5 of issue 7: for every public method of the five packages, the invalid inputs each
// README lists (and the obvious ones) are tried. Each must be refused with a clear error of the
// documented code, write nothing to Redis, and leave the process running. Every case runs on a
// fresh namespace with objects that never made a valid call (a valid call creates keys), and the
// namespace must hold 0 keys afterwards. A last test does one valid round trip per package.

type Package = 'connection' | 'message-bus' | 'worker-registry' | 'task-queue' | 'state';

/** A package error code, or (PascalCase) the `name` of an error that has no code. */
type Code =
  | ConnectionErrorCode
  | MessageBusErrorCode
  | WorkerRegistryErrorCode
  | TaskQueueErrorCode
  | StateErrorCode
  | 'TypeError'
  | 'UpdaterFailed';

interface Case {
  package: Package;
  /** The call, as a reader would write it. */
  call: string;
  /** Makes the bad call (and nothing else). */
  run: (ctx: Sweep) => unknown;
  /** Expected `code` (checked with the package's `isXxxError`), or the error's `name` for errors without a code. */
  code: Code;
  /** What the message must name (the option, argument or path at fault) where the README says it does. */
  mentions?: string | RegExp;
  /** What the message must never contain (a password). */
  notMentions?: string;
  /** More properties the error must have (`option`, `issues` …). */
  props?: Record<string, unknown>;
  /** Brings the objects into the state the case needs (closed, disconnected) without writing anything. */
  before?: (ctx: Sweep) => Promise<unknown>;
  /** The API is synchronous (constructor or sync method): a throw is expected, not a rejection. */
  sync?: boolean;
}

const CONNECTION_CODES: ReadonlySet<string> = new Set<ConnectionErrorCode>([
  'INVALID_CONFIG',
  'CONNECT_TIMEOUT',
  'UNREACHABLE',
  'RECONNECT_EXHAUSTED',
  'OFFLINE_TIMEOUT',
  'AUTH_FAILED',
  'TLS_FAILED',
  'NOT_CONNECTED',
  'MANAGER_CLOSED',
]);

const GUARDS: Record<Package, (error: unknown, code: string) => boolean> = {
  connection: (error, code) => isConnectionError(error, code as ConnectionErrorCode),
  'message-bus': (error, code) => isMessageBusError(error, code as MessageBusErrorCode),
  'worker-registry': (error, code) => isWorkerRegistryError(error, code as WorkerRegistryErrorCode),
  'task-queue': (error, code) => isTaskQueueError(error, code as TaskQueueErrorCode),
  state: (error, code) => isStateError(error, code as StateErrorCode),
};

/** True when `error` is what `c` expects: the right code by the right guard, or the right error name. */
function matchesExpected(c: Case, error: unknown): boolean {
  if (/^[A-Z][a-z]/.test(c.code)) return error instanceof Error && error.name === c.code;
  // Connection errors reach every package unchanged (README of each package).
  const from: Package = CONNECTION_CODES.has(c.code) ? 'connection' : c.package;
  return GUARDS[from](error, c.code);
}

type Closable = { close(): Promise<unknown> };

/**
 * The objects one case may use, on one fresh namespace: built on first use, none of them has made
 * a valid call, and all are closed after the case.
 */
class Sweep {
  readonly manager: RedisConnectionManager;
  readonly #closers: Array<() => Promise<unknown>> = [];
  readonly #defaults = new Map<string, unknown>();
  #spare: RedisConnectionManager | undefined;

  constructor(manager: RedisConnectionManager) {
    this.manager = manager;
  }

  /** The case's bus (`{ sender: 'sweep' }`), or a new one with `options`. */
  bus(options?: MessageBusOptions): MessageBusWrapper {
    return this.#make(options === undefined ? 'bus' : undefined, () =>
      this.track(new MessageBusWrapper(this.manager, options ?? { sender: 'sweep' })),
    );
  }

  /** The case's registry (TTL 5 s), or a new one with `options`. */
  registry(options?: WorkerRegistryOptions): WorkerRegistry {
    return this.#make(options === undefined ? 'registry' : undefined, () =>
      this.track(new WorkerRegistry(this.manager, options ?? { heartbeatTtlMs: 5_000 })),
    );
  }

  /** The case's queue `sweep`, or a new one with `options`. */
  queue(options?: TaskQueueOptions<unknown>): TaskQueueWrapper<unknown> {
    return this.#make(options === undefined ? 'queue' : undefined, () =>
      this.track(new TaskQueueWrapper<unknown>(this.manager, 'sweep', { closeTimeoutMs: 2_000, ...options })),
    );
  }

  /** The case's state manager (scope `sweep`), or a new one with `options`. */
  state(options?: StateManagerOptions): StateManager {
    return this.#make(options === undefined ? 'state' : undefined, () =>
      this.track(new StateManager(this.manager, { scope: 'sweep', ...options })),
    );
  }

  /** A second manager on the same namespace (so anything it wrote would be counted), not connected. */
  spare(): RedisConnectionManager {
    if (this.#spare === undefined) {
      const spare = new RedisConnectionManager({ url: inject('redisUrl'), namespace: this.manager.namespace });
      this.#closers.push(() => spare.disconnect());
      this.#spare = spare;
    }
    return this.#spare;
  }

  /** Connects the spare manager and disconnects it for good (`MANAGER_CLOSED` from then on). */
  async closeSpare(): Promise<void> {
    await this.spare().connect();
    await this.spare().disconnect();
  }

  /** Closes `object` after the case. */
  track<T extends Closable>(object: T): T {
    this.#closers.push(() => object.close());
    return object;
  }

  /** Closes everything the case opened, last first; returns what failed to close. */
  async dispose(): Promise<unknown[]> {
    const failures: unknown[] = [];
    for (const close of this.#closers.splice(0).reverse()) {
      await close().catch((error: unknown) => failures.push(error));
    }
    return failures;
  }

  #make<T>(key: string | undefined, make: () => T): T {
    if (key === undefined) return make();
    if (!this.#defaults.has(key)) this.#defaults.set(key, make());
    return this.#defaults.get(key) as T;
  }
}

interface Outcome {
  how: 'threw' | 'rejected' | 'returned' | 'resolved' | 'hung';
  error?: unknown;
  value?: unknown;
}

/** A bad call that neither settles nor throws within this is reported as hung. Unit: ms. */
const HANG_MS = 5_000;

/** Runs `run`, telling a synchronous throw from a rejected promise. */
async function attempt(run: () => unknown): Promise<Outcome> {
  let result: unknown;
  try {
    result = run();
  } catch (error) {
    return { how: 'threw', error };
  }
  if (!(result instanceof Promise)) return { how: 'returned', value: result };
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ how: 'hung' }), HANG_MS);
  });
  try {
    return await Promise.race([
      (result as Promise<unknown>).then(
        (value): Outcome => ({ how: 'resolved', value }),
        (error: unknown): Outcome => ({ how: 'rejected', error }),
      ),
      hung,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Undoes whatever a call that should have been refused returned (stop/unsubscribe function, lock …). */
async function undo(value: unknown): Promise<void> {
  try {
    if (typeof value === 'function') {
      await (value as () => unknown)();
    } else if (typeof value === 'object' && value !== null) {
      const object = value as { release?: () => unknown; close?: () => unknown };
      if (typeof object.release === 'function') await object.release();
      else if (typeof object.close === 'function') await object.close();
    }
  } catch {
    // Best effort: the case has failed already.
  }
}

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

function describeError(error: unknown): { name: string; code: unknown; message: string } {
  if (!(error instanceof Error)) return { name: typeof error, code: undefined, message: String(error) };
  return { name: error.name, code: (error as { code?: unknown }).code, message: error.message };
}

// ------------------------------------------------------------------------------------- inputs

class Point {
  readonly x = 1;
}

function cycle(): Record<string, unknown> {
  const object: Record<string, unknown> = { a: 1 };
  object['self'] = object;
  return object;
}

function nested(levels: number): unknown {
  let value: unknown = 1;
  for (let level = 0; level < levels; level += 1) value = { d: value };
  return value;
}

/** Values JSON would not carry faithfully, as every README lists them. */
const UNFAITHFUL: ReadonlyArray<[label: string, value: () => unknown]> = [
  ['undefined', () => undefined],
  ['a BigInt', () => 10n],
  ['a cycle', cycle],
  ['a function', () => () => 1],
  ['a symbol', () => Symbol('s')],
  ['NaN', () => Number.NaN],
  ['Infinity', () => Number.POSITIVE_INFINITY],
  ['a Date', () => new Date(0)],
  ['a Map', () => new Map([[1, 2]])],
  ['a Set', () => new Set([1])],
  ['a class instance', () => new Point()],
  ['{ a: undefined }', () => ({ a: undefined })],
  ['[1, undefined]', () => [1, undefined]],
  ['a symbol key', () => ({ [Symbol('k')]: 1 })],
];

/** Nested bad values whose path the message must name (`<root>.items[2].when` …). */
const NESTED: ReadonlyArray<[label: string, value: () => unknown, path: string]> = [
  ['a nested Date', () => ({ items: [1, 2, { when: new Date(0) }] }), 'items[2].when'],
  ['a nested BigInt', () => ({ a: { b: 1n } }), 'a.b'],
  ['a nested cycle', () => ({ a: cycle() }), 'a.self'],
  ['a nested function', () => ({ list: [() => 1] }), 'list[0]'],
];

/**
 * The cases of one call given each value JSON would not keep: UNFAITHFUL ones (the message names
 * `root`) and NESTED ones (it names the path under `root`).
 */
function unfaithfulCases({
  call,
  run,
  code,
  root,
}: {
  call: (label: string) => string;
  run: (ctx: Sweep, value: unknown) => unknown;
  code: Code;
  root: string;
}): Array<Omit<Case, 'package'>> {
  return [
    ...UNFAITHFUL.map(([label, value]) => ({
      call: call(label),
      run: (ctx: Sweep) => run(ctx, value()),
      code,
      mentions: root,
    })),
    ...NESTED.map(([label, value, path]) => ({
      call: call(label),
      run: (ctx: Sweep) => run(ctx, value()),
      code,
      mentions: `${root}.${path}`,
    })),
  ];
}

type Schema = Parameters<MessageBusWrapper['channel']>[1];

function schemaOf(check: (value: unknown) => boolean, message: string): Schema {
  return {
    '~standard': {
      version: 1,
      vendor: 'bad-input-sweep',
      validate: (value: unknown) => (check(value) ? { value } : { issues: [{ message }] }),
    },
  };
}

const positiveNumber = schemaOf((value) => typeof value === 'number' && value > 0, 'expected a positive number');
const throwingSchema: Schema = {
  '~standard': {
    version: 1,
    vendor: 'bad-input-sweep',
    validate: () => {
      throw new Error('validator exploded');
    },
  },
};
const notSchemas: ReadonlyArray<[label: string, value: unknown]> = [
  ['{}', {}],
  ['null', null],
  ['a function', () => true],
  ['version 2', { '~standard': { version: 2, vendor: 'x', validate: () => ({ value: 1 }) } }],
];

/** Ids and keys that every package refuses (the README of each lists them). */
const BAD_NAMES: ReadonlyArray<[label: string, value: unknown]> = [
  ['""', ''],
  ['42', 42],
  ['undefined', undefined],
  ['a newline', 'a\nb'],
  ['a tab', 'a\tb'],
  ['NUL', 'a\u0000b'],
  ['a C1 control', 'a\u0085b'],
];

const PASSWORD = 's3cret-pw';

class UpdaterFailed extends Error {
  override readonly name = 'UpdaterFailed';
}

function forPackage(pkg: Package, list: Array<Omit<Case, 'package'>>): Case[] {
  return list.map((entry) => ({ package: pkg, ...entry }));
}

// --------------------------------------------------------------------------------- connection

const CONFIGS: ReadonlyArray<[label: string, config: unknown, option: string]> = [
  ['null', null, 'config'],
  ['a string', 'redis://127.0.0.1:6379', 'config'],
  ['{ url: 42 }', { url: 42 }, 'url'],
  ["{ url: 'not a url' }", { url: 'not a url' }, 'url'],
  ["{ url: 'http://…' }", { url: 'http://127.0.0.1:6379' }, 'url'],
  ['{ url: …/<not a db number> } with a password', { url: `redis://u:${PASSWORD}@127.0.0.1:6379/zero` }, 'url'],
  ['{ url: bad percent-encoding } with a password', { url: `redis://u:${PASSWORD}%zz@127.0.0.1:6379` }, 'url'],
  ["{ host: '' }", { host: '' }, 'host'],
  ['{ host: 42 }', { host: 42 }, 'host'],
  ['{ port: 0 }', { port: 0 }, 'port'],
  ['{ port: 65536 }', { port: 65_536 }, 'port'],
  ['{ port: NaN }', { port: Number.NaN }, 'port'],
  ['{ port: -1 }', { port: -1 }, 'port'],
  ['{ port: 1.5 }', { port: 1.5 }, 'port'],
  ["{ port: '6379' }", { port: '6379' }, 'port'],
  ['{ db: -1 }', { db: -1 }, 'db'],
  ['{ db: 1.5 }', { db: 1.5 }, 'db'],
  ['{ db: NaN }', { db: Number.NaN }, 'db'],
  ['{ username: 42 }', { username: 42 }, 'username'],
  ['{ password: {} }', { password: {} }, 'password'],
  ["{ tls: 'yes' }", { tls: 'yes' }, 'tls'],
  ["{ namespace: '' }", { namespace: '' }, 'namespace'],
  ["{ namespace: 'has space' }", { namespace: 'has space' }, 'namespace'],
  ["{ namespace: 'a{b}' }", { namespace: 'a{b}' }, 'namespace'],
  ["{ namespace: 'glob*' }", { namespace: 'glob*' }, 'namespace'],
  ["{ namespace: 'nl\\n' }", { namespace: 'nl\n' }, 'namespace'],
  ["{ namespace: ':lead' }", { namespace: ':lead' }, 'namespace'],
  ['{ namespace: 129 characters }', { namespace: 'n'.repeat(129) }, 'namespace'],
  ['{ namespace: 42 }', { namespace: 42 }, 'namespace'],
  ["{ connectionName: '' }", { connectionName: '' }, 'connectionName'],
  ["{ connectionName: 'has space' }", { connectionName: 'has space' }, 'connectionName'],
  ['{ connectionName: 65 characters }', { connectionName: 'c'.repeat(65) }, 'connectionName'],
  ["{ waitForServer: 'true' }", { waitForServer: 'true' }, 'waitForServer'],
  ['{ connectTimeoutMs: 0 }', { connectTimeoutMs: 0 }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: -1 }', { connectTimeoutMs: -1 }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: NaN }', { connectTimeoutMs: Number.NaN }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: 1.5 }', { connectTimeoutMs: 1.5 }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: Infinity }', { connectTimeoutMs: Number.POSITIVE_INFINITY }, 'connectTimeoutMs'],
  ['{ connectTimeoutMs: 2 ** 31 }', { connectTimeoutMs: 2 ** 31 }, 'connectTimeoutMs'],
  ['{ healthCheckIntervalMs: 0 }', { healthCheckIntervalMs: 0 }, 'healthCheckIntervalMs'],
  ['{ healthCheckTimeoutMs: -5 }', { healthCheckTimeoutMs: -5 }, 'healthCheckTimeoutMs'],
  ['{ offlineCommandTimeoutMs: NaN }', { offlineCommandTimeoutMs: Number.NaN }, 'offlineCommandTimeoutMs'],
  ["{ quitTimeoutMs: '100' }", { quitTimeoutMs: '100' }, 'quitTimeoutMs'],
  ["{ reconnect: 'fast' }", { reconnect: 'fast' }, 'reconnect'],
  ['{ reconnect: null }', { reconnect: null }, 'reconnect'],
  ['{ reconnect: { initialDelayMs: 0 } }', { reconnect: { initialDelayMs: 0 } }, 'reconnect.initialDelayMs'],
  [
    '{ reconnect: { initialDelayMs: 500, maxDelayMs: 100 } }',
    { reconnect: { initialDelayMs: 500, maxDelayMs: 100 } },
    'reconnect.maxDelayMs',
  ],
  ['{ reconnect: { factor: 0.5 } }', { reconnect: { factor: 0.5 } }, 'reconnect.factor'],
  ['{ reconnect: { factor: NaN } }', { reconnect: { factor: Number.NaN } }, 'reconnect.factor'],
  ['{ reconnect: { jitter: 1.5 } }', { reconnect: { jitter: 1.5 } }, 'reconnect.jitter'],
  ['{ reconnect: { jitter: NaN } }', { reconnect: { jitter: Number.NaN } }, 'reconnect.jitter'],
  ['{ reconnect: { maxAttempts: 0 } }', { reconnect: { maxAttempts: 0 } }, 'reconnect.maxAttempts'],
  ['{ reconnect: { maxAttempts: 1.5 } }', { reconnect: { maxAttempts: 1.5 } }, 'reconnect.maxAttempts'],
];

const connectionCases = forPackage('connection', [
  ...CONFIGS.map(([label, config, option]) => ({
    call: `new RedisConnectionManager(${label})`,
    run: () => new RedisConnectionManager(config as never),
    code: 'INVALID_CONFIG' as const,
    mentions: `'${option}'`,
    notMentions: PASSWORD,
    props: { name: 'RedisConfigError', option },
    sync: true,
  })),
  ...[
    ["key('')", ['']],
    ["key('a', NaN)", ['a', Number.NaN]],
    ["key('a', Infinity)", ['a', Number.POSITIVE_INFINITY]],
    ['key({})', [{}]],
  ].map(([call, parts]) => ({
    call: `RedisConnectionManager.${call as string}`,
    run: (ctx: Sweep) => ctx.manager.key(...(parts as never[])),
    code: 'TypeError' as const,
    mentions: /key part \d/,
    sync: true,
  })),
  {
    call: "RedisConnectionManager.createConnection('command')",
    run: (ctx) => ctx.manager.createConnection('command' as never),
    code: 'TypeError',
    mentions: 'role',
  },
  {
    call: "RedisConnectionManager.createConnection('pubsub')",
    run: (ctx) => ctx.manager.createConnection('pubsub' as never),
    code: 'TypeError',
    mentions: 'role',
  },
  {
    call: 'RedisConnectionManager.createConnection(undefined)',
    run: (ctx) => ctx.manager.createConnection(undefined as never),
    code: 'TypeError',
    mentions: 'role',
  },
  {
    call: "RedisConnectionManager.createConnection('subscriber', { name: 'has space' })",
    run: (ctx) => ctx.manager.createConnection('subscriber', { name: 'has space' }),
    code: 'TypeError',
    mentions: 'options.name',
  },
  {
    call: "RedisConnectionManager.createConnection('subscriber', { name: '' })",
    run: (ctx) => ctx.manager.createConnection('subscriber', { name: '' }),
    code: 'TypeError',
    mentions: 'options.name',
  },
  {
    call: "RedisConnectionManager.createConnection('blocking', { name: 65 characters })",
    run: (ctx) => ctx.manager.createConnection('blocking', { name: 'b'.repeat(65) }),
    code: 'TypeError',
    mentions: 'options.name',
  },
  {
    call: "RedisConnectionManager.createConnection('subscriber', { name: 'command' }) (taken)",
    run: (ctx) => ctx.manager.createConnection('subscriber', { name: 'command' }),
    code: 'TypeError',
    mentions: 'command',
  },
  {
    call: "RedisConnectionManager.createConnection('blocking', null)",
    run: (ctx) => ctx.manager.createConnection('blocking', null as never),
    code: 'TypeError',
    mentions: 'options',
  },
  {
    call: 'RedisConnectionManager.getConnection() before connect()',
    run: (ctx) => ctx.spare().getConnection(),
    code: 'NOT_CONNECTED',
    mentions: 'connect()',
    sync: true,
  },
  {
    call: "RedisConnectionManager.createConnection('subscriber') before connect()",
    run: (ctx) => ctx.spare().createConnection('subscriber'),
    code: 'NOT_CONNECTED',
    mentions: 'connect()',
  },
  {
    call: 'RedisConnectionManager.connect() after disconnect()',
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.spare().connect(),
    code: 'MANAGER_CLOSED',
  },
  {
    call: 'RedisConnectionManager.getConnection() after disconnect()',
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.spare().getConnection(),
    code: 'MANAGER_CLOSED',
    sync: true,
  },
  {
    call: "RedisConnectionManager.createConnection('blocking') after disconnect()",
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.spare().createConnection('blocking'),
    code: 'MANAGER_CLOSED',
  },
]);

// -------------------------------------------------------------------------------- message-bus

const busCases = forPackage('message-bus', [
  {
    call: 'new MessageBusWrapper(null)',
    run: () => new MessageBusWrapper(null as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  {
    call: 'new MessageBusWrapper({})',
    run: () => new MessageBusWrapper({} as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  {
    call: 'new MessageBusWrapper(manager, null)',
    run: (ctx) => new MessageBusWrapper(ctx.manager, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
    sync: true,
  },
  ...(
    [
      ['{ maxMessageBytes: 0 }', { maxMessageBytes: 0 }, 'maxMessageBytes'],
      ['{ maxMessageBytes: -1 }', { maxMessageBytes: -1 }, 'maxMessageBytes'],
      ['{ maxMessageBytes: NaN }', { maxMessageBytes: Number.NaN }, 'maxMessageBytes'],
      ['{ maxMessageBytes: 1.5 }', { maxMessageBytes: 1.5 }, 'maxMessageBytes'],
      ["{ maxMessageBytes: '1024' }", { maxMessageBytes: '1024' }, 'maxMessageBytes'],
      ['{ inboxMaxLength: 0 }', { inboxMaxLength: 0 }, 'inboxMaxLength'],
      ['{ inboxMaxLength: Infinity }', { inboxMaxLength: Number.POSITIVE_INFINITY }, 'inboxMaxLength'],
      ["{ codec: 'json' }", { codec: 'json' }, 'codec'],
      ['{ codec: { encode: 1, decode } }', { codec: { encode: 1, decode: () => '' } }, 'codec'],
      ["{ sender: '' }", { sender: '' }, 'sender'],
      ['{ sender: 42 }', { sender: 42 }, 'sender'],
      ['{ sender: 257 characters }', { sender: 's'.repeat(257) }, 'sender'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `new MessageBusWrapper(manager, ${label})`,
    run: (ctx: Sweep) => new MessageBusWrapper(ctx.manager, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
    sync: true,
  })),
  // publish: channel names, then messages.
  ...[
    ...BAD_NAMES,
    ['257 characters', 'c'.repeat(257)] as [string, unknown],
    ['a space', 'a b'] as [string, unknown],
  ].map(([label, channel]) => ({
    call: `MessageBusWrapper.publish(<channel: ${label}>, {})`,
    run: (ctx: Sweep) => ctx.bus().publish(channel as never, {}),
    code: 'INVALID_CHANNEL' as const,
    mentions: 'channel',
  })),
  ...unfaithfulCases({
    call: (label) => `MessageBusWrapper.publish('c', <${label}>)`,
    run: (ctx, value) => ctx.bus().publish('c', value),
    code: 'UNSERIALIZABLE_MESSAGE',
    root: 'message',
  }),
  {
    call: "MessageBusWrapper.publish('c', <1 MiB string>) (default maxMessageBytes)",
    run: (ctx) => ctx.bus().publish('c', 'x'.repeat(1_048_576)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  {
    call: "MessageBusWrapper.publish('c', <100 bytes>) with { maxMessageBytes: 64 }",
    run: (ctx) => ctx.bus({ maxMessageBytes: 64 }).publish('c', 'x'.repeat(100)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  // subscribe / subscribePattern / unsubscribe.
  ...BAD_NAMES.map(([label, channel]) => ({
    call: `MessageBusWrapper.subscribe(<channel: ${label}>, handler)`,
    run: (ctx: Sweep) => ctx.bus().subscribe(channel as never, () => {}),
    code: 'INVALID_CHANNEL' as const,
    mentions: 'channel',
  })),
  ...(
    [
      ['null', null],
      ['undefined', undefined],
      ["'handler'", 'handler'],
      ['{}', {}],
    ] as Array<[string, unknown]>
  ).flatMap(([label, handler]) => [
    {
      call: `MessageBusWrapper.subscribe('c', ${label})`,
      run: (ctx: Sweep) => ctx.bus().subscribe('c', handler as never),
      code: 'INVALID_OPTION' as const,
      mentions: 'handler',
    },
    {
      call: `MessageBusWrapper.subscribePattern('c.*', ${label})`,
      run: (ctx: Sweep) => ctx.bus().subscribePattern('c.*', handler as never),
      code: 'INVALID_OPTION' as const,
      mentions: 'handler',
    },
  ]),
  ...(
    [
      ["''", ''],
      ["'a b*'", 'a b*'],
      ['42', 42],
      ['257 characters', '*'.repeat(257)],
    ] as Array<[string, unknown]>
  ).map(([label, pattern]) => ({
    call: `MessageBusWrapper.subscribePattern(${label}, handler)`,
    run: (ctx: Sweep) => ctx.bus().subscribePattern(pattern as never, () => {}),
    code: 'INVALID_CHANNEL' as const,
    mentions: 'pattern',
  })),
  {
    call: "MessageBusWrapper.unsubscribe('')",
    run: (ctx) => ctx.bus().unsubscribe(''),
    code: 'INVALID_CHANNEL',
    mentions: 'channel',
  },
  {
    call: "MessageBusWrapper.unsubscribe('a\\nb')",
    run: (ctx) => ctx.bus().unsubscribe('a\nb'),
    code: 'INVALID_CHANNEL',
    mentions: 'channel',
  },
  {
    call: "MessageBusWrapper.unsubscribePattern('a b')",
    run: (ctx) => ctx.bus().unsubscribePattern('a b'),
    code: 'INVALID_CHANNEL',
    mentions: 'pattern',
  },
  {
    call: 'MessageBusWrapper.unsubscribePattern(42)',
    run: (ctx) => ctx.bus().unsubscribePattern(42 as never),
    code: 'INVALID_CHANNEL',
    mentions: 'pattern',
  },
  // channel() and the typed channel.
  {
    call: "MessageBusWrapper.channel('', schema)",
    run: (ctx) => ctx.bus().channel('', positiveNumber),
    code: 'INVALID_CHANNEL',
    mentions: 'channel',
    sync: true,
  },
  {
    call: "MessageBusWrapper.channel('a b', schema)",
    run: (ctx) => ctx.bus().channel('a b', positiveNumber),
    code: 'INVALID_CHANNEL',
    mentions: 'channel',
    sync: true,
  },
  ...notSchemas.map(([label, schema]) => ({
    call: `MessageBusWrapper.channel('typed', <schema: ${label}>)`,
    run: (ctx: Sweep) => ctx.bus().channel('typed', schema as never),
    code: 'INVALID_OPTION' as const,
    mentions: 'schema',
    sync: true,
  })),
  {
    call: 'TypedChannel.publish(-1) (schema: positive number)',
    run: (ctx) => ctx.bus().channel('typed', positiveNumber).publish(-1),
    code: 'VALIDATION_FAILED',
    mentions: 'expected a positive number',
    props: { name: 'MessageValidationError', issues: [{ message: 'expected a positive number' }] },
  },
  {
    call: "TypedChannel.publish('7') (schema: positive number)",
    run: (ctx) => ctx.bus().channel('typed', positiveNumber).publish('7'),
    code: 'VALIDATION_FAILED',
    mentions: 'typed',
  },
  {
    call: 'TypedChannel.publish(1) (the validator throws)',
    run: (ctx) => ctx.bus().channel('typed', throwingSchema).publish(1),
    code: 'VALIDATION_FAILED',
    mentions: 'validator exploded',
  },
  {
    call: "TypedChannel.subscribe('handler')",
    run: (ctx) =>
      ctx
        .bus()
        .channel('typed', positiveNumber)
        .subscribe('handler' as never),
    code: 'INVALID_OPTION',
    mentions: 'handler',
  },
  {
    call: 'TypedChannel.subscribe(null)',
    run: (ctx) =>
      ctx
        .bus()
        .channel('typed', positiveNumber)
        .subscribe(null as never),
    code: 'INVALID_OPTION',
    mentions: 'handler',
  },
  // send: recipients, messages, options.
  ...[
    ...BAD_NAMES,
    ['braces', 'w{1}'] as [string, unknown],
    ['a space', 'worker 1'] as [string, unknown],
    ['257 characters', 'r'.repeat(257)] as [string, unknown],
    ['a lone surrogate', 'w\uD800'] as [string, unknown],
  ].map(([label, recipient]) => ({
    call: `MessageBusWrapper.send(<recipient: ${label}>, {})`,
    run: (ctx: Sweep) => ctx.bus().send(recipient as never, {}),
    code: 'INVALID_RECIPIENT' as const,
    mentions: 'recipient',
  })),
  ...unfaithfulCases({
    call: (label) => `MessageBusWrapper.send('w1', <${label}>)`,
    run: (ctx, value) => ctx.bus().send('w1', value),
    code: 'UNSERIALIZABLE_MESSAGE',
    root: 'message',
  }),
  {
    call: "MessageBusWrapper.send('w1', <1 MiB string>)",
    run: (ctx) => ctx.bus().send('w1', 'x'.repeat(1_048_576)),
    code: 'MESSAGE_TOO_LARGE',
    mentions: 'maxMessageBytes',
  },
  {
    call: "MessageBusWrapper.send('w1', -1, { schema: positive number })",
    run: (ctx) => ctx.bus().send('w1', -1, { schema: positiveNumber }),
    code: 'VALIDATION_FAILED',
    mentions: 'expected a positive number',
    props: { issues: [{ message: 'expected a positive number' }] },
  },
  ...notSchemas
    .filter(([, schema]) => schema !== null)
    .map(([label, schema]) => ({
      call: `MessageBusWrapper.send('w1', 1, { schema: ${label} })`,
      run: (ctx: Sweep) => ctx.bus().send('w1', 1, { schema: schema as never }),
      code: 'INVALID_OPTION' as const,
      mentions: 'schema',
    })),
  {
    call: "MessageBusWrapper.send('w1', 1, null)",
    run: (ctx) => ctx.bus().send('w1', 1, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  // inbox() and the Inbox.
  ...[...BAD_NAMES, ['braces', '{w}'] as [string, unknown]].map(([label, recipient]) => ({
    call: `MessageBusWrapper.inbox(<recipient: ${label}>)`,
    run: (ctx: Sweep) => ctx.bus().inbox(recipient as never),
    code: 'INVALID_RECIPIENT' as const,
    mentions: 'recipient',
    sync: true,
  })),
  ...(
    [
      ['{ redeliverAfterMs: 0 }', { redeliverAfterMs: 0 }, 'redeliverAfterMs'],
      ['{ redeliverAfterMs: 2 ** 31 }', { redeliverAfterMs: 2 ** 31 }, 'redeliverAfterMs'],
      ['{ maxDeliveries: NaN }', { maxDeliveries: Number.NaN }, 'maxDeliveries'],
      ['{ maxDeliveries: -1 }', { maxDeliveries: -1 }, 'maxDeliveries'],
      ['{ batchSize: 0 }', { batchSize: 0 }, 'batchSize'],
      ['{ batchSize: 10001 }', { batchSize: 10_001 }, 'batchSize'],
      ['{ batchSize: 1.5 }', { batchSize: 1.5 }, 'batchSize'],
      ["{ schema: 'zod' }", { schema: 'zod' }, 'schema'],
      ['{ schema: {} }', { schema: {} }, 'schema'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `MessageBusWrapper.inbox('w1', ${label})`,
    run: (ctx: Sweep) => ctx.bus().inbox('w1', options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
    sync: true,
  })),
  {
    call: "MessageBusWrapper.inbox('w1', null)",
    run: (ctx) => ctx.bus().inbox('w1', null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
    sync: true,
  },
  ...(
    [
      ['null', null],
      ["'handler'", 'handler'],
      ['undefined', undefined],
    ] as Array<[string, unknown]>
  ).map(([label, handler]) => ({
    call: `Inbox.consume(${label})`,
    run: (ctx: Sweep) =>
      ctx
        .bus()
        .inbox('w1')
        .consume(handler as never),
    code: 'INVALID_OPTION' as const,
    mentions: 'handler',
  })),
  ...(
    [
      ['0', 0],
      ['-1', -1],
      ['NaN', Number.NaN],
      ['1.5', 1.5],
      ['10001', 10_001],
      ["'5'", '5'],
    ] as Array<[string, unknown]>
  ).flatMap(([label, count]) => [
    {
      call: `Inbox.peek(${label})`,
      run: (ctx: Sweep) =>
        ctx
          .bus()
          .inbox('w1')
          .peek(count as never),
      code: 'INVALID_OPTION' as const,
      mentions: 'count',
    },
    {
      call: `Inbox.deadLetters(${label})`,
      run: (ctx: Sweep) =>
        ctx
          .bus()
          .inbox('w1')
          .deadLetters(count as never),
      code: 'INVALID_OPTION' as const,
      mentions: 'count',
    },
  ]),
  // Closed objects, and connection errors passed on unchanged.
  ...(
    [
      ["publish('c', 1)", (bus: MessageBusWrapper) => bus.publish('c', 1), false],
      ["subscribe('c', handler)", (bus: MessageBusWrapper) => bus.subscribe('c', () => {}), false],
      ["subscribePattern('c.*', handler)", (bus: MessageBusWrapper) => bus.subscribePattern('c.*', () => {}), false],
      ["unsubscribe('c')", (bus: MessageBusWrapper) => bus.unsubscribe('c'), false],
      ["send('w1', 1)", (bus: MessageBusWrapper) => bus.send('w1', 1), false],
      ["inbox('w1')", (bus: MessageBusWrapper) => bus.inbox('w1'), true],
      ["channel('typed', schema)", (bus: MessageBusWrapper) => bus.channel('typed', positiveNumber), true],
    ] as Array<[string, (bus: MessageBusWrapper) => unknown, boolean]>
  ).map(([label, call, sync]) => ({
    call: `MessageBusWrapper.${label} after close()`,
    before: (ctx: Sweep) => ctx.bus().close(),
    run: (ctx: Sweep) => call(ctx.bus()),
    code: 'BUS_CLOSED' as const,
    mentions: 'closed',
    sync,
  })),
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
    call: 'Inbox.consume(handler) after MessageBusWrapper.close()',
    run: async (ctx) => {
      const inbox = ctx.bus().inbox('w1');
      await ctx.bus().close();
      return inbox.consume(() => {});
    },
    code: 'BUS_CLOSED',
    mentions: 'closed',
  },
  {
    call: "MessageBusWrapper.publish('c', 1) on a manager not connected",
    run: (ctx) => ctx.track(new MessageBusWrapper(ctx.spare())).publish('c', 1),
    code: 'NOT_CONNECTED',
  },
  {
    call: "MessageBusWrapper.send('w1', 1) on a disconnected manager",
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.track(new MessageBusWrapper(ctx.spare())).send('w1', 1),
    code: 'MANAGER_CLOSED',
  },
]);

// ---------------------------------------------------------------------------- worker-registry

const registryCases = forPackage('worker-registry', [
  {
    call: 'new WorkerRegistry(null)',
    run: () => new WorkerRegistry(null as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  {
    call: 'new WorkerRegistry(manager, null)',
    run: (ctx) => new WorkerRegistry(ctx.manager, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
    sync: true,
  },
  ...(
    [
      ['{ heartbeatTtlMs: 0 }', { heartbeatTtlMs: 0 }, 'heartbeatTtlMs'],
      ['{ heartbeatTtlMs: -1 }', { heartbeatTtlMs: -1 }, 'heartbeatTtlMs'],
      ['{ heartbeatTtlMs: NaN }', { heartbeatTtlMs: Number.NaN }, 'heartbeatTtlMs'],
      ['{ heartbeatTtlMs: 1.5 }', { heartbeatTtlMs: 1.5 }, 'heartbeatTtlMs'],
      ['{ heartbeatTtlMs: Infinity }', { heartbeatTtlMs: Number.POSITIVE_INFINITY }, 'heartbeatTtlMs'],
      ['{ heartbeatTtlMs: 2 ** 31 }', { heartbeatTtlMs: 2 ** 31 }, 'heartbeatTtlMs'],
      ["{ heartbeatTtlMs: '15000' }", { heartbeatTtlMs: '15000' }, 'heartbeatTtlMs'],
      ['{ cleanupIntervalMs: 0 }', { cleanupIntervalMs: 0 }, 'cleanupIntervalMs'],
      ['{ cleanupIntervalMs: NaN }', { cleanupIntervalMs: Number.NaN }, 'cleanupIntervalMs'],
      ['{ maxMetadataBytes: 0 }', { maxMetadataBytes: 0 }, 'maxMetadataBytes'],
      ['{ maxMetadataBytes: -1 }', { maxMetadataBytes: -1 }, 'maxMetadataBytes'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `new WorkerRegistry(manager, ${label})`,
    run: (ctx: Sweep) => new WorkerRegistry(ctx.manager, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
    sync: true,
  })),
  ...[
    ...BAD_NAMES,
    ['257 characters', 'w'.repeat(257)] as [string, unknown],
    ['a lone surrogate', 'w\uD800'] as [string, unknown],
  ].map(([label, id]) => ({
    call: `WorkerRegistry.registerWorker(<id: ${label}>, {})`,
    run: (ctx: Sweep) => ctx.registry().registerWorker(id as never, {}),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
  })),
  ...(
    [
      ['null', null],
      ['[]', []],
      ["'caps'", 'caps'],
      ['42', 42],
      ['a Map', new Map()],
      ['a Date', new Date(0)],
      ['a class instance', new Point()],
    ] as Array<[string, unknown]>
  ).map(([label, metadata]) => ({
    call: `WorkerRegistry.registerWorker('w1', <metadata: ${label}>)`,
    run: (ctx: Sweep) => ctx.registry().registerWorker('w1', metadata as never),
    code: 'INVALID_METADATA' as const,
    mentions: 'metadata',
  })),
  ...UNFAITHFUL.filter(([label]) => label !== 'undefined').map(([label, value]) => ({
    call: `WorkerRegistry.registerWorker('w1', { v: <${label}> })`,
    run: (ctx: Sweep) => ctx.registry().registerWorker('w1', { v: value() }),
    code: 'INVALID_METADATA' as const,
    mentions: 'metadata',
  })),
  {
    call: "WorkerRegistry.registerWorker('w1', { [Symbol()]: 1 })",
    run: (ctx) => ctx.registry().registerWorker('w1', { [Symbol('k')]: 1 }),
    code: 'INVALID_METADATA',
    mentions: 'metadata',
  },
  {
    call: "WorkerRegistry.registerWorker('w1', <metadata over 65536 bytes>)",
    run: (ctx) => ctx.registry().registerWorker('w1', { s: 'x'.repeat(65_536) }),
    code: 'INVALID_METADATA',
    mentions: /metadata.*over 65536/,
  },
  {
    call: "WorkerRegistry.registerWorker('w1', { s: 200 bytes }) with { maxMetadataBytes: 100 }",
    run: (ctx) => ctx.registry({ maxMetadataBytes: 100 }).registerWorker('w1', { s: 'x'.repeat(200) }),
    code: 'INVALID_METADATA',
    mentions: /metadata.*over 100/,
  },
  {
    call: "WorkerRegistry.registerWorker('w1', {}, null)",
    run: (ctx) => ctx.registry().registerWorker('w1', {}, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  // heartbeat
  ...BAD_NAMES.map(([label, id]) => ({
    call: `WorkerRegistry.heartbeat(<id: ${label}>)`,
    run: (ctx: Sweep) => ctx.registry().heartbeat(id as never),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
  })),
  ...(
    [
      ["'offline'", 'offline'],
      ["'running'", 'running'],
      ["''", ''],
      ['42', 42],
    ] as Array<[string, unknown]>
  ).map(([label, status]) => ({
    call: `WorkerRegistry.heartbeat('w1', { status: ${label} })`,
    run: (ctx: Sweep) => ctx.registry().heartbeat('w1', { status: status as never }),
    code: 'INVALID_STATUS' as const,
    mentions: 'status',
  })),
  {
    call: "WorkerRegistry.heartbeat('w1', { removeMetadataKeys: 'a' })",
    run: (ctx) => ctx.registry().heartbeat('w1', { removeMetadataKeys: 'a' as never }),
    code: 'INVALID_METADATA',
    mentions: 'removeMetadataKeys',
  },
  {
    call: "WorkerRegistry.heartbeat('w1', { removeMetadataKeys: [1] })",
    run: (ctx) => ctx.registry().heartbeat('w1', { removeMetadataKeys: [1] as never }),
    code: 'INVALID_METADATA',
    mentions: 'removeMetadataKeys',
  },
  {
    call: "WorkerRegistry.heartbeat('ghost') (never registered)",
    run: (ctx) => ctx.registry().heartbeat('ghost'),
    code: 'NOT_REGISTERED',
    mentions: 'ghost',
    props: { workerId: 'ghost' },
  },
  {
    call: "WorkerRegistry.heartbeat('w1', null)",
    run: (ctx) => ctx.registry().heartbeat('w1', null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  // setStatus
  ...BAD_NAMES.slice(0, 4).map(([label, id]) => ({
    call: `WorkerRegistry.setStatus(<id: ${label}>, 'busy')`,
    run: (ctx: Sweep) => ctx.registry().setStatus(id as never, 'busy'),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
  })),
  ...(
    [
      ["'running'", 'running'],
      ["''", ''],
      ['null', null],
      ['42', 42],
      ["'BUSY'", 'BUSY'],
    ] as Array<[string, unknown]>
  ).map(([label, status]) => ({
    call: `WorkerRegistry.setStatus('w1', ${label})`,
    run: (ctx: Sweep) => ctx.registry().setStatus('w1', status as never),
    code: 'INVALID_STATUS' as const,
    mentions: 'status',
  })),
  {
    call: "WorkerRegistry.setStatus('ghost', 'busy') (never registered)",
    run: (ctx) => ctx.registry().setStatus('ghost', 'busy'),
    code: 'NOT_REGISTERED',
    mentions: 'ghost',
  },
  // get / listActive / unregister / startHeartbeat / subscribe
  ...BAD_NAMES.map(([label, id]) => ({
    call: `WorkerRegistry.get(<id: ${label}>)`,
    run: (ctx: Sweep) => ctx.registry().get(id as never),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
  })),
  ...BAD_NAMES.slice(0, 4).map(([label, id]) => ({
    call: `WorkerRegistry.unregister(<id: ${label}>)`,
    run: (ctx: Sweep) => ctx.registry().unregister(id as never),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
  })),
  {
    call: "WorkerRegistry.listActive({ status: 'zombie' })",
    run: (ctx) => ctx.registry().listActive({ status: 'zombie' as never }),
    code: 'INVALID_STATUS',
    mentions: 'status',
  },
  {
    call: 'WorkerRegistry.listActive({ status: 42 })',
    run: (ctx) => ctx.registry().listActive({ status: 42 as never }),
    code: 'INVALID_STATUS',
    mentions: 'status',
  },
  {
    call: 'WorkerRegistry.listActive(null)',
    run: (ctx) => ctx.registry().listActive(null as never),
    code: 'INVALID_OPTION',
    mentions: 'filter',
  },
  ...BAD_NAMES.slice(0, 4).map(([label, id]) => ({
    call: `WorkerRegistry.startHeartbeat(<id: ${label}>, { intervalMs: 1000 })`,
    run: (ctx: Sweep) => ctx.registry().startHeartbeat(id as never, { intervalMs: 1_000 }),
    code: 'INVALID_WORKER_ID' as const,
    mentions: 'worker id',
    sync: true,
  })),
  ...(
    [
      ['{ intervalMs: 0 }', { intervalMs: 0 }],
      ['{ intervalMs: -1 }', { intervalMs: -1 }],
      ['{ intervalMs: NaN }', { intervalMs: Number.NaN }],
      ['{ intervalMs: 1.5 }', { intervalMs: 1.5 }],
      ["{ intervalMs: '1000' }", { intervalMs: '1000' }],
      ['{ intervalMs: 5000 } (= heartbeatTtlMs)', { intervalMs: 5_000 }],
      ['{}', {}],
    ] as Array<[string, unknown]>
  ).map(([label, options]) => ({
    call: `WorkerRegistry.startHeartbeat('w1', ${label})`,
    run: (ctx: Sweep) => ctx.registry().startHeartbeat('w1', options as never),
    code: 'INVALID_OPTION' as const,
    mentions: 'intervalMs',
    sync: true,
  })),
  {
    call: "WorkerRegistry.startHeartbeat('w1') (no options)",
    run: (ctx) => (ctx.registry().startHeartbeat as (id: string) => unknown)('w1'),
    code: 'INVALID_OPTION',
    mentions: 'intervalMs',
    sync: true,
  },
  {
    call: "WorkerRegistry.startHeartbeat('w1', null)",
    run: (ctx) => ctx.registry().startHeartbeat('w1', null as never),
    code: 'INVALID_OPTION',
    mentions: 'intervalMs',
    sync: true,
  },
  {
    call: "WorkerRegistry.startHeartbeat('ghost', { intervalMs: 1000 }) (never registered)",
    run: (ctx) => ctx.registry().startHeartbeat('ghost', { intervalMs: 1_000 }),
    code: 'NOT_REGISTERED',
    mentions: 'ghost',
    sync: true,
  },
  ...(
    [
      ['null', null],
      ["'handler'", 'handler'],
      ['undefined', undefined],
    ] as Array<[string, unknown]>
  ).map(([label, handler]) => ({
    call: `WorkerRegistry.subscribe(${label})`,
    run: (ctx: Sweep) => ctx.registry().subscribe(handler as never),
    code: 'INVALID_OPTION' as const,
    mentions: 'handler',
  })),
  ...(
    [
      ["registerWorker('w1', {})", (registry: WorkerRegistry) => registry.registerWorker('w1', {}), false],
      ["heartbeat('w1')", (registry: WorkerRegistry) => registry.heartbeat('w1'), false],
      ["setStatus('w1', 'busy')", (registry: WorkerRegistry) => registry.setStatus('w1', 'busy'), false],
      ["get('w1')", (registry: WorkerRegistry) => registry.get('w1'), false],
      ['listActive()', (registry: WorkerRegistry) => registry.listActive(), false],
      ['detectStale()', (registry: WorkerRegistry) => registry.detectStale(), false],
      ["unregister('w1')", (registry: WorkerRegistry) => registry.unregister('w1'), false],
      ['subscribe(handler)', (registry: WorkerRegistry) => registry.subscribe(() => {}), false],
      [
        "startHeartbeat('w1', { intervalMs: 1000 })",
        (registry: WorkerRegistry) => registry.startHeartbeat('w1', { intervalMs: 1_000 }),
        true,
      ],
    ] as Array<[string, (registry: WorkerRegistry) => unknown, boolean]>
  ).map(([label, call, sync]) => ({
    call: `WorkerRegistry.${label} after close()`,
    before: (ctx: Sweep) => ctx.registry().close(),
    run: (ctx: Sweep) => call(ctx.registry()),
    code: 'REGISTRY_CLOSED' as const,
    mentions: 'closed',
    sync,
  })),
  {
    call: "WorkerRegistry.registerWorker('w1', {}) on a manager not connected",
    run: (ctx) => ctx.track(new WorkerRegistry(ctx.spare())).registerWorker('w1', {}),
    code: 'NOT_CONNECTED',
  },
  {
    call: "WorkerRegistry.get('w1') on a disconnected manager",
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.track(new WorkerRegistry(ctx.spare())).get('w1'),
    code: 'MANAGER_CLOSED',
  },
]);

// --------------------------------------------------------------------------------- task-queue

const dataSchema = schemaOf(
  (value) => typeof value === 'object' && value !== null && typeof (value as { n?: unknown }).n === 'number',
  'n must be a number',
);

const queueCases = forPackage('task-queue', [
  {
    call: "new TaskQueueWrapper(null, 'q')",
    run: () => new TaskQueueWrapper(null as never, 'q'),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  ...[
    ...BAD_NAMES,
    ['a space', 'my queue'] as [string, unknown],
    ["':'", 'a:b'] as [string, unknown],
    ['braces', '{q}'] as [string, unknown],
    ["'.dead-letter' suffix", 'q.dead-letter'] as [string, unknown],
    ['201 characters', 'q'.repeat(201)] as [string, unknown],
  ].map(([label, name]) => ({
    call: `new TaskQueueWrapper(manager, <name: ${label}>)`,
    run: (ctx: Sweep) => new TaskQueueWrapper(ctx.manager, name as never),
    code: 'INVALID_QUEUE_NAME' as const,
    mentions: 'queue name',
    sync: true,
  })),
  ...(
    [
      ['null', null, 'options'],
      ["'fast'", 'fast', 'options'],
      ['{ maxDataBytes: 0 }', { maxDataBytes: 0 }, 'maxDataBytes'],
      ['{ attempts: 0 }', { attempts: 0 }, 'attempts'],
      ['{ attempts: NaN }', { attempts: Number.NaN }, 'attempts'],
      ['{ attempts: 1.5 }', { attempts: 1.5 }, 'attempts'],
      ["{ backoff: 'exponential' }", { backoff: 'exponential' }, 'backoff'],
      ["{ backoff: { type: 'linear', delayMs: 1 } }", { backoff: { type: 'linear', delayMs: 1 } }, 'backoff'],
      ["{ backoff: { type: 'fixed', delayMs: -1 } }", { backoff: { type: 'fixed', delayMs: -1 } }, 'backoff.delayMs'],
      [
        "{ backoff: { type: 'fixed', delayMs: 1, jitter: 2 } }",
        { backoff: { type: 'fixed', delayMs: 1, jitter: 2 } },
        'backoff.jitter',
      ],
      ['{ lockDurationMs: 1 }', { lockDurationMs: 1 }, 'lockDurationMs'],
      ['{ lockDurationMs: NaN }', { lockDurationMs: Number.NaN }, 'lockDurationMs'],
      ['{ lockDurationMs: 1000, lockRenewMs: 1000 }', { lockDurationMs: 1_000, lockRenewMs: 1_000 }, 'lockRenewMs'],
      ['{ stalledIntervalMs: 0 }', { stalledIntervalMs: 0 }, 'stalledIntervalMs'],
      ['{ stalledIntervalMs: -5 }', { stalledIntervalMs: -5 }, 'stalledIntervalMs'],
      ['{ maxStalledCount: -1 }', { maxStalledCount: -1 }, 'maxStalledCount'],
      ['{ closeTimeoutMs: 0 }', { closeTimeoutMs: 0 }, 'closeTimeoutMs'],
      ['{ keepCompleted: {} }', { keepCompleted: {} }, 'keepCompleted'],
      ['{ keepCompleted: { count: -1 } }', { keepCompleted: { count: -1 } }, 'keepCompleted.count'],
      ['{ keepCompleted: { ageMs: 0 } }', { keepCompleted: { ageMs: 0 } }, 'keepCompleted.ageMs'],
      ['{ schema: {} }', { schema: {} }, 'schema'],
      ["{ schema: 'zod' }", { schema: 'zod' }, 'schema'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `new TaskQueueWrapper(manager, 'q', ${label})`,
    run: (ctx: Sweep) => new TaskQueueWrapper(ctx.manager, 'q', options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
    sync: true,
  })),
  // addJob: data
  ...unfaithfulCases({
    call: (label) => `TaskQueueWrapper.addJob(<${label}>)`,
    run: (ctx, value) => ctx.queue().addJob(value),
    code: 'INVALID_DATA',
    root: 'data',
  }),
  {
    call: 'TaskQueueWrapper.addJob(<512 KiB string>) (default maxDataBytes)',
    run: (ctx) => ctx.queue().addJob('x'.repeat(524_288)),
    code: 'DATA_TOO_LARGE',
    mentions: 'maxDataBytes',
  },
  {
    call: 'TaskQueueWrapper.addJob(<200 bytes>) with { maxDataBytes: 100 }',
    run: (ctx) => ctx.queue({ maxDataBytes: 100 }).addJob({ s: 'x'.repeat(200) }),
    code: 'DATA_TOO_LARGE',
    mentions: 'maxDataBytes',
  },
  {
    call: "TaskQueueWrapper.addJob({ n: 'one' }) with a schema",
    run: (ctx) => ctx.queue({ schema: dataSchema }).addJob({ n: 'one' }),
    code: 'VALIDATION_FAILED',
    mentions: 'n must be a number',
    props: { issues: [{ message: 'n must be a number' }] },
  },
  {
    call: 'TaskQueueWrapper.addJob({ n: 1 }) with a schema whose validator throws',
    run: (ctx) => ctx.queue({ schema: throwingSchema }).addJob({ n: 1 }),
    code: 'VALIDATION_FAILED',
    mentions: 'validator exploded',
  },
  // addJob: priority and options
  ...(
    [
      ['NaN', Number.NaN],
      ['0', 0],
      ['-1', -1],
      ['1.5', 1.5],
      ['2097152', 2_097_152],
      ['Infinity', Number.POSITIVE_INFINITY],
    ] as Array<[string, number]>
  ).flatMap(([label, priority]) => [
    {
      call: `TaskQueueWrapper.addJob(data, ${label})`,
      run: (ctx: Sweep) => ctx.queue().addJob({ n: 1 }, priority),
      code: 'INVALID_PRIORITY' as const,
      mentions: 'priority',
    },
    {
      call: `TaskQueueWrapper.addJob(data, { priority: ${label} })`,
      run: (ctx: Sweep) => ctx.queue().addJob({ n: 1 }, { priority }),
      code: 'INVALID_PRIORITY' as const,
      mentions: 'priority',
    },
  ]),
  {
    call: "TaskQueueWrapper.addJob(data, { priority: '1' })",
    run: (ctx) => ctx.queue().addJob({ n: 1 }, { priority: '1' as never }),
    code: 'INVALID_PRIORITY',
    mentions: 'priority',
  },
  ...(
    [
      ['null', null],
      ["'high'", 'high'],
      ['true', true],
    ] as Array<[string, unknown]>
  ).map(([label, options]) => ({
    call: `TaskQueueWrapper.addJob(data, ${label})`,
    run: (ctx: Sweep) => ctx.queue().addJob({ n: 1 }, options as never),
    code: 'INVALID_JOB_OPTION' as const,
    mentions: 'priority or an options object',
  })),
  ...[
    ...BAD_NAMES.filter(([label]) => label !== 'undefined'),
    ['all digits', '123'] as [string, unknown],
    ["':'", 'a:b'] as [string, unknown],
    ['257 characters', 'j'.repeat(257)] as [string, unknown],
    ['a lone surrogate', 'j\uD800'] as [string, unknown],
  ].map(([label, jobId]) => ({
    call: `TaskQueueWrapper.addJob(data, { jobId: <${label}> })`,
    run: (ctx: Sweep) => ctx.queue().addJob({ n: 1 }, { jobId: jobId as never }),
    code: 'INVALID_JOB_ID' as const,
    mentions: 'jobId',
  })),
  ...(
    [
      ['{ attempts: 0 }', { attempts: 0 }, 'attempts'],
      ['{ attempts: NaN }', { attempts: Number.NaN }, 'attempts'],
      ['{ delayMs: -1 }', { delayMs: -1 }, 'delayMs'],
      ['{ delayMs: NaN }', { delayMs: Number.NaN }, 'delayMs'],
      ['{ delayMs: 1.5 }', { delayMs: 1.5 }, 'delayMs'],
      ["{ backoff: 'fixed' }", { backoff: 'fixed' }, 'backoff'],
      [
        "{ backoff: { type: 'fixed', delayMs: NaN } }",
        { backoff: { type: 'fixed', delayMs: Number.NaN } },
        'backoff.delayMs',
      ],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `TaskQueueWrapper.addJob(data, ${label})`,
    run: (ctx: Sweep) => ctx.queue().addJob({ n: 1 }, options as never),
    code: 'INVALID_JOB_OPTION' as const,
    mentions: option,
  })),
  // addJobs: all or none
  ...(
    [
      ["'jobs'", 'jobs'],
      ['null', null],
      ['{}', {}],
    ] as Array<[string, unknown]>
  ).map(([label, jobs]) => ({
    call: `TaskQueueWrapper.addJobs(${label})`,
    run: (ctx: Sweep) => ctx.queue().addJobs(jobs as never),
    code: 'INVALID_JOB_OPTION' as const,
    mentions: 'array',
  })),
  {
    call: 'TaskQueueWrapper.addJobs([null])',
    run: (ctx) => ctx.queue().addJobs([null as never]),
    code: 'INVALID_JOB_OPTION',
    mentions: 'jobs[0]',
  },
  {
    call: 'TaskQueueWrapper.addJobs([ , ]) (a hole)',
    // eslint-disable-next-line no-sparse-arrays -- the hole is the bad input
    run: (ctx) => ctx.queue().addJobs([, { data: 1 }] as never),
    code: 'INVALID_JOB_OPTION',
    mentions: 'jobs[0]',
  },
  {
    call: 'TaskQueueWrapper.addJobs([{ data: 1 }, { data: 1n }])',
    run: (ctx) => ctx.queue().addJobs([{ data: 1 }, { data: 1n }]),
    code: 'INVALID_DATA',
    mentions: 'jobs[1]',
  },
  {
    call: 'TaskQueueWrapper.addJobs([{ data: 1 }, { data: 2, options: { priority: 0 } }])',
    run: (ctx) => ctx.queue().addJobs([{ data: 1 }, { data: 2, options: { priority: 0 } }]),
    code: 'INVALID_PRIORITY',
    mentions: 'jobs[1]',
  },
  {
    call: "TaskQueueWrapper.addJobs([{ data: 1 }, { data: 2, options: { jobId: '7' } }])",
    run: (ctx) => ctx.queue().addJobs([{ data: 1 }, { data: 2, options: { jobId: '7' } }]),
    code: 'INVALID_JOB_ID',
    mentions: 'jobs[1]',
  },
  {
    call: "TaskQueueWrapper.addJobs([{ data: { n: 1 } }, { data: { n: 'x' } }]) with a schema",
    run: (ctx) => ctx.queue({ schema: dataSchema }).addJobs([{ data: { n: 1 } }, { data: { n: 'x' } }]),
    code: 'VALIDATION_FAILED',
    mentions: 'jobs[1]',
  },
  // process / subscribe
  ...(
    [
      ['null', null],
      ["'handler'", 'handler'],
      ['undefined', undefined],
    ] as Array<[string, unknown]>
  ).flatMap(([label, handler]) => [
    {
      call: `TaskQueueWrapper.process(${label})`,
      run: (ctx: Sweep) => ctx.queue().process(handler as never),
      code: 'INVALID_HANDLER' as const,
      mentions: 'handler',
    },
    {
      call: `TaskQueueWrapper.subscribe(${label})`,
      run: (ctx: Sweep) => ctx.queue().subscribe(handler as never),
      code: 'INVALID_HANDLER' as const,
      mentions: 'handler',
    },
  ]),
  ...(
    [
      ['null', null, 'options'],
      ['{ concurrency: 0 }', { concurrency: 0 }, 'concurrency'],
      ['{ concurrency: NaN }', { concurrency: Number.NaN }, 'concurrency'],
      ['{ concurrency: -1 }', { concurrency: -1 }, 'concurrency'],
      ['{ concurrency: 1.5 }', { concurrency: 1.5 }, 'concurrency'],
      ['{ concurrency: 10001 }', { concurrency: 10_001 }, 'concurrency'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `TaskQueueWrapper.process(handler, ${label})`,
    run: (ctx: Sweep) => ctx.queue().process(() => 1, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  // listDeadLetters / retryDeadLetter / clean / close
  ...(
    [
      ['null', null, 'range'],
      ['{ start: -1 }', { start: -1 }, 'start'],
      ['{ start: 1.5 }', { start: 1.5 }, 'start'],
      ['{ count: 0 }', { count: 0 }, 'count'],
      ['{ count: NaN }', { count: Number.NaN }, 'count'],
      ['{ count: 10001 }', { count: 10_001 }, 'count'],
    ] as Array<[string, unknown, string]>
  ).map(([label, range, option]) => ({
    call: `TaskQueueWrapper.listDeadLetters(${label})`,
    run: (ctx: Sweep) => ctx.queue().listDeadLetters(range as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  ...[
    ['""', ''],
    ['42', 42],
    ['all digits', '123'],
    ["':'", 'a:b'],
    ['a newline', 'a\nb'],
  ].map(([label, jobId]) => ({
    call: `TaskQueueWrapper.retryDeadLetter(<${label as string}>)`,
    run: (ctx: Sweep) => ctx.queue().retryDeadLetter(jobId as never),
    code: 'INVALID_JOB_ID' as const,
    mentions: 'jobId',
  })),
  {
    call: "TaskQueueWrapper.retryDeadLetter('missing-job') (not in the dead-letter queue)",
    run: (ctx) => ctx.queue().retryDeadLetter('missing-job'),
    code: 'NOT_FOUND',
    mentions: 'missing-job',
    props: { jobId: 'missing-job' },
  },
  ...(
    [
      ['null', null, 'status'],
      ['{}', {}, 'status'],
      ["{ status: 'done', olderThanMs: 0 }", { status: 'done', olderThanMs: 0 }, 'status'],
      ["{ status: 'completed', olderThanMs: -1 }", { status: 'completed', olderThanMs: -1 }, 'olderThanMs'],
      ["{ status: 'completed', olderThanMs: NaN }", { status: 'completed', olderThanMs: Number.NaN }, 'olderThanMs'],
      ["{ status: 'failed' } (no olderThanMs)", { status: 'failed' }, 'olderThanMs'],
      ["{ status: 'failed', olderThanMs: 0, limit: 0 }", { status: 'failed', olderThanMs: 0, limit: 0 }, 'limit'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `TaskQueueWrapper.clean(${label})`,
    run: (ctx: Sweep) => ctx.queue().clean(options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  ...(
    [
      ['null', null, 'options'],
      ['{ timeoutMs: 0 }', { timeoutMs: 0 }, 'timeoutMs'],
      ['{ timeoutMs: NaN }', { timeoutMs: Number.NaN }, 'timeoutMs'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `TaskQueueWrapper.close(${label})`,
    run: (ctx: Sweep) => ctx.queue().close(options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  ...(
    [
      ['addJob({ n: 1 })', (queue: TaskQueueWrapper<unknown>) => queue.addJob({ n: 1 })],
      ['addJobs([{ data: 1 }])', (queue: TaskQueueWrapper<unknown>) => queue.addJobs([{ data: 1 }])],
      ['process(handler)', (queue: TaskQueueWrapper<unknown>) => queue.process(() => 1)],
      ['getQueueStats()', (queue: TaskQueueWrapper<unknown>) => queue.getQueueStats()],
      ['listDeadLetters()', (queue: TaskQueueWrapper<unknown>) => queue.listDeadLetters()],
      ["retryDeadLetter('j1')", (queue: TaskQueueWrapper<unknown>) => queue.retryDeadLetter('j1')],
      ['pause()', (queue: TaskQueueWrapper<unknown>) => queue.pause()],
      ['resume()', (queue: TaskQueueWrapper<unknown>) => queue.resume()],
      [
        "clean({ status: 'completed', olderThanMs: 0 })",
        (queue: TaskQueueWrapper<unknown>) => queue.clean({ status: 'completed', olderThanMs: 0 }),
      ],
      ['subscribe(handler)', (queue: TaskQueueWrapper<unknown>) => queue.subscribe(() => {})],
    ] as Array<[string, (queue: TaskQueueWrapper<unknown>) => unknown]>
  ).map(([label, call]) => ({
    call: `TaskQueueWrapper.${label} after close()`,
    before: (ctx: Sweep) => ctx.queue().close(),
    run: (ctx: Sweep) => call(ctx.queue()),
    code: 'QUEUE_CLOSED' as const,
    mentions: 'closed',
  })),
  {
    call: 'TaskQueueWrapper.addJob({ n: 1 }) on a manager not connected',
    run: (ctx) => ctx.track(new TaskQueueWrapper(ctx.spare(), 'sweep')).addJob({ n: 1 }),
    code: 'NOT_CONNECTED',
  },
  {
    call: 'TaskQueueWrapper.getQueueStats() on a disconnected manager',
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.track(new TaskQueueWrapper(ctx.spare(), 'sweep')).getQueueStats(),
    code: 'MANAGER_CLOSED',
  },
]);

// -------------------------------------------------------------------------------------- state

const BAD_KEYS: ReadonlyArray<[label: string, value: unknown]> = [
  ...BAD_NAMES,
  ['a lone surrogate', 'k\uD800'],
  ['1025 characters', 'k'.repeat(1_025)],
];

const stateCases = forPackage('state', [
  {
    call: 'new StateManager(null)',
    run: () => new StateManager(null as never),
    code: 'INVALID_OPTION',
    mentions: 'connection',
    sync: true,
  },
  ...(
    [
      ['null', null, 'options'],
      ["{ scope: '' }", { scope: '' }, 'scope'],
      ["{ scope: 'a b' }", { scope: 'a b' }, 'scope'],
      ["{ scope: '{s}' }", { scope: '{s}' }, 'scope'],
      ["{ scope: 's*' }", { scope: 's*' }, 'scope'],
      ['{ scope: 42 }', { scope: 42 }, 'scope'],
      ["{ writer: '' }", { writer: '' }, 'writer'],
      ['{ writer: 42 }', { writer: 42 }, 'writer'],
      ['{ writer: 257 characters }', { writer: 'w'.repeat(257) }, 'writer'],
      ['{ maxValueBytes: 0 }', { maxValueBytes: 0 }, 'maxValueBytes'],
      ['{ maxValueBytes: NaN }', { maxValueBytes: Number.NaN }, 'maxValueBytes'],
      ['{ maxAttempts: 0 }', { maxAttempts: 0 }, 'maxAttempts'],
      ['{ maxAttempts: 1.5 }', { maxAttempts: 1.5 }, 'maxAttempts'],
      ['{ retryBaseDelayMs: -1 }', { retryBaseDelayMs: -1 }, 'retryBaseDelayMs'],
      ['{ retryBaseDelayMs: 10, retryMaxDelayMs: 5 }', { retryBaseDelayMs: 10, retryMaxDelayMs: 5 }, 'retryMaxDelayMs'],
      ['{ cleanupIntervalMs: -1 }', { cleanupIntervalMs: -1 }, 'cleanupIntervalMs'],
      ['{ cleanupIntervalMs: 1.5 }', { cleanupIntervalMs: 1.5 }, 'cleanupIntervalMs'],
      ['{ maxIdleMs: 0 }', { maxIdleMs: 0 }, 'maxIdleMs'],
      ['{ lockTtlMs: 2 }', { lockTtlMs: 2 }, 'lockTtlMs'],
      ['{ lockWaitMs: -1 }', { lockWaitMs: -1 }, 'lockWaitMs'],
      ["{ resyncOnReconnect: 'yes' }", { resyncOnReconnect: 'yes' }, 'resyncOnReconnect'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `new StateManager(manager, ${label})`,
    run: (ctx: Sweep) => new StateManager(ctx.manager, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
    sync: true,
  })),
  // keys, on every method that takes one
  ...BAD_KEYS.flatMap(([label, key]) => [
    {
      call: `StateManager.get(<key: ${label}>)`,
      run: (ctx: Sweep) => ctx.state().get(key as never),
      code: 'INVALID_KEY' as const,
      mentions: 'key',
    },
    {
      call: `StateManager.set(<key: ${label}>, 1)`,
      run: (ctx: Sweep) => ctx.state().set(key as never, 1),
      code: 'INVALID_KEY' as const,
      mentions: 'key',
    },
  ]),
  ...(
    [
      ['has', (state: StateManager, key: never) => state.has(key)],
      ['getEntry', (state: StateManager, key: never) => state.getEntry(key)],
      ['delete', (state: StateManager, key: never) => state.delete(key)],
      ['atomicUpdate', (state: StateManager, key: never) => state.atomicUpdate(key, () => 1)],
      ['increment', (state: StateManager, key: never) => state.increment(key)],
      ['merge', (state: StateManager, key: never) => state.merge(key, { a: 1 })],
      ['subscribe', (state: StateManager, key: never) => state.subscribe(key, () => {})],
      ['lock', (state: StateManager, key: never) => state.lock(key)],
      ['withLock', (state: StateManager, key: never) => state.withLock(key, () => 1)],
    ] as Array<[string, (state: StateManager, key: never) => unknown]>
  ).flatMap(([method, call]) =>
    (
      [
        ["''", ''],
        ['42', 42],
        ['a newline', 'a\nb'],
        ['a lone surrogate', 'k\uD800'],
      ] as Array<[string, unknown]>
    ).map(([label, key]) => ({
      call: `StateManager.${method}(<${method.includes('ock') ? 'lock name' : 'key'}: ${label}>)`,
      run: (ctx: Sweep) => call(ctx.state(), key as never),
      code: 'INVALID_KEY' as const,
      mentions: method.includes('ock') ? 'lock name' : 'key',
    })),
  ),
  // values
  ...[
    ...UNFAITHFUL,
    ['-Infinity', () => Number.NEGATIVE_INFINITY] as [string, () => unknown],
    ["an own '__proto__' key", () => JSON.parse('{"__proto__":{"x":1}}') as unknown] as [string, () => unknown],
    ["a nested own '__proto__' key", () => JSON.parse('{"a":[{"__proto__":1}]}') as unknown] as [string, () => unknown],
    ['nesting 300 levels deep', () => nested(300)] as [string, () => unknown],
  ].flatMap(([label, value]) => [
    {
      call: `StateManager.set('k', <${label}>)`,
      run: (ctx: Sweep) => ctx.state().set('k', value()),
      code: 'INVALID_VALUE' as const,
      mentions: 'value',
    },
    {
      call: `StateManager.atomicUpdate('k', () => <${label}>)`,
      run: (ctx: Sweep) => ctx.state().atomicUpdate('k', () => value()),
      code: 'INVALID_VALUE' as const,
      mentions: 'updater result',
    },
  ]),
  ...NESTED.map(([label, value, path]) => ({
    call: `StateManager.set('k', <${label}>)`,
    run: (ctx: Sweep) => ctx.state().set('k', value()),
    code: 'INVALID_VALUE' as const,
    mentions: `value.${path}`,
  })),
  {
    call: "StateManager.set('k', <1 MiB string>) (default maxValueBytes)",
    run: (ctx) => ctx.state().set('k', 'x'.repeat(1_048_576)),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  {
    call: "StateManager.set('k', <11 bytes>) with { maxValueBytes: 10 }",
    run: (ctx) => ctx.state({ maxValueBytes: 10 }).set('k', '123456789'),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  // set / delete options
  ...(
    [
      ['{ ttlMs: 0 }', { ttlMs: 0 }, 'ttlMs'],
      ['{ ttlMs: -1 }', { ttlMs: -1 }, 'ttlMs'],
      ['{ ttlMs: NaN }', { ttlMs: Number.NaN }, 'ttlMs'],
      ['{ ttlMs: 1.5 }', { ttlMs: 1.5 }, 'ttlMs'],
      ["{ ttlMs: '100' }", { ttlMs: '100' }, 'ttlMs'],
      ['{ ifVersion: -1 }', { ifVersion: -1 }, 'ifVersion'],
      ['{ ifVersion: 1.5 }', { ifVersion: 1.5 }, 'ifVersion'],
      ['{ ifVersion: NaN }', { ifVersion: Number.NaN }, 'ifVersion'],
      ['{ timestamp: -1 }', { timestamp: -1 }, 'timestamp'],
      ['{ timestamp: NaN }', { timestamp: Number.NaN }, 'timestamp'],
      ["{ writer: '' }", { writer: '' }, 'writer'],
      ['{ writer: 42 }', { writer: 42 }, 'writer'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `StateManager.set('k', 1, ${label})`,
    run: (ctx: Sweep) => ctx.state().set('k', 1, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  {
    call: "StateManager.set('k', 1, null)",
    run: (ctx) => ctx.state().set('k', 1, null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  {
    call: "StateManager.set('k', 1, { ifVersion: 1 }) (the key is absent)",
    run: (ctx) => ctx.state().set('k', 1, { ifVersion: 1 }),
    code: 'CONFLICT',
    mentions: 'expected version 1',
    props: { name: 'StateConflictError', expectedVersion: 1, actualVersion: 0 },
  },
  {
    call: "StateManager.delete('k', { timestamp: NaN })",
    run: (ctx) => ctx.state().delete('k', { timestamp: Number.NaN }),
    code: 'INVALID_OPTION',
    mentions: 'timestamp',
  },
  {
    call: "StateManager.delete('k', null)",
    run: (ctx) => ctx.state().delete('k', null as never),
    code: 'INVALID_OPTION',
    mentions: 'options',
  },
  // atomicUpdate
  ...(
    [
      ['null', null],
      ["'updater'", 'updater'],
      ['42', 42],
    ] as Array<[string, unknown]>
  ).map(([label, updater]) => ({
    call: `StateManager.atomicUpdate('k', ${label})`,
    run: (ctx: Sweep) => ctx.state().atomicUpdate('k', updater as never),
    code: 'INVALID_ARGUMENT' as const,
    mentions: 'updater',
  })),
  ...(
    [
      ['{ maxAttempts: 0 }', { maxAttempts: 0 }, 'maxAttempts'],
      ['{ maxAttempts: NaN }', { maxAttempts: Number.NaN }, 'maxAttempts'],
      ['{ ttlMs: 0 }', { ttlMs: 0 }, 'ttlMs'],
      ["{ writer: '' }", { writer: '' }, 'writer'],
      ['null', null, 'options'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `StateManager.atomicUpdate('k', () => 1, ${label})`,
    run: (ctx: Sweep) => ctx.state().atomicUpdate('k', () => 1, options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  {
    call: "StateManager.atomicUpdate('k', () => { throw }) (the updater's own error comes out unchanged)",
    run: (ctx) =>
      ctx.state().atomicUpdate('k', () => {
        throw new UpdaterFailed('the updater said no');
      }),
    code: 'UpdaterFailed',
    mentions: 'the updater said no',
  },
  // increment / merge
  ...(
    [
      ['1.5', 1.5],
      ['NaN', Number.NaN],
      ['Infinity', Number.POSITIVE_INFINITY],
      ['2 ** 53', 2 ** 53],
      ["'1'", '1'],
      ['1n', 1n],
    ] as Array<[string, unknown]>
  ).map(([label, by]) => ({
    call: `StateManager.increment('k', ${label})`,
    run: (ctx: Sweep) => ctx.state().increment('k', by as never),
    code: 'INVALID_ARGUMENT' as const,
    mentions: 'increment',
  })),
  ...(
    [
      ["''", ''],
      ["'__proto__'", '__proto__'],
      ['42', 42],
      ['a newline', 'a\nb'],
    ] as Array<[string, unknown]>
  ).map(([label, field]) => ({
    call: `StateManager.increment('k', 1, { field: ${label} })`,
    run: (ctx: Sweep) => ctx.state().increment('k', 1, { field: field as never }),
    code: 'INVALID_KEY' as const,
    mentions: 'field',
  })),
  ...(
    [
      ['{ ttlMs: 0 }', { ttlMs: 0 }, 'ttlMs'],
      ['{ writer: 42 }', { writer: 42 }, 'writer'],
      ['null', null, 'options'],
    ] as Array<[string, unknown, string]>
  ).flatMap(([label, options, option]) => [
    {
      call: `StateManager.increment('k', 1, ${label})`,
      run: (ctx: Sweep) => ctx.state().increment('k', 1, options as never),
      code: 'INVALID_OPTION' as const,
      mentions: option,
    },
    {
      call: `StateManager.merge('k', { a: 1 }, ${label})`,
      run: (ctx: Sweep) => ctx.state().merge('k', { a: 1 }, options as never),
      code: 'INVALID_OPTION' as const,
      mentions: option,
    },
  ]),
  ...(
    [
      ['null', null],
      ['[1, 2]', [1, 2]],
      ["'patch'", 'patch'],
      ['42', 42],
      ['a Map', new Map()],
      ['a Date', new Date(0)],
      ['a class instance', new Point()],
    ] as Array<[string, unknown]>
  ).map(([label, patch]) => ({
    call: `StateManager.merge('k', ${label})`,
    run: (ctx: Sweep) => ctx.state().merge('k', patch as never),
    code: 'INVALID_VALUE' as const,
    mentions: 'patch',
  })),
  ...(
    [
      ['{ a: 1n }', () => ({ a: 1n })],
      ['{ a: NaN }', () => ({ a: Number.NaN })],
      ['{ a: { when: Date } }', () => ({ a: { when: new Date(0) } })],
      ['{ a: () => 1 }', () => ({ a: () => 1 })],
      ['{ __proto__: … } (own key)', () => JSON.parse('{"__proto__":{"x":1}}') as unknown],
    ] as Array<[string, () => unknown]>
  ).map(([label, patch]) => ({
    call: `StateManager.merge('k', ${label})`,
    run: (ctx: Sweep) => ctx.state().merge('k', patch() as never),
    code: 'INVALID_VALUE' as const,
    mentions: 'patch',
  })),
  {
    call: "StateManager.merge('k', { big: <1 MiB string> })",
    run: (ctx) => ctx.state().merge('k', { big: 'x'.repeat(1_048_576) }),
    code: 'VALUE_TOO_LARGE',
    mentions: 'maxValueBytes',
  },
  // listing, cleanup, subscriptions
  ...(
    [
      ['42', 42],
      ['a newline', 'a\nb'],
      ['NUL', '\u0000'],
      ['1025 characters', 'p'.repeat(1_025)],
    ] as Array<[string, unknown]>
  ).flatMap(([label, prefix]) => [
    {
      call: `StateManager.keys(<prefix: ${label}>)`,
      run: (ctx: Sweep) => ctx.state().keys(prefix as never),
      code: 'INVALID_KEY' as const,
      mentions: 'prefix',
    },
    {
      call: `StateManager.entries(<prefix: ${label}>)`,
      run: (ctx: Sweep) => ctx.state().entries(prefix as never),
      code: 'INVALID_KEY' as const,
      mentions: 'prefix',
    },
    {
      call: `StateManager.subscribePrefix(<prefix: ${label}>, handler)`,
      run: (ctx: Sweep) => ctx.state().subscribePrefix(prefix as never, () => {}),
      code: 'INVALID_KEY' as const,
      mentions: 'prefix',
    },
  ]),
  ...(
    [
      ['{ maxIdleMs: 0 }', { maxIdleMs: 0 }, 'maxIdleMs'],
      ['{ maxIdleMs: NaN }', { maxIdleMs: Number.NaN }, 'maxIdleMs'],
      ['{ maxIdleMs: -1 }', { maxIdleMs: -1 }, 'maxIdleMs'],
      ['null', null, 'options'],
    ] as Array<[string, unknown, string]>
  ).map(([label, options, option]) => ({
    call: `StateManager.cleanup(${label})`,
    run: (ctx: Sweep) => ctx.state().cleanup(options as never),
    code: 'INVALID_OPTION' as const,
    mentions: option,
  })),
  ...(
    [
      ['null', null],
      ["'handler'", 'handler'],
      ['undefined', undefined],
    ] as Array<[string, unknown]>
  ).flatMap(([label, handler]) => [
    {
      call: `StateManager.subscribe('k', ${label})`,
      run: (ctx: Sweep) => ctx.state().subscribe('k', handler as never),
      code: 'INVALID_ARGUMENT' as const,
      mentions: 'handler',
    },
    {
      call: `StateManager.subscribePrefix('', ${label})`,
      run: (ctx: Sweep) => ctx.state().subscribePrefix('', handler as never),
      code: 'INVALID_ARGUMENT' as const,
      mentions: 'handler',
    },
    {
      call: `StateManager.withLock('l', ${label})`,
      run: (ctx: Sweep) => ctx.state().withLock('l', handler as never),
      code: 'INVALID_ARGUMENT' as const,
      mentions: 'fn',
    },
  ]),
  // locks
  ...(
    [
      ['{ ttlMs: 2 }', { ttlMs: 2 }, 'ttlMs'],
      ['{ ttlMs: NaN }', { ttlMs: Number.NaN }, 'ttlMs'],
      ['{ ttlMs: -1 }', { ttlMs: -1 }, 'ttlMs'],
      ['{ waitMs: -1 }', { waitMs: -1 }, 'waitMs'],
      ['{ waitMs: 1.5 }', { waitMs: 1.5 }, 'waitMs'],
      ["{ waitMs: '10' }", { waitMs: '10' }, 'waitMs'],
      ['null', null, 'options'],
    ] as Array<[string, unknown, string]>
  ).flatMap(([label, options, option]) => [
    {
      call: `StateManager.lock('l', ${label})`,
      run: (ctx: Sweep) => ctx.state().lock('l', options as never),
      code: 'INVALID_OPTION' as const,
      mentions: option,
    },
    {
      call: `StateManager.withLock('l', fn, ${label})`,
      run: (ctx: Sweep) => ctx.state().withLock('l', () => 1, options as never),
      code: 'INVALID_OPTION' as const,
      mentions: option,
    },
  ]),
  ...(
    [
      ["get('k')", (state: StateManager) => state.get('k')],
      ["set('k', 1)", (state: StateManager) => state.set('k', 1)],
      ["delete('k')", (state: StateManager) => state.delete('k')],
      ["atomicUpdate('k', fn)", (state: StateManager) => state.atomicUpdate('k', () => 1)],
      ["increment('k')", (state: StateManager) => state.increment('k')],
      ["merge('k', { a: 1 })", (state: StateManager) => state.merge('k', { a: 1 })],
      ['keys()', (state: StateManager) => state.keys()],
      ['cleanup()', (state: StateManager) => state.cleanup()],
      ["subscribe('k', handler)", (state: StateManager) => state.subscribe('k', () => {})],
      ["lock('l')", (state: StateManager) => state.lock('l')],
      ["withLock('l', fn)", (state: StateManager) => state.withLock('l', () => 1)],
    ] as Array<[string, (state: StateManager) => unknown]>
  ).map(([label, call]) => ({
    call: `StateManager.${label} after close()`,
    before: (ctx: Sweep) => ctx.state().close(),
    run: (ctx: Sweep) => call(ctx.state()),
    code: 'STATE_CLOSED' as const,
    mentions: 'closed',
  })),
  {
    call: "StateManager.get('k') on a manager not connected",
    run: (ctx) => ctx.track(new StateManager(ctx.spare())).get('k'),
    code: 'NOT_CONNECTED',
  },
  {
    call: "StateManager.set('k', 1) on a disconnected manager",
    before: (ctx) => ctx.closeSpare(),
    run: (ctx) => ctx.track(new StateManager(ctx.spare())).set('k', 1),
    code: 'MANAGER_CLOSED',
  },
]);

const CASES: Case[] = [...connectionCases, ...busCases, ...registryCases, ...queueCases, ...stateCases];

// --------------------------------------------------------------------------------------- tests

interface Result {
  package: Package;
  call: string;
  how: Outcome['how'];
  code: unknown;
  ok: boolean;
  keys: number;
  sync: boolean;
}
const results: Result[] = [];

afterAll(() => {
  const lines = (['connection', 'message-bus', 'worker-registry', 'task-queue', 'state'] as const).map((pkg) => {
    const own = results.filter((result) => result.package === pkg);
    const count = (how: Outcome['how']): number => own.filter((result) => result.how === how).length;
    return `  ${pkg.padEnd(16)} ${String(own.length).padStart(4)} cases: ${count('threw')} threw, ${count('rejected')} rejected, ${own.length - count('threw') - count('rejected')} not refused; ${own.filter((result) => !result.ok).length} failed; ${own.filter((result) => result.keys > 0).length} wrote keys`;
  });
  const syncFromAsync = results.filter((result) => result.how === 'threw' && !result.sync).map((result) => result.call);
  const failed = results
    .filter((result) => !result.ok)
    .map(
      (result) =>
        `  ✗ ${result.package} › ${result.call}: ${result.how}, code ${String(result.code)}, ${result.keys} keys`,
    );
  console.info(
    [
      `bad input sweep: ${results.length} cases`,
      ...lines,
      syncFromAsync.length === 0
        ? '  every Promise-returning method refused by rejecting (none threw synchronously)'
        : `  Promise-returning methods that threw synchronously:\n    ${syncFromAsync.join('\n    ')}`,
      ...failed,
    ].join('\n'),
  );
});

describe('bad input sweep: every README-listed bad input is refused clearly, writes nothing, and the process carries on', () => {
  for (const c of CASES) {
    it(`${c.package} › ${c.call} → ${c.code}`, async () => {
      const manager = await createManager();
      const ctx = new Sweep(manager);
      let outcome: Outcome;
      let closeFailures: unknown[];
      try {
        await c.before?.(ctx);
        outcome = await attempt(() => c.run(ctx));
        if (outcome.how === 'returned' || outcome.how === 'resolved') await undo(outcome.value);
      } finally {
        closeFailures = await ctx.dispose();
      }
      const keys = await countNamespaceKeys(manager.getConnection(), manager.namespace);
      const error = describeError(outcome.error);
      const refused = outcome.how === 'threw' || outcome.how === 'rejected';
      const expected = matchesExpected(c, outcome.error);
      const mentions =
        c.mentions === undefined ||
        (typeof c.mentions === 'string' ? error.message.includes(c.mentions) : c.mentions.test(error.message));
      const clean = c.notMentions === undefined || !error.message.includes(c.notMentions);
      results.push({
        package: c.package,
        call: c.call,
        how: outcome.how,
        code: refused ? (error.code ?? error.name) : undefined,
        ok: refused && expected && mentions && clean && keys === 0 && closeFailures.length === 0,
        keys,
        sync: c.sync === true,
      });

      expect
        .soft(outcome.how, 'the call is refused: a synchronous throw or a rejected promise')
        .toMatch(/^(threw|rejected)$/);
      if (refused) {
        expect.soft(error, 'the error').toMatchObject(/^[A-Z][a-z]/.test(c.code) ? { name: c.code } : { code: c.code });
        expect.soft(expected, `the package's guard recognises the error as ${c.code}`).toBe(true);
        expect.soft(error.message.trim(), 'the message').not.toBe('');
        if (c.mentions !== undefined) {
          if (typeof c.mentions === 'string')
            expect.soft(error.message, 'the message names the input').toContain(c.mentions);
          else expect.soft(error.message, 'the message names the input').toMatch(c.mentions);
        }
        if (c.notMentions !== undefined)
          expect.soft(error.message, 'no secret in the message').not.toContain(c.notMentions);
        if (c.props !== undefined) expect.soft(outcome.error, 'the error carries').toMatchObject(c.props);
      }
      expect.soft(keys, 'keys written to the namespace').toBe(0);
      expect.soft(closeFailures, 'every object closes cleanly afterwards').toEqual([]);
    });
  }

  it('afterwards each package still does a valid round trip in this process', async () => {
    const manager = await createManager();
    expect(await manager.getConnection().ping()).toBe('PONG');

    // message-bus: publish/subscribe, and an inbox send/consume.
    const bus = new MessageBusWrapper(manager, { sender: 'sweep' });
    afterTest(() => bus.close());
    const heard = deferred<unknown>();
    await bus.subscribe('sweep.ok', (message) => heard.resolve(message));
    await bus.publish('sweep.ok', { ok: 1 });
    expect(await heard.promise).toEqual({ ok: 1 });
    await bus.send('worker-1', { task: 't1' });
    const got = deferred<unknown>();
    const inbox = bus.inbox('worker-1');
    const stop = await inbox.consume((message) => got.resolve(message));
    expect(await got.promise).toEqual({ task: 't1' });
    // The one bad input that needs a live consumer: a second consume() on the same inbox.
    await expect(inbox.consume(() => {})).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await stop();

    // worker-registry: register, heartbeat (a bad metadata patch changes nothing), unregister.
    const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 5_000 });
    afterTest(() => registry.close());
    await registry.registerWorker('w1', { capabilities: ['ts'] });
    await expect(registry.heartbeat('w1', { metadata: { bad: () => 1 } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
    });
    await registry.heartbeat('w1', { status: 'busy' });
    expect(await registry.get('w1')).toMatchObject({ id: 'w1', status: 'busy', metadata: { capabilities: ['ts'] } });
    await registry.unregister('w1');
    expect(await registry.listActive()).toEqual([]);

    // task-queue: add and process one job; a bad ctx.progress() value is refused inside the handler.
    const queue = new TaskQueueWrapper<{ n: number }, number>(manager, 'sweep-ok', { closeTimeoutMs: 2_000 });
    afterTest(() => queue.close());
    const completed = deferred<unknown>();
    await queue.subscribe((event) => {
      if (event.type === 'completed') completed.resolve(event);
    });
    let progressError: unknown;
    await queue.process(async (data, job) => {
      progressError = await job.progress(Number.NaN).catch((error: unknown) => error);
      return data.n * 2;
    });
    const jobId = await queue.addJob({ n: 21 }, 1);
    expect(await completed.promise).toMatchObject({ type: 'completed', jobId, result: 42 });
    expect(isTaskQueueError(progressError, 'INVALID_DATA')).toBe(true);

    // state: set/get; increment on a string is refused and changes nothing; a lock round trip.
    const state = new StateManager(manager, { scope: 'sweep-ok' });
    afterTest(() => state.close());
    await state.set('plan', 'text');
    await expect(state.increment('plan')).rejects.toMatchObject({ code: 'TYPE_MISMATCH' });
    expect(await state.getEntry('plan')).toMatchObject({ value: 'text', version: 1 });
    expect(await state.withLock('resource', ({ fencingToken }) => fencingToken)).toBeGreaterThan(0);

    expect(manager.isHealthy()).toBe(true);
  });
});
