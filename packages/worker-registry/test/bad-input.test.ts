// Every bad input the README lists (and the obvious ones), on every public method that takes it:
// refused with the documented code, a message naming what is at fault, and nothing written to
// Redis. Each case runs on a fresh namespace with a registry that made no valid call.
import { describe, expect, it } from 'vitest';
import { isConnectionError, RedisConnectionManager, type ConnectionErrorCode } from '@shim/connection';
import {
  BAD_NAMES,
  BadInputContext,
  badInputSuite,
  UNFAITHFUL,
  unservedManagerCases,
  type Case as BadInputCase,
} from '@shim/testing/bad-input';
import { closeAfter } from '@shim/testing/scope';
import {
  isWorkerRegistryError,
  WorkerRegistry,
  type WorkerRegistryErrorCode,
  type WorkerRegistryOptions,
} from '../src/index.js';
import { createManager, createRegistry } from './helpers.js';

class Context extends BadInputContext<RedisConnectionManager> {
  #default: WorkerRegistry | undefined;

  /** The case's registry (TTL 5 s), or a new one with `options`. */
  registry(options?: WorkerRegistryOptions): WorkerRegistry {
    if (options !== undefined) return closeAfter(new WorkerRegistry(this.manager, options));
    this.#default ??= closeAfter(new WorkerRegistry(this.manager, { heartbeatTtlMs: 5_000 }));
    return this.#default;
  }
}

type Case = BadInputCase<Context, WorkerRegistryErrorCode | ConnectionErrorCode>;

class Point {
  readonly x = 1;
}

/** Metadata values JSON would not keep exactly (an undefined metadata value is its own case). */
const UNFAITHFUL_METADATA = UNFAITHFUL.filter(([label]) => label !== 'undefined');

const idCases = (method: string, run: (registry: WorkerRegistry, id: unknown) => unknown, sync = false): Case[] =>
  BAD_NAMES.map(([label, id]) => ({
    call: `${method}(<id: ${label}>)`,
    run: (ctx) => run(ctx.registry(), id),
    code: 'INVALID_WORKER_ID',
    mentions: 'worker id',
    sync,
  }));

const CASES: Case[] = [
  // constructor
  {
    call: 'new WorkerRegistry(null)',
    run: () => new WorkerRegistry(null as never),
    code: 'INVALID_OPTION',
    mentions: '=connection must be a RedisConnectionManager',
    sync: true,
  },
  {
    call: 'new WorkerRegistry({})',
    run: () => new WorkerRegistry({} as never),
    code: 'INVALID_OPTION',
    mentions: 'RedisConnectionManager',
    sync: true,
  },
  {
    call: 'new WorkerRegistry(manager, null)',
    run: (ctx) => new WorkerRegistry(ctx.manager, null as never),
    code: 'INVALID_OPTION',
    mentions: '=options must be an object, got null',
    sync: true,
  },
  ...(
    [
      [{ heartbeatTtlMs: 0 }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: -1 }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: Number.NaN }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: 1.5 }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: Number.POSITIVE_INFINITY }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: 2 ** 31 }, 'heartbeatTtlMs'],
      [{ heartbeatTtlMs: '15000' }, 'heartbeatTtlMs'],
      [{ cleanupIntervalMs: 0 }, 'cleanupIntervalMs'],
      [{ cleanupIntervalMs: Number.NaN }, 'cleanupIntervalMs'],
      [{ maxMetadataBytes: 0 }, 'maxMetadataBytes'],
      [{ maxMetadataBytes: -1 }, 'maxMetadataBytes'],
    ] as Array<[unknown, string]>
  ).map(([options, option]): Case => ({
    call: `new WorkerRegistry(manager, ${JSON.stringify(options)})`,
    run: (ctx) => new WorkerRegistry(ctx.manager, options as never),
    code: 'INVALID_OPTION',
    mentions: `invalid option '${option}'`,
    sync: true,
  })),
  // registerWorker
  ...idCases('registerWorker', (registry, id) => registry.registerWorker(id as never, {})),
  ...(
    [
      ['257 characters', 'w'.repeat(257), /longer than 256/],
      ['a lone high surrogate', 'w\uD800', /lone surrogate/],
      ['a lone low surrogate', 'lone\udc00', /lone surrogate/],
      ['a bell', 'bell\u0007', /control characters/],
    ] as Array<[string, string, RegExp]>
  ).map(([label, id, message]): Case => ({
    call: `registerWorker(<id: ${label}>)`,
    run: (ctx) => ctx.registry().registerWorker(id, {}),
    code: 'INVALID_WORKER_ID',
    mentions: message,
  })),
  ...(
    [
      ['null', null, 'got null'],
      ['[]', [], 'got array'],
      ["'caps'", 'caps', 'got string'],
      ['42', 42, 'got number'],
      ['a Map', new Map(), 'metadata is a Map'],
      ['a Date', new Date(0), 'metadata is a Date'],
      ['a class instance', new Point(), 'metadata is a Point'],
    ] as Array<[string, unknown, string]>
  ).map(([label, metadata, message]): Case => ({
    call: `registerWorker('w1', <metadata: ${label}>)`,
    run: (ctx) => ctx.registry().registerWorker('w1', metadata as never),
    code: 'INVALID_METADATA',
    mentions: message,
  })),
  ...UNFAITHFUL_METADATA.map(([label, value]): Case => ({
    call: `registerWorker('w1', { v: <${label}> })`,
    run: (ctx) => ctx.registry().registerWorker('w1', { v: value() }),
    code: 'INVALID_METADATA',
    mentions: 'metadata.v',
  })),
  {
    call: "registerWorker('w1', { [Symbol()]: 1 })",
    run: (ctx) => ctx.registry().registerWorker('w1', { [Symbol('k')]: 1 }),
    code: 'INVALID_METADATA',
    mentions: /metadata has symbol keys/,
  },
  {
    call: "registerWorker('w1', <metadata over 65536 bytes>)",
    run: (ctx) => ctx.registry().registerWorker('w1', { s: 'x'.repeat(65_536) }),
    code: 'INVALID_METADATA',
    mentions: '=metadata is 65544 bytes as JSON, over 65536',
  },
  {
    call: "registerWorker('w1', { s: 200 bytes }) with { maxMetadataBytes: 100 }",
    run: (ctx) => ctx.registry({ maxMetadataBytes: 100 }).registerWorker('w1', { s: 'x'.repeat(200) }),
    code: 'INVALID_METADATA',
    mentions: /^metadata is \d+ bytes as JSON, over 100$/,
  },
  {
    call: "registerWorker('w1', {}, null)",
    run: (ctx) => ctx.registry().registerWorker('w1', {}, null as never),
    code: 'INVALID_OPTION',
    mentions: '=options must be an object, got null',
  },
  // heartbeat
  ...idCases('heartbeat', (registry, id) => registry.heartbeat(id as never)),
  ...(['offline', 'running', '', 42] as unknown[]).map((status): Case => ({
    call: `heartbeat('w1', { status: ${JSON.stringify(status)} })`,
    run: (ctx) => ctx.registry().heartbeat('w1', { status: status as never }),
    code: 'INVALID_STATUS',
    mentions: "heartbeat status must be 'idle' or 'busy'",
  })),
  ...(['a', [1]] as unknown[]).map((keys): Case => ({
    call: `heartbeat('w1', { removeMetadataKeys: ${JSON.stringify(keys)} })`,
    run: (ctx) => ctx.registry().heartbeat('w1', { removeMetadataKeys: keys as never }),
    code: 'INVALID_METADATA',
    mentions: 'removeMetadataKeys',
  })),
  {
    call: "heartbeat('ghost') (never registered)",
    run: (ctx) => ctx.registry().heartbeat('ghost'),
    code: 'NOT_REGISTERED',
    mentions: /worker 'ghost' is not registered by this registry/,
    props: { workerId: 'ghost' },
  },
  ...(
    [
      [null, 'null'],
      [5, 'number'],
    ] as Array<[unknown, string]>
  ).map(([options, type]): Case => ({
    call: `heartbeat('w1', ${String(options)})`,
    run: (ctx) => ctx.registry().heartbeat('w1', options as never),
    code: 'INVALID_OPTION',
    mentions: `=options must be an object, got ${type}`,
  })),
  // setStatus
  ...idCases('setStatus', (registry, id) => registry.setStatus(id as never, 'busy')),
  ...(['running', '', null, 42, 'BUSY'] as unknown[]).map((status): Case => ({
    call: `setStatus('w1', ${JSON.stringify(status)})`,
    run: (ctx) => ctx.registry().setStatus('w1', status as never),
    code: 'INVALID_STATUS',
    mentions: "status must be 'idle', 'busy' or 'offline'",
  })),
  {
    call: "setStatus('ghost', 'busy') (never registered)",
    run: (ctx) => ctx.registry().setStatus('ghost', 'busy'),
    code: 'NOT_REGISTERED',
    mentions: /worker 'ghost' is not registered/,
    props: { workerId: 'ghost' },
  },
  // get, unregister, listActive
  ...idCases('get', (registry, id) => registry.get(id as never)),
  ...idCases('unregister', (registry, id) => registry.unregister(id as never)),
  ...(['zombie', 42] as unknown[]).map((status): Case => ({
    call: `listActive({ status: ${JSON.stringify(status)} })`,
    run: (ctx) => ctx.registry().listActive({ status: status as never }),
    code: 'INVALID_STATUS',
    mentions: "status filter must be 'idle', 'busy' or 'offline'",
  })),
  {
    call: 'listActive(null)',
    run: (ctx) => ctx.registry().listActive(null as never),
    code: 'INVALID_OPTION',
    mentions: '=filter must be an object, got null',
  },
  // startHeartbeat
  ...idCases('startHeartbeat', (registry, id) => registry.startHeartbeat(id as never, { intervalMs: 1_000 }), true),
  ...(
    [
      { intervalMs: 0 },
      { intervalMs: -1 },
      { intervalMs: Number.NaN },
      { intervalMs: 1.5 },
      { intervalMs: '1000' },
      {},
    ] as unknown[]
  ).map((options): Case => ({
    call: `startHeartbeat('w1', ${JSON.stringify(options)})`,
    run: (ctx) => ctx.registry().startHeartbeat('w1', options as never),
    code: 'INVALID_OPTION',
    mentions: "invalid option 'intervalMs'",
    sync: true,
  })),
  {
    call: "startHeartbeat('w1', { intervalMs: 5000 }) (= heartbeatTtlMs)",
    run: (ctx) => ctx.registry().startHeartbeat('w1', { intervalMs: 5_000 }),
    code: 'INVALID_OPTION',
    mentions: /'intervalMs': 5000 ms is not below heartbeatTtlMs \(5000 ms\)/,
    sync: true,
  },
  ...(
    [
      [undefined, 'undefined'],
      [null, 'null'],
    ] as Array<[unknown, string]>
  ).map(([options, type]): Case => ({
    call: `startHeartbeat('w1', ${type})`,
    run: (ctx) => ctx.registry().startHeartbeat('w1', options as never),
    code: 'INVALID_OPTION',
    mentions: `=options { intervalMs } must be an object, got ${type}`,
    sync: true,
  })),
  {
    call: "startHeartbeat('ghost', { intervalMs: 1000 }) (never registered)",
    run: (ctx) => ctx.registry().startHeartbeat('ghost', { intervalMs: 1_000 }),
    code: 'NOT_REGISTERED',
    mentions: /worker 'ghost' is not registered by this registry/,
    sync: true,
  },
  // subscribe
  ...([null, 'handler', undefined] as unknown[]).map((handler): Case => ({
    call: `subscribe(${String(handler)})`,
    run: (ctx) => ctx.registry().subscribe(handler as never),
    code: 'INVALID_OPTION',
    mentions: '=handler must be a function',
  })),
  // after close()
  ...(
    [
      ["registerWorker('w1', {})", (registry) => registry.registerWorker('w1', {})],
      ["heartbeat('w1')", (registry) => registry.heartbeat('w1')],
      ["setStatus('w1', 'busy')", (registry) => registry.setStatus('w1', 'busy')],
      ["get('w1')", (registry) => registry.get('w1')],
      ['listActive()', (registry) => registry.listActive()],
      ['detectStale()', (registry) => registry.detectStale()],
      ["unregister('w1')", (registry) => registry.unregister('w1')],
      ['subscribe(handler)', (registry) => registry.subscribe(() => {})],
      [
        "startHeartbeat('w1', { intervalMs: 1000 })",
        (registry) => registry.startHeartbeat('w1', { intervalMs: 1_000 }),
        true,
      ],
    ] as Array<[string, (registry: WorkerRegistry) => unknown, boolean?]>
  ).map(([label, call, sync]): Case => ({
    call: `${label} after close()`,
    before: (ctx) => ctx.registry().close(),
    run: (ctx) => call(ctx.registry()),
    code: 'REGISTRY_CLOSED',
    mentions: '=the worker registry was closed',
    sync: sync === true,
  })),
  // the connection's errors reach the caller unchanged
  ...unservedManagerCases<RedisConnectionManager>(
    ["registerWorker('w1', {})", (spare) => closeAfter(new WorkerRegistry(spare)).registerWorker('w1', {})],
    ["get('w1')", (spare) => closeAfter(new WorkerRegistry(spare)).get('w1')],
  ),
  {
    call: 'subscribe(handler) on a manager not connected',
    run: (ctx) => closeAfter(new WorkerRegistry(ctx.spare())).subscribe(() => {}),
    code: 'NOT_CONNECTED',
  },
];

badInputSuite({
  name: 'bad input is refused with a clear error, and nothing is written',
  cases: CASES,
  manager: () => createManager(),
  context: (manager) => new Context(manager, (base) => new RedisConnectionManager(base)),
  isError: (error, code) => isWorkerRegistryError(error, code as WorkerRegistryErrorCode),
  isConnectionError,
});

describe('bad input: a metadata patch', () => {
  it('a bad metadata patch changes nothing, and the registry goes on working', async () => {
    const registry = await createRegistry({ heartbeatTtlMs: 5_000 });
    await registry.registerWorker('w1', { capabilities: ['ts'] });
    await expect(registry.heartbeat('w1', { metadata: { bad: () => 1 } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
      message: expect.stringContaining('metadata patch.bad is a function') as unknown,
    });
    await expect(registry.heartbeat('w1', { metadata: { s: 'x'.repeat(70_000) } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
    });
    await registry.heartbeat('w1', { status: 'busy' });
    expect(await registry.get('w1')).toMatchObject({ id: 'w1', status: 'busy', metadata: { capabilities: ['ts'] } });
    await registry.unregister('w1');
    expect(await registry.listActive()).toEqual([]);
  });

  it('a metadata patch that makes the merged metadata too large is refused, naming the limit', async () => {
    const registry = await createRegistry({ maxMetadataBytes: 100 });
    await registry.registerWorker('w1', { a: 'x'.repeat(50) });
    await expect(registry.heartbeat('w1', { metadata: { b: 'y'.repeat(50) } })).rejects.toMatchObject({
      code: 'INVALID_METADATA',
      message: expect.stringMatching(/^metadata is \d+ bytes as JSON, over 100$/) as unknown,
    });
    expect((await registry.get('w1'))?.metadata).toEqual({ a: 'x'.repeat(50) });
  });
});
