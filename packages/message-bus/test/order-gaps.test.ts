import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { collect, waitFor } from '@shim/testing';
import { numsub, onCleanup, privateServer } from '@shim/testing/scope';
import type { GapEvent, MessageMeta } from '../src/index.js';
import { createBus, createManager, redisChannel } from './helpers.js';

describe('order and gaps', () => {
  it('delivers 10,000 messages from one publisher in publish order, with no gap', async () => {
    const manager = await createManager();
    const publisher = await createBus({ sender: 'p' }, manager);
    const subscriber = await createBus({}, await createManager({ namespace: manager.namespace }));
    const gaps: GapEvent[] = [];
    subscriber.on('gap', (gap) => gaps.push(gap));
    const got = collect<number>(10_000, 30_000);
    const seqs: number[] = [];
    await subscriber.subscribe('ordered', (message, meta) => {
      seqs.push(meta.seq);
      got.push(message as number);
    });
    await Promise.all(Array.from({ length: 10_000 }, (_, index) => publisher.publish('ordered', index)));
    const values = await got.done;
    expect(values).toEqual(Array.from({ length: 10_000 }, (_, index) => index));
    expect(seqs).toEqual(Array.from({ length: 10_000 }, (_, index) => index + 1));
    expect(gaps).toEqual([]);
  });

  it('numbers messages per channel, so messages on other channels are not gaps', async () => {
    const bus = await createBus({ sender: 'p' });
    const gaps: GapEvent[] = [];
    bus.on('gap', (gap) => gaps.push(gap));
    const got = collect<MessageMeta>(2);
    await bus.subscribe('a', (_m, meta) => got.push(meta));
    await bus.publish('a', 1);
    await bus.publish('b', 1);
    await bus.publish('b', 2);
    await bus.publish('a', 2);
    expect((await got.done).map(({ seq }) => seq)).toEqual([1, 2]);
    expect(gaps).toEqual([]);
  });

  it('reports a gap with the number missed when the subscriber was cut off and came back', async () => {
    const server = await privateServer();
    const publisherManager = await createManager({ url: server.url });
    const reconnect = { initialDelayMs: 300, maxDelayMs: 300, jitter: 0 };
    const subscriberManager = await createManager({
      url: server.url,
      namespace: publisherManager.namespace,
      reconnect,
    });
    const publisher = await createBus({ sender: 'supervisor' }, publisherManager);
    const subscriber = await createBus({}, subscriberManager);
    const gaps = collect<GapEvent>(1);
    subscriber.on('gap', (gap) => gaps.push(gap));
    const got: number[] = [];
    await subscriber.subscribe('work', (message) => void got.push(message as number));
    await publisher.publish('work', 1);
    await waitFor(() => got.length === 1);
    await publisherManager.getConnection().call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    for (const n of [2, 3, 4, 5, 6]) await publisher.publish('work', n);
    const channel = redisChannel(publisherManager, 'work');
    await waitFor(async () => (await numsub(publisherManager.getConnection(), channel)) === 1, {
      description: 'resubscribed after the cut',
    });
    await publisher.publish('work', 7);
    expect(await gaps.done).toEqual([{ channel: 'work', sender: 'supervisor', missed: 5 }]);
    expect(got).toEqual([1, 7]);
    expect(subscriber.stats).toMatchObject({ gaps: 1, missed: 5 });
  });

  it('reports a gap after Redis cut off a slow consumer (client-output-buffer-limit pubsub)', async () => {
    const server = await privateServer({ args: ['--client-output-buffer-limit', 'pubsub 64kb 0 0'] });
    const manager = await createManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    const bus = await createBus({}, manager);
    const gaps: GapEvent[] = [];
    bus.on('gap', (gap) => gaps.push(gap));
    let received = 0;
    await bus.subscribe('firehose', () => {
      received += 1;
    });
    const channel = redisChannel(manager, 'firehose');
    // A publisher in another process sends 1 KiB messages until it is killed, while this process stops reading.
    const script = `
      const { Redis } = require('ioredis');
      const redis = new Redis(${JSON.stringify(server.url)});
      const body = 'x'.repeat(1024);
      let seq = 0;
      (async () => {
        for (;;) {
          const batch = redis.pipeline();
          for (let i = 0; i < 20; i++) { seq++; batch.publish(${JSON.stringify(channel)}, JSON.stringify({ v: 1, id: 'hose:' + seq, ts: Date.now(), src: 'hose', seq, s: 'firehose', p: body })); }
          await batch.exec();
          await new Promise((r) => setTimeout(r, 2));
        }
      })();`;
    const child = spawn(process.execPath, ['-e', script], { cwd: process.cwd(), stdio: 'inherit' });
    onCleanup(() => child.kill('SIGKILL'));
    await waitFor(() => received > 0, { description: 'first messages' });
    // Block this process (the subscriber stops reading) long enough for Redis to drop it.
    const until = Date.now() + 1_000;
    while (Date.now() < until) {
      // busy wait on purpose
    }
    // The publisher is still sending: once resubscribed, the next message shows the jump.
    await waitFor(() => gaps.length > 0, { description: 'a gap event', timeoutMs: 20_000 });
    expect(gaps[0]).toMatchObject({ channel: 'firehose', sender: 'firehose' });
    expect(gaps[0]?.missed).toBeGreaterThan(0);
  }, 30_000);
});

describe('reconnect', () => {
  it('restores channel and pattern subscriptions after redis-server is killed and restarted', async () => {
    const server = await privateServer();
    const manager = await createManager({ url: server.url, reconnect: { initialDelayMs: 50, maxDelayMs: 200 } });
    const bus = await createBus({ sender: 'me' }, manager);
    const channelGot: unknown[] = [];
    const patternGot: unknown[] = [];
    await bus.subscribe('news', (m) => void channelGot.push(m));
    await bus.subscribePattern('alerts.*', (m) => void patternGot.push(m));
    await server.kill();
    await server.start();
    await waitFor(() => manager.isHealthy(), { description: 'healthy again' });
    await waitFor(async () => (await bus.publish('news', 'probe')) === 1, { description: 'channel back' });
    await waitFor(async () => (await bus.publish('alerts.fire', 'probe')) === 1, { description: 'pattern back' });
    await bus.publish('news', 'after restart');
    await bus.publish('alerts.flood', 'after restart');
    await waitFor(() => channelGot.includes('after restart') && patternGot.includes('after restart'));
  });
});
