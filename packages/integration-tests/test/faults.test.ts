import { describe, expect, it, inject } from 'vitest';
import { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';
import { RedisServer, uniqueNamespace } from '@shim/testing';
import { WorkerRegistry, type RegistryEvent } from '@shim/worker-registry';
import { runSupervisor, type SupervisorEvent } from '../src/swarm/supervisor.js';
import { afterTest, createManager, mixedTasks, worker } from './helpers.js';

describe('a worker dies', () => {
  it('a worker SIGKILLed mid-task is reported stale within the TTL; its task is completed by another worker', async () => {
    const manager = await createManager();
    const scope = 'kill';
    const tasks = mixedTasks(30, 300);
    const events: Array<SupervisorEvent & { at: number }> = [];
    const base = { url: inject('redisUrl'), namespace: manager.namespace, scope, ttlMs: 3_000, lockDurationMs: 2_000 };
    let killedAt = 0;
    let killedTask = '';
    const result = await runSupervisor({
      manager,
      scope,
      tasks,
      ttlMs: 3_000,
      cleanupIntervalMs: 500,
      timeoutMs: 90_000,
      onEvent: (event) => events.push({ ...event, at: Date.now() }),
      onQueued: () => {
        const victim = worker({ ...base, id: 'victim' });
        worker({ ...base, id: 'w2' });
        worker({ ...base, id: 'w3' });
        // Kill the victim in the middle of its second task.
        void victim
          .waitFor(() => victim.events.filter((e) => e.event === 'start').length >= 2)
          .then(async () => {
            killedAt = Date.now();
            victim.child.kill('SIGKILL');
            await victim.exited;
            // The task it was in when it died: started, never done (read after its output is all in,
            // since on a loaded machine the parent may see a 'start' after the task already ended).
            const done = new Set(victim.events.filter((e) => e.event === 'done').map((e) => String(e['task'])));
            const open = victim.events.filter((e) => e.event === 'start' && !done.has(String(e['task'])));
            // (None when the kill fell between two tasks: then nothing may run twice.)
            killedTask =
              open.length === 0
                ? '(between tasks)'
                : open.length === 1
                  ? String(open[0]!['task'])
                  : `unclear: ${open.length} unfinished tasks`;
          });
      },
    });
    expect(killedTask).not.toBe('');
    expect(killedTask).not.toMatch(/^unclear/);
    const stale = events.find((event) => event.kind === 'registry' && event.event.type === 'stale');
    expect(stale).toBeDefined();
    expect((stale as { event: RegistryEvent }).event.worker.id).toBe('victim');
    // Stale within the TTL plus one cleanup interval (and scheduling slack) of the kill.
    expect(stale!.at - killedAt).toBeLessThan(3_000 + 500 + 1_500);
    expect(result.records.size).toBe(30);
    expect(result.records.get(killedTask)?.worker).not.toBe('victim');
    // Only the killed task may have run twice (concurrency 1).
    const twice = [...result.records.entries()].filter(([, record]) => record.runs > 1).map(([id]) => id);
    expect(twice.every((id) => id === killedTask)).toBe(true);
    expect(result.stats).toMatchObject({ completed: 30, deadLetter: 0, active: 0 });
  }, 120_000);
});

describe('Redis restarts', () => {
  it('every component reconnects by itself, subscriptions come back and no queued task is lost', async () => {
    const server = await RedisServer.start({ appendOnly: true, appendFsync: 'always' });
    afterTest(() => server.close());
    const namespace = uniqueNamespace('it');
    const manager = new RedisConnectionManager({ url: server.url, namespace, offlineCommandTimeoutMs: 60_000 });
    afterTest(() => manager.disconnect());
    await manager.connect();
    const scope = 'restart';
    const tasks = mixedTasks(60, 100);
    const events: SupervisorEvent[] = [];
    const base = { url: server.url, namespace, scope, lockDurationMs: 4_000 };
    let restarted = false;
    const result = await runSupervisor({
      manager,
      scope,
      tasks,
      timeoutMs: 120_000,
      onEvent: (event) => {
        events.push(event);
        // Restart Redis once a third of the tasks are done.
        if (!restarted && event.kind === 'task-done' && event.done === 20) {
          restarted = true;
          void server.kill().then(() => server.start());
        }
      },
      onQueued: () => {
        for (const n of [1, 2, 3]) worker({ ...base, id: `w${n}` });
      },
    });
    expect(restarted).toBe(true);
    // What the supervisor saw: its connections dropped and came back.
    const connection = events.filter((event) => event.kind === 'connection');
    expect(connection.some((event) => event.kind === 'connection' && event.event === 'disconnected')).toBe(true);
    expect(connection.some((event) => event.kind === 'connection' && event.event === 'ready')).toBe(true);
    // Nothing lost: every task has its record, none dead-lettered.
    expect(result.records.size).toBe(60);
    expect(result.deadLetters).toEqual([]);
    expect(result.stats).toMatchObject({ completed: 60, waiting: 0, prioritized: 0, active: 0 });
    // Subscriptions came back: progress and task records kept arriving after the restart.
    const afterRestart = events.slice(
      events.findIndex((event) => event.kind === 'connection' && event.event === 'ready'),
    );
    expect(afterRestart.some((event) => event.kind === 'progress')).toBe(true);
    expect(afterRestart.some((event) => event.kind === 'task-done')).toBe(true);
  }, 150_000);
});

describe('Redis pauses', () => {
  it('CLIENT PAUSE longer than a heartbeat: no worker is reaped, all keep working', async () => {
    const server = await RedisServer.start();
    afterTest(() => server.close());
    const namespace = uniqueNamespace('it');
    const manager = new RedisConnectionManager({ url: server.url, namespace });
    afterTest(() => manager.disconnect());
    await manager.connect();
    const scope = 'pause';
    const events: SupervisorEvent[] = [];
    const base = { url: server.url, namespace, scope, heartbeatMs: 1_000, ttlMs: 6_000 };
    let paused = false;
    const result = await runSupervisor({
      manager,
      scope,
      tasks: mixedTasks(40, 100),
      ttlMs: 6_000,
      cleanupIntervalMs: 500,
      timeoutMs: 90_000,
      onEvent: (event) => {
        events.push(event);
        if (!paused && event.kind === 'task-done' && event.done === 10) {
          paused = true;
          // 3 s: three heartbeats' worth, half the TTL.
          void server.clientPause(3_000);
        }
      },
      onQueued: () => {
        for (const n of [1, 2]) worker({ ...base, id: `w${n}` });
      },
    });
    expect(paused).toBe(true);
    // Liveness is judged by Redis' clock when the heartbeat arrives: the pause delays both the
    // heartbeats and the reaper, so nobody is reaped (and nobody had to register again).
    const registry = events.flatMap((event) => (event.kind === 'registry' ? [event.event] : []));
    expect(registry.filter((event) => event.type === 'stale')).toEqual([]);
    expect(registry.filter((event) => event.type === 'joined' && event.reason === 'recovered')).toEqual([]);
    expect(result.records.size).toBe(40);
    const check = new WorkerRegistry(manager, { heartbeatTtlMs: 6_000 });
    try {
      expect((await check.listActive()).map((info) => info.id).sort()).toEqual(['w1', 'w2']);
    } finally {
      await check.close();
    }
  }, 120_000);
});

describe('isolation', () => {
  it('two namespaces run the same scenario on one Redis at once without seeing each other', async () => {
    const [a, b] = await Promise.all([createManager(), createManager()]);
    const run = (manager: RedisConnectionManager) => {
      const joined: string[] = [];
      const promise = runSupervisor({
        manager,
        scope: 'same',
        tasks: mixedTasks(30, 20),
        timeoutMs: 60_000,
        onEvent: (event) => {
          if (event.kind === 'registry' && event.event.type === 'joined') joined.push(event.event.worker.id);
        },
        onQueued: () => {
          for (const n of [1, 2])
            worker({ url: inject('redisUrl'), namespace: manager.namespace, scope: 'same', id: `w${n}` });
        },
      });
      return { promise, joined };
    };
    const first = run(a);
    const second = run(b);
    const [resultA, resultB] = await Promise.all([first.promise, second.promise]);
    for (const result of [resultA, resultB]) {
      expect(result.records.size).toBe(30);
      expect([...result.records.values()].every((record) => record.runs === 1)).toBe(true);
      expect(result.stats).toMatchObject({ completed: 30 });
    }
    // Same worker ids, same task ids, same scope — each supervisor saw only its own two workers join.
    expect(first.joined.sort()).toEqual(['w1', 'w2']);
    expect(second.joined.sort()).toEqual(['w1', 'w2']);
  }, 90_000);
});

describe('direct messages survive absence', () => {
  it("instructions sent to a worker's inbox while its process is down are all received, in order, when it starts", async () => {
    const manager = await createManager();
    const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });
    afterTest(() => bus.close());
    const base = { url: inject('redisUrl'), namespace: manager.namespace, scope: 'inbox', id: 'w1' };
    const first = worker(base);
    await first.waitFor((event) => event.event === 'ready');
    first.child.kill('SIGKILL');
    await first.exited;
    for (let n = 1; n <= 5; n += 1) await bus.send('w1', { instruction: n });
    const second = worker(base);
    await second.waitFor(
      (event) => event.event === 'instruction' && (event['message'] as { instruction: number }).instruction === 5,
    );
    const received = second.events
      .filter((event) => event.event === 'instruction')
      .map((event) => (event['message'] as { instruction: number }).instruction);
    expect(received).toEqual([1, 2, 3, 4, 5]);
  }, 60_000);
});
