import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { subscriptionHub } from '@shim/connection/kit';
import { collect, waitFor, waitForEvent } from '@shim/testing';
import { clientNames, closeAfter, numsub, onCleanup, privateServer } from '@shim/testing/scope';
import { StateManager, stateKeys, type StateChange } from '../src/index.js';
import { createManager, createState } from './helpers.js';

const roles = (manager: RedisConnectionManager): string[] =>
  manager
    .listConnections()
    .map((ref) => ref.role)
    .sort();

describe('change feed through the subscription hub', () => {
  it("adds no subscriber connection: two state managers and another package's listener share the manager's one", async () => {
    const connectionName = `state-hub-${randomUUID().slice(0, 8)}`;
    const manager = await createManager({ connectionName });
    const first = await createState({}, manager);
    const second = await createState({ scope: 'other' }, manager);
    const keyChanges = collect<StateChange>(1);
    const prefixChanges = collect<StateChange>(1);
    const busMessages = collect<string>(1);
    await first.subscribe('plan', (change) => keyChanges.push(change));
    await second.subscribePrefix('', (change) => prefixChanges.push(change));
    // What another package (the bus, the registry) does on the same manager.
    const busChannel = manager.key('bus', 'news');
    const stopBus = await subscriptionHub(manager).subscribe(busChannel, (message) => busMessages.push(message));
    expect(roles(manager)).toEqual(['command', 'subscriber']);
    const names = await clientNames(manager.getConnection(), `${connectionName}:`);
    expect(names.filter((name) => name.includes('subscriber'))).toHaveLength(1);
    await first.set('plan', 1);
    await second.set('x', 2);
    await manager.getConnection().publish(busChannel, 'hello');
    expect((await keyChanges.done)[0]).toMatchObject({ key: 'plan', value: 1 });
    expect((await prefixChanges.done)[0]).toMatchObject({ key: 'x', value: 2 });
    expect(await busMessages.done).toEqual(['hello']);
    // Closing the state managers leaves the other package's subscription (and the connection) alone.
    await first.close();
    await second.close();
    expect(subscriptionHub(manager).subscriptions).toEqual({ channels: [busChannel], patterns: [] });
    expect(roles(manager)).toEqual(['command', 'subscriber']);
    await stopBus();
    expect(roles(manager)).toEqual(['command']);
    expect(manager.state).toBe('connected');
  });

  it('key and prefix subscriptions receive again after a Redis restart (private server), with a resync', async () => {
    const server = await privateServer({ appendOnly: true });
    const manager = new RedisConnectionManager({
      url: server.url,
      namespace: 'restart',
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
    });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const state = closeAfter(new StateManager(manager, { cleanupIntervalMs: 0 }));
    const keyChanges: StateChange[] = [];
    const prefixChanges: StateChange[] = [];
    await state.subscribe('plan', (change) => {
      keyChanges.push(change);
    });
    await state.subscribe('broken', () => {});
    await state.subscribePrefix('files/', (change) => {
      prefixChanges.push(change);
    });
    await state.set('plan', 'before');
    // Written by another tool: the resync after the restart cannot read it and says so on 'error'.
    await manager
      .getConnection()
      .hset(stateKeys('restart', 'default').entry('broken'), 'value', '{not json', 'version', '1', 'updatedAt', '1');
    await waitFor(() => keyChanges.length === 1);
    const errors = collect<Error>(1, 20_000);
    state.on('error', (error) => errors.push(error));
    const resubscribed = waitForEvent(state, 'resubscribed', { timeoutMs: 20_000 });
    await server.restart();
    await resubscribed;
    expect((await errors.done)[0]).toMatchObject({ code: 'MALFORMED_DATA', key: 'broken' });
    await waitFor(() => keyChanges.some((change) => change.resync));
    expect(keyChanges.find((change) => change.resync)).toMatchObject({ key: 'plan', type: 'set', value: 'before' });
    await waitFor(() => manager.isHealthy(), { timeoutMs: 15_000 });
    expect(roles(manager)).toEqual(['command', 'subscriber']);
    await state.set('plan', 'after');
    await state.set('files/a', 'new');
    await waitFor(() => keyChanges.some((change) => change.value === 'after' && !change.resync));
    await waitFor(() => prefixChanges.some((change) => change.key === 'files/a' && change.value === 'new'));
  });

  it('the handlers of one key share one parse and one resync read: each malformed message or entry is reported once', async () => {
    const server = await privateServer();
    const manager = new RedisConnectionManager({
      url: server.url,
      namespace: 'shared',
      reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    });
    onCleanup(() => manager.disconnect());
    await manager.connect();
    const state = closeAfter(new StateManager(manager, { cleanupIntervalMs: 0 }));
    const errors: Error[] = [];
    state.on('error', (error) => errors.push(error));
    const keys = stateKeys('shared', 'default');
    // Written by another tool: each resync read of it fails with MALFORMED_DATA.
    await manager.getConnection().hset(keys.entry('broken'), 'value', '{not json', 'version', '1', 'updatedAt', '1');
    await state.subscribe('broken', () => {});
    await state.subscribe('broken', () => {});
    const first: StateChange[] = [];
    const second: StateChange[] = [];
    await state.subscribe('plan', (change) => {
      first.push(change);
    });
    await state.subscribe('plan', (change) => {
      second.push(change);
    });
    await manager.getConnection().publish(keys.channel('plan'), 'no json');
    await state.set('plan', 1);
    // Messages of one channel arrive in order: once the change has arrived, the malformed one was handled.
    await waitFor(() => first.length === 1 && second.length === 1);
    expect(errors.map((error) => (error as { code?: string }).code)).toEqual(['MALFORMED_DATA']);
    expect(second).toEqual(first);
    expect(first[0]).toMatchObject({ key: 'plan', type: 'set', value: 1, version: 1 });
    const admin = server.client();
    onCleanup(async () => admin.quit());
    const resubscribed = waitForEvent(state, 'resubscribed');
    await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await resubscribed;
    // The resync reads 'broken' before 'plan' on one connection (replies in order): once both plan
    // handlers have their resync, every read of 'broken' has failed.
    await waitFor(() => first.length === 2 && second.length === 2);
    expect(first[1]).toMatchObject({ key: 'plan', type: 'set', value: 1, version: 1, resync: true });
    expect(second[1]).toEqual(first[1]);
    expect(errors).toHaveLength(2);
    expect(errors[1]).toMatchObject({ code: 'MALFORMED_DATA', key: 'broken' });
    await state.set('plan', 2);
    await waitFor(() => first.length === 3 && second.length === 3);
    expect([first[2]?.value, second[2]?.value]).toEqual([2, 2]);
  });

  it('a subscribe that close() overtakes rejects with STATE_CLOSED and leaves nothing subscribed', async () => {
    const manager = await createManager();
    const state = new StateManager(manager, { cleanupIntervalMs: 0 });
    const subscribing = state.subscribe('k', () => {});
    const subscribingPrefix = state.subscribePrefix('p', () => {});
    await state.close();
    await expect(subscribing).rejects.toMatchObject({ code: 'STATE_CLOSED' });
    await expect(subscribingPrefix).rejects.toMatchObject({ code: 'STATE_CLOSED' });
    expect(await numsub(manager.getConnection(), stateKeys(manager.namespace, 'default').channel('k'))).toBe(0);
    expect(subscriptionHub(manager).subscriptions).toEqual({ channels: [], patterns: [] });
    expect(roles(manager)).toEqual(['command']);
  });

  it('a subscription Redis cannot confirm rejects every waiting subscriber and keeps nothing', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    await manager.disconnect();
    const results = await Promise.allSettled([state.subscribe('k', () => {}), state.subscribe('k', () => {})]);
    expect(results.map((result) => result.status === 'rejected' && (result.reason as { code?: string }).code)).toEqual([
      'MANAGER_CLOSED',
      'MANAGER_CLOSED',
    ]);
    expect(subscriptionHub(manager).subscriptions).toEqual({ channels: [], patterns: [] });
    // close() still resolves: nothing is left to unsubscribe.
    await state.close();
  });

  it('unsubscribing the last handler of a prefix removes its pattern from Redis; others keep theirs', async () => {
    const manager = await createManager();
    const state = await createState({}, manager);
    const keys = stateKeys(manager.namespace, 'default');
    const patterns = (): string[] => subscriptionHub(manager).subscriptions.patterns.sort();
    const stopA = await state.subscribePrefix('a/', () => {});
    const stopB = await state.subscribePrefix('a/', () => {});
    const stopOther = await state.subscribePrefix('b/', () => {});
    expect(patterns()).toEqual([keys.pattern('a/'), keys.pattern('b/')]);
    await stopA();
    expect(patterns()).toEqual([keys.pattern('a/'), keys.pattern('b/')]);
    await stopB();
    expect(patterns()).toEqual([keys.pattern('b/')]);
    await stopOther();
    expect(roles(manager)).toEqual(['command']);
  });
});
