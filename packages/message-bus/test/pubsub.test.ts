import { describe, expect, it } from 'vitest';
import { subscriptionHub } from '@shim/connection/kit';
import { collect, waitFor, waitForEvent } from '@shim/testing';
import {
  MessageBusWrapper,
  isMessageBusError,
  type GapEvent,
  type MessageMeta,
  type PatternMessageMeta,
} from '../src/index.js';
import { numpat, numsub, privateServer } from '@shim/testing/scope';
import { createBus, createManager, redisChannel } from './helpers.js';

describe('publish / subscribe', () => {
  it('delivers a message published right after subscribe() resolved, with its meta', async () => {
    const bus = await createBus({ sender: 'worker-1' });
    const got = collect<[unknown, MessageMeta]>(1);
    await bus.subscribe('task.progress', (message, meta) => got.push([message, meta]));
    const receivers = await bus.publish('task.progress', { task: 't1', percent: 50, tags: ['a'], none: null });
    expect(receivers).toBe(1);
    const [[message, meta]] = (await got.done) as [[unknown, MessageMeta]];
    expect(message).toEqual({ task: 't1', percent: 50, tags: ['a'], none: null });
    expect(meta.channel).toBe('task.progress');
    expect(meta.sender).toBe('worker-1');
    expect(meta.seq).toBe(1);
    expect(typeof meta.id).toBe('string');
    expect(Math.abs(meta.sentAt - Date.now())).toBeLessThan(5_000);
    expect(meta.pattern).toBeUndefined();
  });

  it('leaves sender out when the publisher named none', async () => {
    const bus = await createBus();
    const got = collect<MessageMeta>(1);
    await bus.subscribe('c', (_message, meta) => got.push(meta));
    await bus.publish('c', 'plain string');
    const [meta] = await got.done;
    expect(meta).not.toHaveProperty('sender');
  });

  it('publishes on the command connection and subscribes on one dedicated subscriber connection', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await bus.subscribe('a', () => {});
    await bus.subscribe('b', () => {});
    await bus.subscribePattern('c.*', () => {});
    const roles = manager.listConnections().map(({ role }) => role);
    expect(roles).toEqual(['command', 'subscriber']);
  });

  it('shares one Redis subscription between handlers and unsubscribes after the last one', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const redisChannel = `${manager.namespace}:bus:ch:shared`;
    const first = collect<unknown>(2);
    const second = collect<unknown>(1);
    const offFirst = await bus.subscribe('shared', (message) => first.push(message));
    const offSecond = await bus.subscribe('shared', (message) => second.push(message));
    expect(await numsub(manager.getConnection(), redisChannel)).toBe(1);
    expect(await bus.publish('shared', 1)).toBe(1);
    await second.done;
    await offSecond();
    await offSecond();
    expect(await numsub(manager.getConnection(), redisChannel)).toBe(1);
    await bus.publish('shared', 2);
    expect(await first.done).toEqual([1, 2]);
    expect(second.values).toEqual([1]);
    await offFirst();
    expect(await numsub(manager.getConnection(), redisChannel)).toBe(0);
    expect(await bus.publish('shared', 3)).toBe(0);
  });

  it('unsubscribe(channel, handler) removes that handler; unsubscribe(channel) removes all', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const b = (): void => void calls.push('b');
    await bus.subscribe('x', a);
    await bus.subscribe('x', b);
    await bus.unsubscribe('x', a);
    await bus.publish('x', 1);
    await waitFor(() => calls.length === 1);
    expect(calls).toEqual(['b']);
    await bus.unsubscribe('x');
    expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:x`)).toBe(0);
    await bus.unsubscribe('never-subscribed');
  });

  it('matches patterns as Redis globs and reports the matched channel and the pattern', async () => {
    // A private server: PUBSUB NUMPAT counts the patterns of every client, other tests' included.
    const manager = await createManager({ url: (await privateServer()).url });
    const bus = await createBus({}, manager);
    const got: Array<[string, string]> = [];
    const offStar = await bus.subscribePattern(
      'task.*',
      (_m, meta: PatternMessageMeta) => void got.push([meta.pattern, meta.channel]),
    );
    await bus.subscribePattern('log.?', (_m, meta) => void got.push([meta.pattern, meta.channel]));
    await bus.subscribePattern('job.[ab]', (_m, meta) => void got.push([meta.pattern, meta.channel]));
    for (const channel of ['task.one', 'task.two.deep', 'log.x', 'log.xy', 'job.a', 'job.c', 'other', 'job.b']) {
      await bus.publish(channel, channel);
    }
    // job.b went last: once it is in, whatever the others could have brought is in too (one connection, in order).
    await waitFor(() => got.some(([, channel]) => channel === 'job.b'));
    expect(got.filter(([, channel]) => channel !== 'job.b').sort()).toEqual([
      ['job.[ab]', 'job.a'],
      ['log.?', 'log.x'],
      ['task.*', 'task.one'],
      ['task.*', 'task.two.deep'],
    ]);
    expect(await numpat(manager.getConnection())).toBeGreaterThanOrEqual(3);
    const before = await numpat(manager.getConnection());
    await bus.subscribePattern('task.*', () => {});
    expect(await numpat(manager.getConnection())).toBe(before);
    await offStar();
    expect(await numpat(manager.getConnection())).toBe(before);
    await bus.unsubscribePattern('task.*');
    expect(await numpat(manager.getConnection())).toBe(before - 1);
  });

  it('keeps two namespaces on one Redis apart', async () => {
    const busA = await createBus();
    const busB = await createBus();
    const gotA = collect<unknown>(1);
    const gotB: unknown[] = [];
    await busA.subscribe('news', (m) => gotA.push(m));
    await busA.subscribePattern('*', () => {});
    await busB.subscribe('news', (m) => void gotB.push(m));
    await busB.subscribePattern('*', (m) => void gotB.push(m));
    await busA.publish('news', 'for A');
    expect(await gotA.done).toEqual(['for A']);
    // B's own message, published after A's: had A's leaked to B, it would have reached B first.
    await busB.publish('news', 'for B');
    await waitFor(() => gotB.length >= 2);
    expect(gotB).toEqual(['for B', 'for B']);
  });

  it('rejects empty names and names with whitespace or control characters, sending nothing', async () => {
    const bus = await createBus();
    for (const bad of ['', ' ', 'a b', 'tab\there', 'line\nbreak', 'nul\u0000', 'x'.repeat(257)]) {
      await expect(bus.publish(bad, {})).rejects.toMatchObject({ code: 'INVALID_CHANNEL' });
      await expect(bus.subscribe(bad, () => {})).rejects.toMatchObject({ code: 'INVALID_CHANNEL' });
      await expect(bus.subscribePattern(bad, () => {})).rejects.toMatchObject({ code: 'INVALID_CHANNEL' });
    }
    await expect(bus.subscribe('ok', 'not a function' as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    expect(bus.stats.published).toBe(0);
  });

  it('validates its options at construction', async () => {
    const manager = await createManager();
    expect(() => new MessageBusWrapper(manager, { maxMessageBytes: 0 })).toThrow(/maxMessageBytes/);
    expect(() => new MessageBusWrapper(manager, { inboxMaxLength: 1.5 })).toThrow(/inboxMaxLength/);
    expect(() => new MessageBusWrapper(manager, { sender: '' })).toThrow(/sender/);
    expect(() => new MessageBusWrapper(manager, { codec: {} as never })).toThrow(/codec/);
    expect(() => new MessageBusWrapper({} as never)).toThrow(/RedisConnectionManager/);
  });
});

describe('handler isolation', () => {
  it('keeps other handlers and later messages going when one throws or rejects, and reports it', async () => {
    const bus = await createBus();
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    const good = collect<unknown>(3);
    await bus.subscribe('c', () => {
      throw new Error('sync boom');
    });
    await bus.subscribe('c', () => Promise.reject(new Error('async boom')));
    await bus.subscribe('c', (m) => good.push(m));
    for (const n of [1, 2, 3]) await bus.publish('c', n);
    expect(await good.done).toEqual([1, 2, 3]);
    await waitFor(() => errors.length === 6);
    expect(errors.every((error) => isMessageBusError(error, 'HANDLER_FAILED'))).toBe(true);
    expect(errors.map((error) => (error.cause as Error).message).sort()).toEqual([
      'async boom',
      'async boom',
      'async boom',
      'sync boom',
      'sync boom',
      'sync boom',
    ]);
    expect(errors[0]).toMatchObject({ channel: 'c' });
    expect(bus.stats.handlerErrors).toBe(6);
  });

  it('never crashes the process when a handler fails and nobody listens for error', async () => {
    const bus = await createBus();
    expect(bus.listenerCount('error')).toBe(0);
    const after = collect<unknown>(1);
    await bus.subscribe('c', () => {
      throw new Error('unheard');
    });
    await bus.subscribe('c', (m) => after.push(m));
    await bus.publish('c', 'still alive');
    expect(await after.done).toEqual(['still alive']);
    await waitFor(() => bus.stats.handlerErrors === 1);
  });

  it('routes an exception thrown by an event listener to error', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    bus.on('invalid-message', () => {
      throw new Error('listener bug');
    });
    await bus.subscribe('c', () => {});
    await manager.getConnection().publish(`${manager.namespace}:bus:ch:c`, 'not json');
    await waitFor(() => errors.length === 1);
    expect(errors[0]?.message).toBe('listener bug');
    // A listener throwing something that is not an Error still reaches error as an Error.
    bus.removeAllListeners('invalid-message');
    bus.on('invalid-message', () => {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- a listener throwing a non-Error is the case under test
      throw 'plain string';
    });
    await manager.getConnection().publish(`${manager.namespace}:bus:ch:c`, 'not json');
    await waitFor(() => errors.length === 2);
    expect(errors[1]).toBeInstanceOf(Error);
    expect(errors[1]?.message).toContain('plain string');
  });
});

describe('close()', () => {
  it('rejects publishes still batched when the manager is disconnected in the same tick', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const first = bus.publish('a', 1);
    // The first publish of a tick goes out at once; this one waits for the end of the tick.
    const batched = bus.publish('a', 2);
    const closing = manager.disconnect();
    await expect(batched).rejects.toThrow(/disconnected/);
    await first.catch(() => undefined);
    await closing;
  });

  it('unsubscribes everything, releases the subscriber connection, is idempotent and final', async () => {
    // A private server: PUBSUB NUMPAT counts the patterns of every client, other tests' included.
    const manager = await createManager({ url: (await privateServer()).url });
    const bus = new MessageBusWrapper(manager);
    await bus.subscribe('a', () => {});
    await bus.subscribePattern('b.*', () => {});
    const patternsBefore = await numpat(manager.getConnection());
    expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:a`)).toBe(1);
    const closing = bus.close();
    expect(bus.close()).toBe(closing);
    await closing;
    expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:a`)).toBe(0);
    expect(await numpat(manager.getConnection())).toBe(patternsBefore - 1);
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
    await expect(bus.publish('a', 1)).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    await expect(bus.subscribe('a', () => {})).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    expect(manager.isHealthy()).toBe(true);
  });

  it('calls no handler once close() was called, even for a message that arrives before the unsubscribe', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const handled: unknown[] = [];
    await bus.subscribe('late', (message) => void handled.push(message));
    await bus.subscribePattern('la*', (message) => void handled.push(message));
    const subscriber = subscriptionHub(manager).connection!;
    const envelope = JSON.stringify({ v: 1, id: 'x:1', ts: 1, src: 'x', seq: 1, p: 'after close' });
    const closing = bus.close();
    // What Redis may still send before it has processed the UNSUBSCRIBE.
    subscriber.emit('message', redisChannel(manager, 'late'), envelope);
    subscriber.emit('pmessage', redisChannel(manager, 'la*'), redisChannel(manager, 'late'), envelope);
    await closing;
    expect(handled).toEqual([]);
  });

  it('works on a bus that never subscribed', async () => {
    const bus = await createBus();
    await bus.publish('x', 1);
    await bus.close();
    await expect(waitForEvent(bus, 'error', { timeoutMs: 50 })).rejects.toThrow();
  });

  it('supports await using', async () => {
    const manager = await createManager();
    {
      await using bus = new MessageBusWrapper(manager);
      await bus.subscribe('scoped', () => {});
      expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:scoped`)).toBe(1);
    }
    expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:scoped`)).toBe(0);
  });
});

describe('edge cases', () => {
  it('retries the subscriber connection after a failed first subscribe', async () => {
    // Not connected yet: the manager cannot hand out a subscriber connection, and the bus must not cache that failure.
    const manager = await createManager({}, { connect: false });
    const bus = await createBus({}, manager);
    await expect(bus.subscribe('x', () => {})).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await manager.connect();
    const got = collect<unknown>(1);
    await bus.subscribe('x', (message) => got.push(message));
    await bus.publish('x', 'now it works');
    expect(await got.done).toEqual(['now it works']);
  });

  it('ignores duplicate or reordered sequence numbers for gaps, and forgets the oldest of many publishers', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const gaps: GapEvent[] = [];
    bus.on('gap', (gap) => gaps.push(gap));
    let delivered = 0;
    await bus.subscribe('seq', () => {
      delivered += 1;
    });
    const channel = `${manager.namespace}:bus:ch:seq`;
    const envelope = (src: string, seq: number): string =>
      JSON.stringify({ v: 1, id: `${src}:${seq}`, ts: 1, src, seq, p: seq });
    const redis = manager.getConnection();
    for (const seq of [1, 2, 2, 1, 3]) await redis.publish(channel, envelope('dup', seq));
    await waitFor(() => delivered === 5);
    expect(gaps).toEqual([]);
    // 10,001 publishers: the first one is forgotten, so its next message starts afresh (no gap).
    const pipeline = redis.pipeline();
    for (let n = 0; n < 10_001; n += 1) pipeline.publish(channel, envelope(`p${n}`, 1));
    pipeline.publish(channel, envelope('p0', 5));
    pipeline.publish(channel, envelope('p10000', 5));
    await pipeline.exec();
    await waitFor(() => delivered === 5 + 10_003, { timeoutMs: 20_000 });
    expect(gaps).toEqual([{ channel: 'seq', sender: 'p10000', missed: 3 }]);
  });

  it('batches publishes made in one tick into one pipeline, keeping order and per-call results', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const got = collect<number>(500);
    await bus.subscribe('burst', (message) => got.push(message as number));
    const receivers = await Promise.all(Array.from({ length: 500 }, (_, n) => bus.publish('burst', n)));
    expect(receivers.every((count) => count === 1)).toBe(true);
    expect(await got.done).toEqual(Array.from({ length: 500 }, (_, n) => n));
  });

  it('rejects each publish, first and batched, when the manager is not connected', async () => {
    const bus = await createBus({}, await createManager({}, { connect: false }));
    const results = await Promise.allSettled([bus.publish('x', 1), bus.publish('x', 2), bus.publish('x', 3)]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toMatchObject({ code: 'NOT_CONNECTED' });
    }
  });

  it("rejects each publish with Redis' own error, first and batched (ACL without PUBLISH)", async () => {
    const server = await privateServer();
    const admin = server.client();
    await admin.call('ACL', 'SETUSER', 'mute', 'on', '>mute-pass', '~*', '&*', '+@all', '-publish');
    admin.disconnect();
    const manager = await createManager({ url: server.url, username: 'mute', password: 'mute-pass' });
    const bus = await createBus({}, manager);
    const results = await Promise.allSettled([bus.publish('x', 1), bus.publish('x', 2)]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      if (result.status === 'rejected') expect(String(result.reason)).toMatch(/NOPERM/);
    }
  });
});
