import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { collect, waitFor } from '@shim/testing';
import { MessageBusWrapper, type DeadLetterEvent, type GapEvent, type InvalidMessageEvent } from '../src/index.js';
import { numsub } from '@shim/testing/scope';
import { createBus, createManager, inboxDrained } from './helpers.js';

/** A handler's own work that must outlast `redeliverAfterMs` (the case under test), not a wait for a condition. */
const work = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('inbox: batches, stop and close', () => {
  it('never runs a message twice at once when a batch outlasts redeliverAfterMs, with two consumers', async () => {
    const manager = await createManager();
    const busA = await createBus({}, manager);
    const busB = await createBus({}, await createManager({ namespace: manager.namespace }));
    for (let n = 0; n < 6; n += 1) await busA.send('team', n);
    const running = new Set<number>();
    const runs: number[] = [];
    let overlap = false;
    const handler = async (message: unknown): Promise<void> => {
      const n = message as number;
      if (running.has(n)) overlap = true;
      running.add(n);
      runs.push(n);
      await work(250);
      running.delete(n);
    };
    const stopA = await busA.inbox('team', { redeliverAfterMs: 300 }).consume(handler);
    const stopB = await busB.inbox('team', { redeliverAfterMs: 300 }).consume(handler);
    await waitFor(() => runs.length >= 6 && running.size === 0, { timeoutMs: 10_000 });
    await inboxDrained(manager, 'team');
    await Promise.all([stopA(), stopB()]);
    expect(overlap).toBe(false);
    expect([...runs].sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('stops after the running handler and hands the rest of its batch to the next consumer at once', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    for (let n = 0; n < 10; n += 1) await bus.send('batch', n);
    const handled: number[] = [];
    const first = collect<true>(1);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const stop = await bus.inbox('batch').consume(async (message) => {
      handled.push(message as number);
      first.push(true);
      await gate;
    });
    await first.done;
    // Stopped while the first handler still runs: the rest of the batch is never started.
    const stopping = stop();
    release();
    await stopping;
    expect(handled).toEqual([0]);
    // The default redeliverAfterMs is 60 s: a quick delivery proves the rest was handed back.
    const other = await createBus({}, await createManager({ namespace: manager.namespace }));
    const rest = collect<number>(9, 5_000);
    const stopOther = await other.inbox('batch').consume((message) => rest.push(message as number));
    expect((await rest.done).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await stopOther();
  });

  it('refuses to start consuming when the bus closes while consume() is getting ready', async () => {
    const manager = await createManager();
    const bus = new MessageBusWrapper(manager);
    const starting = bus.inbox('late').consume(() => {});
    await bus.close();
    await expect(starting).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
  });

  it('ends its loop when the manager is disconnected, and close() still resolves afterwards', async () => {
    const live = await createManager();
    const own = new RedisConnectionManager({ url: `redis://${live.address}`, namespace: live.namespace });
    await own.connect();
    const bus = new MessageBusWrapper(own);
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    await bus.inbox('orphaned').consume(() => {});
    await own.disconnect();
    // close() waits for the loop to end: an error it ran into on the way would be in `errors` by then.
    await bus.close();
    await bus.close();
    expect(errors).toEqual([]);
  });
});

describe('inbox: counts and dead letters', () => {
  it('counts deliveries per message exactly when several are reclaimed together', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const ids = [await bus.send('counted', 'a'), await bus.send('counted', 'b'), await bus.send('counted', 'c')];
    const stream = `${manager.namespace}:bus:inbox:{counted}`;
    const redis = manager.getConnection();
    await redis.xgroup('CREATE', stream, 'shim-inbox', '0');
    await redis.xreadgroup('GROUP', 'shim-inbox', 'ghost', 'COUNT', 3, 'STREAMS', stream, '>');
    // b was delivered two more times than the others.
    await redis.xclaim(stream, 'shim-inbox', 'ghost', 0, ids[1]!);
    await redis.xclaim(stream, 'shim-inbox', 'ghost', 0, ids[1]!);
    const got = collect<[unknown, number]>(3);
    const stop = await bus
      .inbox('counted', { redeliverAfterMs: 50 })
      .consume((message, meta) => got.push([message, meta.deliveryCount]));
    expect((await got.done).sort()).toEqual([
      ['a', 2],
      ['b', 4],
      ['c', 2],
    ]);
    await stop();
  });

  it('keeps a message in the inbox when it cannot reach the dead-letter stream', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const errors: Error[] = [];
    bus.on('error', (error) => errors.push(error));
    const dead: DeadLetterEvent[] = [];
    bus.on('dead-letter', (event) => dead.push(event));
    await manager.getConnection().set(`${manager.namespace}:bus:inbox:{stuck}:dead`, 'not a stream');
    await bus.send('stuck', 'poison');
    const stop = await bus.inbox('stuck', { maxDeliveries: 1 }).consume(() => {
      throw new Error('always');
    });
    await waitFor(() => errors.some((error) => /WRONGTYPE/.test(error.message)), {
      description: 'dead-letter failure reported',
    });
    await stop();
    expect(dead).toEqual([]);
    expect((await bus.inbox('stuck').peek()).map(({ message }) => message)).toEqual(['poison']);
  });
});

describe('pub/sub: races, gaps and limits', () => {
  it('keeps a handler subscribed when subscribe() comes right after the last unsubscribe', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    for (let round = 0; round < 10; round += 1) {
      const off = await bus.subscribe('flip', () => {});
      const unsubscribing = off();
      await tick();
      const got = collect<unknown>(1, 3_000);
      await bus.subscribe('flip', (message) => got.push(message));
      await unsubscribing;
      expect(await numsub(manager.getConnection(), `${manager.namespace}:bus:ch:flip`)).toBe(1);
      await bus.publish('flip', round);
      expect(await got.done).toEqual([round]);
      await bus.unsubscribe('flip');
    }
  });

  it('tracks gaps per channel under a pattern, and forgets them after an unsubscribe', async () => {
    const manager = await createManager();
    const publisher = await createBus({ sender: 'p' }, manager);
    const subscriber = await createBus({}, await createManager({ namespace: manager.namespace }));
    const gaps: GapEvent[] = [];
    subscriber.on('gap', (gap) => gaps.push(gap));
    for (let n = 0; n < 9; n += 1) await publisher.publish('task.b', n);
    const got = collect<unknown>(4);
    await subscriber.subscribePattern('task.*', (message) => got.push(message));
    await publisher.publish('task.a', 'a1');
    await publisher.publish('task.b', 'b10');
    await publisher.publish('task.a', 'a2');
    await publisher.publish('task.b', 'b11');
    await got.done;
    expect(gaps).toEqual([]);
    await subscriber.unsubscribePattern('task.*');
    for (let n = 0; n < 5; n += 1) await publisher.publish('task.a', n);
    const again = collect<unknown>(1);
    await subscriber.subscribePattern('task.*', (message) => again.push(message));
    await publisher.publish('task.a', 'after');
    await again.done;
    expect(gaps).toEqual([]);
  });

  it('applies maxMessageBytes on receipt to UTF-8 bytes, not characters', async () => {
    const manager = await createManager();
    const bus = await createBus({ maxMessageBytes: 300 }, manager);
    const invalid = collect<InvalidMessageEvent>(1);
    bus.on('invalid-message', (event) => invalid.push(event));
    let handled = 0;
    await bus.subscribe('utf8', () => {
      handled += 1;
    });
    const body = 'é'.repeat(150);
    await manager
      .getConnection()
      .publish(
        `${manager.namespace}:bus:ch:utf8`,
        JSON.stringify({ v: 1, id: 'x:1', ts: 1, src: 'x', seq: 1, p: body }),
      );
    expect((await invalid.done)[0]?.reason).toMatch(/larger than 300 bytes/);
    expect(handled).toBe(0);
  });
});
