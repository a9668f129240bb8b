import { describe, expect, it } from 'vitest';
import type { DeadLetterRecord, RedisConnectionManager } from '@shim/connection';
import { collect, waitFor } from '@shim/testing';
import { rejectionOf } from '@shim/testing/scope';
import { isMessageBusError, type DeadLetterEvent, type MessageBusWrapper } from '../src/index.js';
import { createBus, createManager } from './helpers.js';

/** Sends `messages` to `recipient` and has every one dead-lettered (a handler that always fails, one delivery). */
async function deadLettered(
  bus: MessageBusWrapper,
  recipient: string,
  messages: unknown[],
): Promise<{ sentIds: string[]; events: DeadLetterEvent[] }> {
  const sentIds: string[] = [];
  for (const message of messages) sentIds.push(await bus.send(recipient, message));
  const dead = collect<DeadLetterEvent>(messages.length);
  const onDead = (event: DeadLetterEvent): void => dead.push(event);
  const onError = (): void => {};
  bus.on('dead-letter', onDead).on('error', onError);
  const stop = await bus.inbox(recipient, { maxDeliveries: 1 }).consume(() => {
    throw new Error('always fails');
  });
  const events = await dead.done;
  await stop();
  bus.off('dead-letter', onDead).off('error', onError);
  return { sentIds, events };
}

function streamLength(manager: RedisConnectionManager, recipient: string, dead = false): Promise<number> {
  return manager.getConnection().xlen(`${manager.namespace}:bus:inbox:{${recipient}}${dead ? ':dead' : ''}`);
}

describe('inbox.dead: the dead letters of an inbox as a DeadLetterStore', () => {
  it('lists, reads and counts dead letters as DeadLetterRecords, oldest first', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const before = Date.now();
    await deadLettered(bus, 'w1', [{ n: 1 }, { n: 2 }, { n: 3 }]);
    const inbox = bus.inbox<{ n: number }>('w1');
    expect(await inbox.dead.count()).toBe(3);
    const records = await inbox.dead.list();
    expect(records.map(({ payload }) => payload)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    const [first] = records as [DeadLetterRecord<{ n: number }>];
    expect(first).toEqual({
      id: expect.stringMatching(/^\d+-\d+$/) as unknown,
      source: 'inbox:w1',
      reason: 'handler failed 1 times: always fails',
      attempts: 1,
      failedAt: expect.any(Number) as unknown,
      payload: { n: 1 },
    });
    expect(first.failedAt).toBeGreaterThanOrEqual(before - 1_000);
    expect(first.failedAt).toBeLessThanOrEqual(Date.now() + 1_000);
    // The same letters as deadLetters() shows them, by id.
    expect((await inbox.deadLetters()).map(({ id }) => id)).toEqual(records.map(({ id }) => id));
    expect((await inbox.dead.list({ start: 1, count: 1 })).map(({ payload }) => payload)).toEqual([{ n: 2 }]);
    expect(await inbox.dead.list({ start: 3 })).toEqual([]);
    expect(await inbox.dead.get(first.id)).toEqual(first);
    expect(await inbox.dead.get('0-1')).toBeUndefined();
    expect(await inbox.dead.get('not an id')).toBeUndefined();
    expect(await bus.inbox('nobody').dead.count()).toBe(0);
    expect(await bus.inbox('nobody').dead.list()).toEqual([]);
  });

  it('gives an undefined payload for a message that cannot be decoded', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    bus.on('invalid-message', () => {});
    await manager.getConnection().xadd(`${manager.namespace}:bus:inbox:{w1}`, '*', 'm', 'not json');
    const dead = collect<DeadLetterEvent>(1);
    bus.on('dead-letter', (event) => dead.push(event));
    const stop = await bus.inbox('w1').consume(() => {});
    await dead.done;
    await stop();
    const [record] = await bus.inbox('w1').dead.list();
    expect(record).toMatchObject({ reason: 'invalid message', attempts: 1, payload: undefined });
  });

  it('retries a dead letter: back into the inbox in one step, delivered afresh, nothing lost', async () => {
    const manager = await createManager();
    const bus = await createBus({ sender: 'me' }, manager);
    const { sentIds } = await deadLettered(bus, 'w1', ['a', 'b']);
    const inbox = bus.inbox('w1');
    const [a, b] = (await inbox.dead.list()) as [DeadLetterRecord, DeadLetterRecord];
    const newId = await inbox.dead.retry(a.id);
    expect(newId).toMatch(/^\d+-\d+$/);
    expect(newId > (sentIds[1] ?? '')).toBe(true);
    expect(await inbox.dead.count()).toBe(1);
    expect(await inbox.dead.get(a.id)).toBeUndefined();
    const waiting = await inbox.peek();
    expect(waiting.map(({ id, message, meta }) => [id, message, meta.sender])).toEqual([[newId, 'a', 'me']]);
    const got = collect<[unknown, number]>(1);
    const stop = await inbox.consume((message, meta) => got.push([message, meta.deliveryCount]));
    expect(await got.done).toEqual([['a', 1]]);
    await stop();
    expect((await inbox.dead.list()).map(({ id }) => id)).toEqual([b.id]);
  });

  it('retries one dead letter exactly once when two retries race', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await deadLettered(bus, 'w1', ['only']);
    const inbox = bus.inbox('w1');
    const [letter] = (await inbox.dead.list()) as [DeadLetterRecord];
    const results = await Promise.allSettled([inbox.dead.retry(letter.id), inbox.dead.retry(letter.id)]);
    expect(results.map(({ status }) => status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((result) => result.status === 'rejected');
    expect(isMessageBusError(refused?.reason, 'NOT_FOUND')).toBe(true);
    expect(await streamLength(manager, 'w1')).toBe(1);
    expect(await streamLength(manager, 'w1', true)).toBe(0);
  });

  it('refuses to retry an unknown dead letter with NOT_FOUND, changing nothing', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await deadLettered(bus, 'w1', ['x']);
    const inbox = bus.inbox('w1');
    for (const id of ['0-1', '99999999999999-0', 'nonsense', '']) {
      const error = await rejectionOf(inbox.dead.retry(id));
      expect(isMessageBusError(error, 'NOT_FOUND')).toBe(true);
      expect(error.message).toBe(`no dead letter ${JSON.stringify(id)} in the inbox of 'w1'`);
    }
    expect(await inbox.dead.count()).toBe(1);
    expect(await streamLength(manager, 'w1')).toBe(0);
  });

  it('trims the inbox on retry like a send, counting what was trimmed', async () => {
    const manager = await createManager();
    const bus = await createBus({ inboxMaxLength: 2 }, manager);
    await deadLettered(bus, 'w1', ['dead']);
    for (const n of [1, 2]) await bus.send('w1', n);
    const inbox = bus.inbox('w1');
    const [letter] = (await inbox.dead.list()) as [DeadLetterRecord];
    await inbox.dead.retry(letter.id);
    expect((await inbox.peek()).map(({ message }) => message)).toEqual([2, 'dead']);
    expect(await inbox.trimmedCount()).toBe(1);
  });

  it('purges the given dead letters, or all of them', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    await deadLettered(bus, 'w1', [1, 2, 3, 4]);
    const inbox = bus.inbox('w1');
    const ids = (await inbox.dead.list()).map(({ id }) => id);
    expect(await inbox.dead.purge([ids[0]!, ids[0]!, '0-1', 'nonsense'])).toBe(1);
    expect(await inbox.dead.purge([])).toBe(0);
    expect((await inbox.dead.list()).map(({ id }) => id)).toEqual(ids.slice(1));
    expect(await inbox.dead.purge()).toBe(3);
    expect(await inbox.dead.count()).toBe(0);
    expect(await inbox.dead.purge()).toBe(0);
    expect(await manager.getConnection().exists(`${manager.namespace}:bus:inbox:{w1}:dead`)).toBe(0);
  });

  it('refuses bad arguments with INVALID_OPTION, and every call once the inbox or its bus is closed', async () => {
    const bus = await createBus();
    const inbox = bus.inbox('w1');
    const cases: Array<[() => Promise<unknown>, string]> = [
      [() => inbox.dead.list(null as never), 'options'],
      [() => inbox.dead.list({ count: 0 }), 'count'],
      [() => inbox.dead.list({ count: 10_001 }), 'count'],
      [() => inbox.dead.list({ start: -1 }), 'start'],
      [() => inbox.dead.list({ start: 1.5 }), 'start'],
      [() => inbox.dead.get(42 as never), 'id'],
      [() => inbox.dead.retry(undefined as never), 'id'],
      [() => inbox.dead.purge('all' as never), 'ids'],
      [() => inbox.dead.purge([1] as never), 'ids'],
    ];
    for (const [call, field] of cases) {
      const error = await rejectionOf(call());
      expect(isMessageBusError(error, 'INVALID_OPTION'), field).toBe(true);
      expect(error.message).toContain(field);
    }
    await inbox.close();
    for (const call of [() => inbox.dead.count(), () => inbox.dead.list(), () => inbox.dead.purge()]) {
      expect(isMessageBusError(await rejectionOf(call()), 'BUS_CLOSED')).toBe(true);
    }
    const other = bus.inbox('w2');
    await bus.close();
    await expect(other.dead.get('0-1')).rejects.toMatchObject({ code: 'BUS_CLOSED' });
    await expect(other.dead.retry('0-1')).rejects.toMatchObject({ code: 'BUS_CLOSED' });
  });

  it('keeps the dead-letter event and deadLetters() as they were', async () => {
    const manager = await createManager();
    const bus = await createBus({}, manager);
    const { sentIds, events } = await deadLettered(bus, 'w1', ['poison']);
    expect(events).toEqual([
      { recipient: 'w1', id: sentIds[0], deliveryCount: 1, reason: 'handler failed 1 times: always fails' },
    ]);
    const [letter] = await bus.inbox('w1').deadLetters();
    expect(letter).toMatchObject({ originalId: sentIds[0], deliveryCount: 1, reason: events[0]?.reason });
    expect(JSON.parse(letter?.raw ?? '')).toMatchObject({ p: 'poison' });
    await waitFor(async () => (await streamLength(manager, 'w1')) === 0);
  });
});
