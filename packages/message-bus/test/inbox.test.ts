import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { collect, waitFor } from '@shim/testing';
import {
  MessageBusWrapper,
  type DeadLetterEvent,
  type InboxMessageMeta,
  type InvalidMessageEvent,
} from '../src/index.js';
import { privateServer } from '@shim/testing/scope';
import { createBus, createManager, inboxDrained } from './helpers.js';

/** A handler's own work that must outlast `redeliverAfterMs` (the case under test), not a wait for a condition. */
const work = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('durable inbox', () => {
  it('delivers in order, acknowledges on return and removes what was acknowledged', async () => {
    const manager = await createManager();
    const sender = await createBus({ sender: 'supervisor' }, manager);
    const receiver = await createBus({}, manager);
    const ids = [await sender.send('worker-1', { step: 1 }), await sender.send('worker-1', { step: 2 })];
    expect(ids.every((id) => /^\d+-\d+$/.test(id))).toBe(true);
    const inbox = receiver.inbox('worker-1');
    expect(inbox.recipient).toBe('worker-1');
    const got = collect<[unknown, InboxMessageMeta]>(3);
    const stop = await inbox.consume((message, meta) => got.push([message, meta]));
    await sender.send('worker-1', { step: 3 });
    const values = await got.done;
    expect(values.map(([message]) => message)).toEqual([{ step: 1 }, { step: 2 }, { step: 3 }]);
    expect(values[0]?.[1]).toMatchObject({
      recipient: 'worker-1',
      channel: 'inbox:worker-1',
      id: ids[0],
      sender: 'supervisor',
      deliveryCount: 1,
    });
    await stop();
    expect(await inbox.peek()).toEqual([]);
    const stream = `${manager.namespace}:bus:inbox:{worker-1}`;
    expect(await manager.getConnection().xlen(stream)).toBe(0);
    const pending = (await manager.getConnection().xpending(stream, 'shim-inbox')) as [number];
    expect(pending[0]).toBe(0);
  });

  it('keeps what was sent while the recipient was away: 1,000 delivered in order, none twice', async () => {
    const manager = await createManager();
    const sender = await createBus({}, manager);
    for (let n = 0; n < 1_000; n += 1) await sender.send('sleeper', n);
    const receiver = await createBus({}, await createManager({ namespace: manager.namespace }));
    const inbox = receiver.inbox('sleeper', { redeliverAfterMs: 300 });
    expect((await inbox.peek(3)).map(({ message }) => message)).toEqual([0, 1, 2]);
    const got = collect<number>(1_000, 30_000);
    const stop = await inbox.consume((message) => got.push(message as number));
    expect(await got.done).toEqual(Array.from({ length: 1_000 }, (_, n) => n));
    // Everything acknowledged and nothing pending: nothing can come back, however long one waits.
    await inboxDrained(manager, 'sleeper');
    await stop();
    expect(got.values).toHaveLength(1_000);
  });

  it('wakes a listening recipient at once', async () => {
    const bus = await createBus();
    const inbox = bus.inbox('eager');
    const got = collect<number>(1);
    const stop = await inbox.consume(() => got.push(Date.now()));
    const sentAt = Date.now();
    await bus.send('eager', 'now');
    const [receivedAt] = await got.done;
    expect((receivedAt ?? 0) - sentAt).toBeLessThan(500);
    await stop();
  });

  it('redelivers what was not acknowledged after redeliverAfterMs, with its delivery count', async () => {
    const bus = await createBus();
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    await bus.send('flaky', 'job');
    const inbox = bus.inbox('flaky', { redeliverAfterMs: 200 });
    const deliveries: Array<[number, number]> = [];
    const done = collect<true>(1);
    const stop = await inbox.consume((_message, meta) => {
      deliveries.push([meta.deliveryCount, Date.now()]);
      if (meta.deliveryCount < 3) throw new Error(`attempt ${meta.deliveryCount} failed`);
      done.push(true);
    });
    await done.done;
    await stop();
    expect(deliveries.map(([count]) => count)).toEqual([1, 2, 3]);
    expect((deliveries[1]?.[1] ?? 0) - (deliveries[0]?.[1] ?? 0)).toBeGreaterThanOrEqual(180);
    expect(errors.map((error) => (error.cause as Error).message)).toEqual(['attempt 1 failed', 'attempt 2 failed']);
    expect(errors[0]).toMatchObject({ code: 'HANDLER_FAILED', channel: 'inbox:flaky' });
    expect(await inbox.peek()).toEqual([]);
  });

  it('never redelivers a message while its handler is still running, even to another consumer', async () => {
    const manager = await createManager();
    const busA = await createBus({}, manager);
    const busB = await createBus({}, await createManager({ namespace: manager.namespace }));
    await busA.send('shared', 'long job');
    const calls: string[] = [];
    let running = 0;
    let overlapped = false;
    const handler = (name: string) => async (): Promise<void> => {
      running += 1;
      if (running > 1) overlapped = true;
      calls.push(name);
      await work(900);
      running -= 1;
    };
    const stopA = await busA.inbox('shared', { redeliverAfterMs: 150 }).consume(handler('A'));
    await waitFor(() => calls.length === 1);
    const stopB = await busB.inbox('shared', { redeliverAfterMs: 150 }).consume(handler('B'));
    await waitFor(() => running === 0, { timeoutMs: 5_000 });
    await inboxDrained(manager, 'shared');
    await Promise.all([stopA(), stopB()]);
    expect(overlapped).toBe(false);
    expect(calls).toHaveLength(1);
  });

  it('hands a message left by a consumer that died to the next one, counting the delivery', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const inbox = bus.inbox('orphan', { redeliverAfterMs: 200 });
    await inbox.peek();
    await bus.send('orphan', 'unfinished');
    const stream = `${manager.namespace}:bus:inbox:{orphan}`;
    const redis = manager.getConnection();
    await redis.xgroup('CREATE', stream, 'shim-inbox', '0', 'MKSTREAM');
    // A consumer reads it and vanishes without acknowledging.
    await redis.xreadgroup('GROUP', 'shim-inbox', 'crashed-consumer', 'COUNT', 1, 'STREAMS', stream, '>');
    const got = collect<InboxMessageMeta>(1);
    const stop = await inbox.consume((_message, meta) => got.push(meta));
    const [meta] = await got.done;
    expect(meta?.deliveryCount).toBe(2);
    await stop();
  });

  it('moves a message that keeps failing to the dead-letter stream after maxDeliveries', async () => {
    const bus = await createBus();
    bus.on('error', () => {});
    const dead = collect<DeadLetterEvent>(1);
    bus.on('dead-letter', (event) => dead.push(event));
    const id = await bus.send('doomed', { poison: true });
    await bus.send('doomed', { poison: false });
    const inbox = bus.inbox('doomed', { redeliverAfterMs: 100, maxDeliveries: 2 });
    const good = collect<unknown>(1);
    let attempts = 0;
    const stop = await inbox.consume((message) => {
      if ((message as { poison: boolean }).poison) {
        attempts += 1;
        throw new Error('poison');
      }
      good.push(message);
    });
    const [event] = await dead.done;
    await good.done;
    await stop();
    expect(attempts).toBe(2);
    expect(event).toMatchObject({ recipient: 'doomed', id, deliveryCount: 2 });
    expect(event?.reason).toMatch(/handler failed 2 times: poison/);
    const letters = await inbox.deadLetters();
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ originalId: id, deliveryCount: 2 });
    expect(JSON.parse(letters[0]?.raw ?? '{}')).toMatchObject({ p: { poison: true } });
    expect(await inbox.peek()).toEqual([]);
  });

  it('dead-letters what arrives invalid, and applies an inbox schema', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const invalid = collect<InvalidMessageEvent>(2);
    bus.on('invalid-message', (event) => invalid.push(event));
    const stream = `${manager.namespace}:bus:inbox:{strict}`;
    await manager.getConnection().xadd(stream, '*', 'm', 'not json at all');
    await bus.send('strict', { n: 'one' });
    await bus.send('strict', { n: 1 });
    const inbox = bus.inbox('strict', { schema: z.object({ n: z.number() }) });
    const got = collect<unknown>(1);
    const stop = await inbox.consume((message) => got.push(message));
    expect(await got.done).toEqual([{ n: 1 }]);
    const events = await invalid.done;
    expect(events.map(({ channel }) => channel)).toEqual(['inbox:strict', 'inbox:strict']);
    expect(events[1]?.reason).toMatch(/^schema: n/);
    await stop();
    expect((await inbox.deadLetters()).map(({ reason }) => reason)).toEqual(['invalid message', events[1]?.reason]);
  });

  it('refuses bad input on send with a clear error and sends nothing', async () => {
    const manager = await createManager();
    const bus = await createBus({ maxMessageBytes: 1_000 }, manager);
    for (const bad of ['', 'two words', 'tag{x}', 'nl\n']) {
      await expect(bus.send(bad, {})).rejects.toMatchObject({ code: 'INVALID_RECIPIENT' });
      expect(() => bus.inbox(bad)).toThrow(/recipient/);
    }
    await expect(bus.send('r', undefined)).rejects.toMatchObject({ code: 'UNSERIALIZABLE_MESSAGE' });
    await expect(bus.send('r', 'x'.repeat(2_000))).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
    await expect(bus.send('r', { n: 'x' }, { schema: z.object({ n: z.number() }) })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
    });
    expect(await bus.send('valid', { n: 1 }, { schema: z.object({ n: z.number() }) })).toMatch(/^\d+-\d+$/);
    expect(await bus.inbox('r').peek()).toEqual([]);
    expect(await manager.getConnection().exists(`${manager.namespace}:bus:inbox:{r}`)).toBe(0);
    expect(() => bus.inbox('r', { redeliverAfterMs: 0 })).toThrow(/redeliverAfterMs/);
    await expect(bus.inbox('r').consume('nope' as never)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    await expect(bus.inbox('r').peek(0)).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('trims an inbox at inboxMaxLength and counts what was trimmed', async () => {
    const bus = await createBus({ inboxMaxLength: 5 });
    for (let n = 0; n < 8; n += 1) await bus.send('small', n);
    const inbox = bus.inbox('small');
    expect((await inbox.peek(10)).map(({ message }) => message)).toEqual([3, 4, 5, 6, 7]);
    expect(await inbox.trimmedCount()).toBe(3);
  });

  it('stops after the running handler finished; close() is idempotent and final', async () => {
    const bus = await createBus();
    const inbox = bus.inbox('stopper');
    let finished = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    await bus.send('stopper', 1);
    const started = collect<true>(1);
    const stop = await inbox.consume(async () => {
      started.push(true);
      await gate;
      finished = true;
    });
    await expect(inbox.consume(() => {})).rejects.toThrow(/already being consumed/);
    await started.done;
    const stopping = stop();
    expect(stop()).toBe(stopping);
    let stopped = false;
    void stopping.then(() => (stopped = true));
    // stop() waits for the handler: it cannot have resolved while the handler is held at the gate.
    await inbox.peek();
    expect(stopped).toBe(false);
    release();
    await stopping;
    expect(finished).toBe(true);
    expect(await inbox.peek()).toEqual([]);
    await inbox.close();
    await inbox.close();
    await expect(inbox.peek()).rejects.toMatchObject({ code: 'BUS_CLOSED' });
  });

  it('stops its consumers when the bus closes and releases their connections', async () => {
    const manager = await createManager();
    const bus = new MessageBusWrapper(manager);
    await bus.inbox('a').consume(() => {});
    await bus.inbox('b').consume(() => {});
    expect(manager.listConnections().filter(({ role }) => role === 'blocking')).toHaveLength(2);
    await bus.close();
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
    await expect(bus.send('a', 1)).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    expect(() => bus.inbox('a')).toThrow(/closed/);
  });

  it('keeps consuming after Redis restarts, even when the stream and its group were lost', async () => {
    const server = await privateServer();
    const manager = await createManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const bus = await createBus({}, manager);
    const got: unknown[] = [];
    const stop = await bus.inbox('survivor', { redeliverAfterMs: 500 }).consume((message) => void got.push(message));
    await bus.send('survivor', 'before');
    await waitFor(() => got.length === 1);
    await server.kill();
    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy' });
    await waitFor(
      async () => {
        await bus.send('survivor', 'after').catch(() => undefined);
        return got.includes('after');
      },
      { timeoutMs: 15_000, intervalMs: 500, description: 'delivery after restart' },
    );
    await stop();
  });
});

describe('durable inbox: faults', () => {
  it('reports a Redis error in the consumer loop, keeps going, and recreates a deleted stream and group', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    const got: unknown[] = [];
    const stop = await bus.inbox('fragile', { redeliverAfterMs: 100 }).consume((message) => void got.push(message));
    const stream = `${manager.namespace}:bus:inbox:{fragile}`;
    const redis = manager.getConnection();
    // The key turns into a string: every stream command fails with WRONGTYPE until it is fixed.
    await redis.del(stream);
    await redis.set(stream, 'not a stream');
    await waitFor(() => errors.some((error) => /WRONGTYPE/.test(error.message)), { description: 'WRONGTYPE reported' });
    await redis.del(stream);
    await waitFor(
      async () => {
        await bus.send('fragile', 'after repair');
        return got.includes('after repair');
      },
      { timeoutMs: 15_000, intervalMs: 300, description: 'delivery after repair' },
    );
    await stop();
  });

  it('dead-letters a message another consumer kept failing beyond maxDeliveries, without calling the handler', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const id = await bus.send('overdue', 'x');
    const stream = `${manager.namespace}:bus:inbox:{overdue}`;
    const redis = manager.getConnection();
    await redis.xgroup('CREATE', stream, 'shim-inbox', '0');
    await redis.xreadgroup('GROUP', 'shim-inbox', 'ghost', 'COUNT', 1, 'STREAMS', stream, '>');
    for (let n = 0; n < 3; n += 1) await redis.xclaim(stream, 'shim-inbox', 'ghost', 0, id);
    const dead = collect<DeadLetterEvent>(1);
    bus.on('dead-letter', (event) => dead.push(event));
    let called = false;
    const stop = await bus.inbox('overdue', { redeliverAfterMs: 50, maxDeliveries: 2 }).consume(() => {
      called = true;
    });
    const [event] = await dead.done;
    await stop();
    expect(called).toBe(false);
    expect(event?.reason).toMatch(/not acknowledged after 4 deliveries/);
  });

  it('dead-letters a foreign entry without the message field, and peek() skips invalid entries', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const invalid = collect<InvalidMessageEvent>(3);
    bus.on('invalid-message', (event) => invalid.push(event));
    const stream = `${manager.namespace}:bus:inbox:{mixed}`;
    await manager.getConnection().xadd(stream, '*', 'other', 'field');
    await manager.getConnection().xadd(stream, '*', 'm', '{"broken"');
    await bus.send('mixed', 'good');
    const inbox = bus.inbox('mixed');
    expect((await inbox.peek()).map(({ message }) => message)).toEqual(['good']);
    const got = collect<unknown>(1);
    const stop = await inbox.consume((message) => got.push(message));
    expect(await got.done).toEqual(['good']);
    await stop();
    const reasons = (await invalid.done).map(({ reason }) => reason);
    expect(reasons[0]).toMatch(/cannot be decoded/);
    expect(reasons).toContain('no message field');
    expect((await inbox.deadLetters()).map(({ reason }) => reason)).toEqual(['no message field', 'invalid message']);
  });

  it('refuses a stream key that holds something else when consuming starts', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await manager.getConnection().set(`${manager.namespace}:bus:inbox:{taken}`, 'string');
    await expect(bus.inbox('taken').consume(() => {})).rejects.toThrow(/WRONGTYPE/);
  });
});
