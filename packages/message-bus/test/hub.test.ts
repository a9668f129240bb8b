import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { subscriptionHub } from '@shim/connection/kit';
import { collect, waitFor } from '@shim/testing';
import { clientNames, numsub, privateServer } from '@shim/testing/scope';
import { createBus, createManager, redisChannel } from './helpers.js';

describe("the manager's subscription hub", () => {
  it('gives several buses on one manager, and any other hub user, one subscriber connection in total', async () => {
    const connectionName = `bus-${randomUUID().slice(0, 8)}`;
    const manager = await createManager({ connectionName });
    const [busA, busB] = [await createBus({}, manager), await createBus({}, manager)];
    const gotA = collect<unknown>(1);
    const gotB = collect<unknown>(1);
    const gotOther = collect<string>(1);
    await busA.subscribe('shared', (message) => gotA.push(message));
    await busB.subscribe('shared', (message) => gotB.push(message));
    await busB.subscribePattern('sha*', () => {});
    // Another package (state, registry …) subscribing through the same hub.
    const otherOff = await subscriptionHub(manager).subscribe(redisChannel(manager, 'shared'), (raw) =>
      gotOther.push(raw),
    );
    const names = await clientNames(manager.getConnection(), `${connectionName}:`);
    expect(names.filter((name) => name.includes('subscriber'))).toHaveLength(1);
    expect(await numsub(manager.getConnection(), redisChannel(manager, 'shared'))).toBe(1);
    // One connection, so Redis counts one receiver however many listen.
    expect(await busA.publish('shared', 'hello')).toBe(2);
    expect(await gotA.done).toEqual(['hello']);
    expect(await gotB.done).toEqual(['hello']);
    expect(JSON.parse((await gotOther.done)[0] ?? '')).toMatchObject({ p: 'hello' });
    await otherOff();
  });

  it("keeps the other users' subscriptions when one bus closes, and releases the connection after the last", async () => {
    const manager = await createManager();
    const busA = await createBus({}, manager);
    const busB = await createBus({}, manager);
    await busA.subscribe('kept', () => {});
    const got = collect<unknown>(1);
    await busB.subscribe('kept', (message) => got.push(message));
    await busA.close();
    expect(await numsub(manager.getConnection(), redisChannel(manager, 'kept'))).toBe(1);
    await busA.close();
    const publisher = await createBus({}, manager);
    await publisher.publish('kept', 'still heard');
    expect(await got.done).toEqual(['still heard']);
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command', 'subscriber']);
    await busB.close();
    expect(await numsub(manager.getConnection(), redisChannel(manager, 'kept'))).toBe(0);
    expect(manager.listConnections().map(({ role }) => role)).toEqual(['command']);
  });

  it('hands every bus on one manager its messages again after Redis restarted, on the one connection', async () => {
    const server = await privateServer();
    const manager = await createManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const busA = await createBus({}, manager);
    const busB = await createBus({}, manager);
    const channelGot: unknown[] = [];
    const patternGot: unknown[] = [];
    await busA.subscribe('news', (message) => void channelGot.push(message));
    await busB.subscribePattern('alerts.*', (message) => void patternGot.push(message));
    await server.kill();
    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy again' });
    const publisher = await createBus({}, manager);
    await waitFor(async () => (await publisher.publish('news', 'after')) === 1, { description: 'channel back' });
    await waitFor(async () => (await publisher.publish('alerts.x', 'after')) === 1, { description: 'pattern back' });
    await waitFor(() => channelGot.includes('after') && patternGot.includes('after'), { description: 'both heard' });
    expect(manager.listConnections().filter(({ role }) => role === 'subscriber')).toHaveLength(1);
  });
});
