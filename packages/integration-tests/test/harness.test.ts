import { describe, expect, it, inject, vi } from 'vitest';
import type { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';
import { StateManager } from '@shim/state';
import { registryKeys } from '@shim/worker-registry';
import { waitFor } from '@shim/testing';
import { fileURLToPath } from 'node:url';
import { LiveView } from '../src/live-view.js';
import { parseWorkerOutput, spawnWorker } from '../src/swarm/spawn.js';
import type { SwarmTask } from '../src/swarm/protocol.js';
import { runSupervisor, type SupervisorEvent, type SupervisorResult } from '../src/swarm/supervisor.js';
import { startSwarmWorker, type SwarmWorkerOptions, type WorkerEvent } from '../src/swarm/worker.js';
import { countWords } from '../src/swarm/word-count.js';
import { afterTest, createManager, mixedTasks } from './helpers.js';

const THIS_FILE = fileURLToPath(import.meta.url);

/** A task that needs the exclusive resource `r`. */
const LOCKED_TASK: SwarmTask = { id: 'x', priority: 1, workMs: 1, resource: 'r' };

/** A StateManager on `scope` (closed after the test). */
function stateOf(manager: RedisConnectionManager, scope: string): StateManager {
  const state = new StateManager(manager, { scope });
  afterTest(() => state.close());
  return state;
}

/** One in-process worker `w` on `scope` (stopped after the test), then a supervisor run of `tasks`. */
async function runOneWorker(
  manager: RedisConnectionManager,
  scope: string,
  options: { work?: SwarmWorkerOptions['work']; tasks?: SwarmTask[]; onEvent?: (event: SupervisorEvent) => void } = {},
): Promise<SupervisorResult> {
  const worker = await startSwarmWorker({ manager, id: 'w', scope, ...(options.work ? { work: options.work } : {}) });
  afterTest(() => worker.stop());
  return runSupervisor({
    manager,
    scope,
    tasks: options.tasks ?? [LOCKED_TASK],
    timeoutMs: 20_000,
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
}

describe('the swarm in one process (the same code the worker processes run)', () => {
  it('workers count words under locks, report progress, read their inbox and stop cleanly', async () => {
    const manager = await createManager();
    const scope = 'inproc';
    const events: WorkerEvent[] = [];
    const workers = await Promise.all(
      ['a', 'b'].map((id) =>
        startSwarmWorker({ manager, id, scope, concurrency: 2, work: countWords, onEvent: (e) => events.push(e) }),
      ),
    );
    afterTest(() => Promise.all(workers.map((worker) => worker.stop())));
    const tasks = mixedTasks(12, 5).map((task) => ({ ...task, file: THIS_FILE, resource: 'same-file' }));
    const seen: SupervisorEvent[] = [];
    const result = await runSupervisor({ manager, scope, tasks, timeoutMs: 30_000, onEvent: (e) => seen.push(e) });
    expect(result.records.size).toBe(12);
    expect(result.violations).toBe(0);
    const words = (result.records.get(tasks[0]!.id)!.result as { words: number }).words;
    expect(words).toBeGreaterThan(50);
    expect(seen.some((event) => event.kind === 'progress')).toBe(true);
    expect(events.filter((event) => event.event === 'ready')).toHaveLength(2);
    const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });
    afterTest(() => bus.close());
    await bus.send('a', { instruction: 'stop after this' });
    await waitFor(() => events.find((event) => event.event === 'instruction'));
    for (const worker of workers) await worker.stop();
    // stop() is idempotent.
    await workers[0]!.stop();
  });

  it('records a lock violation when someone else marks the resource while the holder works', async () => {
    const manager = await createManager();
    const scope = 'violation';
    const state = stateOf(manager, scope);
    // A second holder inside the lock at the same time would leave its own mark.
    const result = await runOneWorker(manager, scope, { work: async () => state.set('holder:r', 'intruder') });
    expect(result.violations).toBe(1);
  });

  it("records a lock violation when the holder's mark disappears while it works", async () => {
    const manager = await createManager();
    const scope = 'vanished-mark';
    const state = stateOf(manager, scope);
    const result = await runOneWorker(manager, scope, { work: async () => state.delete('holder:r') });
    expect(result.violations).toBe(1);
    expect(await state.get('holder:r')).toBeNull();
  });

  it("registers again by itself when the registry's keys are lost, and says so", async () => {
    const manager = await createManager();
    const events: WorkerEvent[] = [];
    const worker = await startSwarmWorker({
      manager,
      id: 'w',
      scope: 'lost-keys',
      heartbeatMs: 100,
      onEvent: (event) => events.push(event),
    });
    afterTest(() => worker.stop());
    const redis = manager.getConnection();
    const keys = registryKeys(manager.namespace);
    await redis.del(...keys.all);
    await waitFor(() => events.find((event) => event.event === 'registered-again'), { timeoutMs: 10_000 });
    expect(await redis.hexists(keys.info, 'w')).toBe(1);
  });

  it('reports a failure of one of its components as an error event and keeps running', async () => {
    const manager = await createManager();
    const events: WorkerEvent[] = [];
    const worker = await startSwarmWorker({
      manager,
      id: 'w',
      scope: 'failing-sink',
      onEvent: (event) => {
        if (event.event === 'instruction') throw new Error('the event sink broke');
        events.push(event);
      },
    });
    afterTest(() => worker.stop());
    const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });
    afterTest(() => bus.close());
    await bus.send('w', { instruction: 'hello' });
    const error = await waitFor(() => events.find((event) => event.event === 'error'));
    expect(error).toMatchObject({ worker: 'w', source: 'bus' });
    expect(String(error['message'])).toContain('the event sink broke');
    // Still working: it takes and finishes a task afterwards.
    const result = await runSupervisor({
      manager,
      scope: 'failing-sink',
      tasks: [{ id: 'after', priority: 1, workMs: 1 }],
      timeoutMs: 20_000,
    });
    expect([...result.records.keys()]).toEqual(['after']);
  });

  it('does not count the mark a dead holder left behind as a violation', async () => {
    const manager = await createManager();
    const scope = 'dead-holder';
    const state = stateOf(manager, scope);
    // A holder SIGKILLed inside the lock never clears its mark; its lock expires and the next holder comes in.
    await state.set('holder:r', 'killed-worker/task/1');
    const result = await runOneWorker(manager, scope);
    expect(result.records.size).toBe(1);
    expect(result.violations).toBe(0);
    expect(await state.get('holder:r')).toBeNull();
  });

  it('finishes when a task that always fails is in the dead-letter queue', async () => {
    const manager = await createManager();
    const result = await runOneWorker(manager, 'failing', {
      work: (task) => (task.id === 'bad' ? Promise.reject(new Error('cannot')) : Promise.resolve('ok')),
      tasks: [
        { id: 'good', priority: 1, workMs: 1 },
        { id: 'bad', priority: 1, workMs: 1 },
      ],
    });
    expect([...result.records.keys()]).toEqual(['good']);
    expect(result.deadLetters.map((letter) => [letter.jobId, letter.error.message])).toEqual([['bad', 'cannot']]);
  });

  it("counts only the tasks it handed out: another run's records in the scope, and their deletion, are ignored", async () => {
    const manager = await createManager();
    const scope = 'leftovers';
    const state = stateOf(manager, scope);
    const leftover = { runs: 1, worker: 'old', workers: ['old'], startSeq: 1, result: 'old' };
    await state.set('task:old-1', leftover);
    await state.set('task:old-2', leftover);
    const seen: SupervisorEvent[] = [];
    const result = await runOneWorker(manager, scope, {
      // Deleting a leftover while the supervisor watches the prefix: a change that is not a record.
      work: async () => state.delete('task:old-2'),
      tasks: [{ id: 'new', priority: 1, workMs: 1 }],
      onEvent: (event) => seen.push(event),
    });
    expect([...result.records.keys()]).toEqual(['new']);
    const done = seen.filter((event) => event.kind === 'task-done');
    expect(done.map((event) => [event.task, event.done, event.total])).toEqual([['new', 1, 1]]);
    expect(await state.get('task:old-2')).toBeUndefined();
  });

  it('reports a failure of one of its own components as an error event and still finishes', async () => {
    const manager = await createManager();
    const seen: SupervisorEvent[] = [];
    const result = await runOneWorker(manager, 'supervisor-sink', {
      tasks: [{ id: 'x', priority: 1, workMs: 1 }],
      onEvent: (event) => {
        if (event.kind === 'progress') throw new Error('the live view broke');
        seen.push(event);
      },
    });
    expect([...result.records.keys()]).toEqual(['x']);
    const errors = seen.flatMap((event) => (event.kind === 'error' ? [event] : []));
    expect(errors.some((event) => event.source === 'bus' && event.message.includes('the live view broke'))).toBe(true);
  });

  it('gives up at its deadline, reporting what is missing', async () => {
    const manager = await createManager();
    const result = await runSupervisor({
      manager,
      scope: 'nobody',
      tasks: mixedTasks(3),
      timeoutMs: 300,
    });
    expect(result.records.size).toBe(0);
    expect(result.stats.prioritized + result.stats.waiting).toBe(3);
  });
});

describe('spawnWorker', () => {
  it('a wait that times out names what the worker printed', async () => {
    const manager = await createManager();
    const process = spawnWorker({ url: inject('redisUrl'), namespace: manager.namespace, scope: 's', id: 'talker' });
    afterTest(async () => {
      process.child.kill('SIGKILL');
      await process.exited;
    });
    await process.waitFor((event) => event.event === 'ready');
    await expect(process.waitFor((event) => event.event === 'never', 200)).rejects.toThrow(
      'worker talker: no matching event within 200 ms; printed: ready',
    );
  });

  it('reports a non-JSON line as output, and a wait that times out names what was printed', async () => {
    const process = spawnWorker(
      { url: 'redis://127.0.0.1:1', namespace: 'x', scope: 'x', id: 'nope' },
      { stderr: 'ignore' },
    );
    afterTest(async () => {
      process.child.kill('SIGKILL');
      await process.exited;
    });
    await expect(process.waitFor((event) => event.event === 'ready', 300)).rejects.toThrow(
      /worker nope: no matching event within 300 ms/,
    );
  });
});

describe('LiveView', () => {
  const capture = () => {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    return () => out;
  };
  const worker = (id: string, events: Array<Record<string, unknown> & { event: string }>) =>
    ({ args: { id }, events }) as unknown as Parameters<LiveView['onWorkerEvents']>[0];
  const registry = (
    type: 'joined' | 'stale' | 'left' | 'status',
    id: string,
    reason?: 'recovered',
  ): SupervisorEvent => ({
    kind: 'registry',
    event: { type, worker: { id, status: 'idle' } as never, ...(reason ? { reason } : {}) },
  });
  const summary = {
    tasks: 2,
    completed: 2,
    deadLettered: 0,
    reruns: 1,
    retries: 1,
    seconds: 1.5,
    perWorker: { w1: 2 },
    words: 10,
    violations: 0,
  };

  it('prints plain log lines when stdout is not a terminal', () => {
    const output = capture();
    const view = new LiveView({ total: 2, interactive: false });
    view.onSupervisorEvent(registry('joined', 'w1'));
    view.onSupervisorEvent(registry('joined', 'w2', 'recovered'));
    view.onSupervisorEvent(registry('status', 'w1'));
    view.onSupervisorEvent({ kind: 'connection', event: 'ready', detail: 'command' });
    view.onSupervisorEvent({ kind: 'connection', event: 'disconnected', detail: 'command' });
    view.onSupervisorEvent({ kind: 'connection', event: 'ready', detail: 'command' });
    view.onSupervisorEvent({ kind: 'error', source: 'bus', message: 'boom' });
    view.onSupervisorEvent({ kind: 'progress', message: { task: 't', worker: 'w1', percent: 50 } });
    const events = [
      { event: 'start', task: 't1', attempt: 2 },
      { event: 'done', task: 't1' },
      { event: 'error', source: 'queue', message: 'late' },
    ];
    view.onWorkerEvents(worker('w1', events));
    view.onWorkerEvents(worker('w1', events));
    view.onSupervisorEvent({ kind: 'task-done', task: 't1', record: {} as never, done: 1, total: 2 });
    view.onSupervisorEvent({ kind: 'task-done', task: 't2', record: {} as never, done: 2, total: 2 });
    view.onSupervisorEvent(registry('stale', 'w2'));
    view.onSupervisorEvent(registry('left', 'w1'));
    view.finish({ ...summary, complete: true });
    const text = output();
    expect(text).toContain('registry: w1 joined\n');
    expect(text).toContain('registry: w2 joined (recovered)\n');
    expect(text).not.toContain('registry: w1 status');
    expect(text.match(/connection: command/g)).toEqual(['connection: command', 'connection: command']);
    expect(text).toContain('connection: command disconnected\nconnection: command ready\n');
    expect(text).toContain('error (bus): boom');
    expect(text).toContain('w1: retrying t1');
    expect(text).toContain('w1 error (queue): late');
    expect(text).toContain('progress: 2/2 tasks done');
    expect(text).toContain('All tasks completed.');
    expect(text).toContain('per worker:       w1 2');
    expect(text).not.toContain('\x1b[');
  });

  it('redraws a progress bar and worker lines on a terminal', async () => {
    const output = capture();
    const view = new LiveView({ total: 4, interactive: true });
    view.onWorkerEvents(worker('w2', [{ event: 'start', task: 't2', attempt: 1 }]));
    view.onWorkerEvents(worker('w1', [{ event: 'start', task: 't1', attempt: 1 }]));
    // The view redraws itself every 100 ms: wait for a redraw that shows both workers.
    await waitFor(() => /w1 +busy/.test(output()) && /w2 +busy/.test(output()), { description: 'a redraw' });
    view.onSupervisorEvent({ kind: 'task-done', task: 't1', record: {} as never, done: 1, total: 4 });
    view.log('a line above');
    view.finish({ ...summary, complete: false });
    const text = output();
    expect(text).toContain('[########......................] 1/4');
    expect(text).toMatch(/w1 +busy +done +0 +t1\n +w2 +busy/);
    expect(text).toContain('\x1b[');
    expect(text).toContain('NOT all tasks completed.');
    const empty = new LiveView({ total: 0, interactive: true });
    empty.finish({ ...summary, complete: true });
    expect(output()).toContain(`[${'#'.repeat(30)}] 0/0`);
  });
});

describe('parseWorkerOutput', () => {
  it('parses complete lines into events, keeps the unfinished rest, skips blank lines', () => {
    const text = '{"event":"ready","worker":"a"}\n\n   \nnot json\n42\n{"no":"event"}\n{"event":"do';
    expect(parseWorkerOutput(text)).toEqual({
      events: [
        { event: 'ready', worker: 'a' },
        { event: 'output', text: 'not json' },
        { event: 'output', text: '42' },
        { event: 'output', text: '{"no":"event"}' },
      ],
      rest: '{"event":"do',
    });
    expect(parseWorkerOutput('{"event":"done"}\n')).toEqual({ events: [{ event: 'done' }], rest: '' });
  });
});
