import { describe, expect, it, inject } from 'vitest';
import { runSupervisor, type SupervisorEvent } from '../src/swarm/supervisor.js';
import { createManager, mixedTasks, worker } from './helpers.js';

describe('happy path: a supervisor and 3 worker processes', () => {
  it('runs 100 tasks of mixed priority exactly once each, respecting priorities and locks, and every process exits cleanly', async () => {
    const manager = await createManager();
    const scope = 'happy';
    const tasks = mixedTasks(100);
    const events: SupervisorEvent[] = [];
    const base = { url: inject('redisUrl'), namespace: manager.namespace, scope, concurrency: 1 };
    // Tasks are queued before any worker starts, so each worker takes them in priority order.
    let workers: ReturnType<typeof worker>[] = [];
    const result = await runSupervisor({
      manager,
      scope,
      tasks,
      timeoutMs: 90_000,
      onEvent: (event) => events.push(event),
      onQueued: () => {
        workers = [1, 2, 3].map((n) => worker({ ...base, id: `w${n}` }));
      },
    });
    expect(result.records.size).toBe(100);
    expect([...result.records.values()].every((record) => record.runs === 1)).toBe(true);
    expect(result.violations).toBe(0);
    expect(result.deadLetters).toEqual([]);
    expect(result.stats).toMatchObject({ completed: 100, failed: 0, deadLetter: 0, waiting: 0, prioritized: 0 });

    // Per worker (concurrency 1), tasks were started in priority order.
    const priority = new Map(tasks.map((task) => [task.id, task.priority]));
    for (const id of ['w1', 'w2', 'w3']) {
      const own = [...result.records.entries()]
        .filter(([, record]) => record.worker === id)
        .sort(([, a], [, b]) => a.startSeq - b.startSeq)
        .map(([task]) => priority.get(task)!);
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
    // The supervisor saw every worker join, and progress on the bus.
    const joined = events.flatMap((event) =>
      event.kind === 'registry' && event.event.type === 'joined' ? [event.event.worker.id] : [],
    );
    expect(joined.sort()).toEqual(['w1', 'w2', 'w3']);
    expect(events.some((event) => event.kind === 'progress' && event.message.percent === 100)).toBe(true);

    for (const process of workers) process.child.kill('SIGTERM');
    const exits = await Promise.all(workers.map((process) => process.exited));
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  }, 120_000);
});
