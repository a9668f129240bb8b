import { RedisConnectionManager } from '@shim/connection';
import { RedisServer } from '@shim/testing';
import type { SwarmTask, TaskRecord } from './protocol.js';
import { spawnWorker, type WorkerProcess } from './spawn.js';
import { runSupervisor, type SupervisorResult } from './supervisor.js';

/** Options of {@link runSoak}. */
export interface SoakOptions {
  tasks: number;
  workers: number;
  concurrency: number;
  /** Redis restarts (kill + start, AOF with appendfsync always) spread over the run. */
  restarts: number;
  /** Worker SIGKILLs spread over the run; each killed worker is replaced by a new process. */
  kills: number;
  /** Time each task takes. Unit: ms. @defaultValue 5 */
  workMs?: number;
  /** Give up after this long. Unit: ms. @defaultValue 900_000 */
  timeoutMs?: number;
  /** One line per fault and a progress line now and then. */
  log?: (line: string) => void;
}

/** The figures of a soak run. */
export interface SoakReport {
  tasks: number;
  completed: number;
  /** Tasks that are dead letters at the end (must be 0: the soak's tasks never fail by themselves). */
  deadLettered: number;
  /** Each dead-lettered task, with the reason it failed for good and the attempts it made. */
  deadLetters: SoakDeadLetter[];
  /** Tasks neither completed nor in the dead-letter queue (must be 0). */
  lost: number;
  /** Tasks a handler finished more than once. */
  ranTwice: number;
  /** Of those, tasks first finished by a worker that was then killed (its completion died with it). */
  ranTwiceAfterKill: number;
  /** The most reruns kills may cause: the killed workers' concurrency per kill. */
  ranTwiceAllowed: number;
  restarts: number;
  kills: number;
  violations: number;
  wallSeconds: number;
}

/** A task of the soak that failed for good. */
export interface SoakDeadLetter {
  task: string;
  reason: string;
  attempts: number;
}

/**
 * What a soak's tasks became: completed (a record in shared state), dead-lettered, or lost
 * (neither); and which ran more than once, telling apart those whose first finisher was killed.
 */
export function soakFigures(run: {
  tasks: readonly SwarmTask[];
  records: ReadonlyMap<string, TaskRecord>;
  deadLetters: ReadonlyArray<{ jobId: string; error?: { message: string }; attemptsMade?: number }>;
  killed: ReadonlySet<string>;
}): Pick<SoakReport, 'completed' | 'deadLettered' | 'deadLetters' | 'lost' | 'ranTwice' | 'ranTwiceAfterKill'> {
  const dead = new Map<string, SoakDeadLetter>();
  for (const letter of run.deadLetters) {
    const reason = letter.error?.message ?? '';
    dead.set(letter.jobId, { task: letter.jobId, reason, attempts: letter.attemptsMade ?? 0 });
  }
  const reruns = [...run.records.values()].filter((record) => record.runs > 1);
  return {
    completed: run.records.size,
    deadLettered: dead.size,
    deadLetters: [...dead.values()],
    lost: run.tasks.filter((task) => !run.records.has(task.id) && !dead.has(task.id)).length,
    ranTwice: reruns.length,
    ranTwiceAfterKill: reruns.filter((record) => run.killed.has(String(record.workers[0]))).length,
  };
}

/**
 * The soak: `tasks` tasks through `workers` worker processes × `concurrency`, while Redis (AOF,
 * appendfsync always) is restarted `restarts` times and a worker is SIGKILLed `kills` times.
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const server = await RedisServer.start({ appendOnly: true, appendFsync: 'always' });
  const namespace = 'soak';
  const scope = 'soak';
  const manager = new RedisConnectionManager({
    url: server.url,
    namespace,
    offlineCommandTimeoutMs: 60_000,
    waitForServer: true,
  });
  const workers: WorkerProcess[] = [];
  let spawned = 0;
  const spawnOne = (): void => {
    spawned += 1;
    const worker = spawnWorker(
      {
        url: server.url,
        namespace,
        scope,
        id: `w${spawned}`,
        concurrency: options.concurrency,
        ttlMs: 6_000,
        lockDurationMs: 5_000,
        stalledIntervalMs: 1_000,
      },
      { stderr: 'ignore' },
    );
    workers.push(worker);
  };
  const tasks: SwarmTask[] = Array.from({ length: options.tasks }, (_, index) => ({
    id: `s${index}`,
    priority: (index % 10) + 1,
    workMs: options.workMs ?? 5,
    ...(index % 50 === 0 ? { resource: `r${index % 4}` } : {}),
  }));
  // Faults at evenly spread points of progress: restarts and kills interleaved.
  const faults: Array<{ at: number; kind: 'restart' | 'kill' }> = [];
  const spread = (count: number, kind: 'restart' | 'kill', offset: number): void => {
    for (let n = 1; n <= count; n += 1) {
      faults.push({ at: Math.floor((options.tasks * (n - offset)) / (count + 1)), kind });
    }
  };
  spread(options.restarts, 'restart', 0);
  spread(options.kills, 'kill', 0.5);
  faults.sort((a, b) => a.at - b.at);
  let restarts = 0;
  let kills = 0;
  const killed = new Set<string>();
  let faulting = Promise.resolve();
  let result: SupervisorResult | undefined;
  try {
    await manager.connect();
    result = await runSupervisor({
      manager,
      scope,
      tasks,
      ttlMs: 6_000,
      timeoutMs: options.timeoutMs ?? 900_000,
      onQueued: () => {
        for (let n = 0; n < options.workers; n += 1) spawnOne();
      },
      onEvent: (event) => {
        if (event.kind === 'error') log(`  (${event.source}: ${event.message})`);
        if (event.kind !== 'task-done') return;
        if (event.done % 1_000 === 0) log(`${event.done}/${event.total} done`);
        while (faults.length > 0 && faults[0]!.at <= event.done) {
          const fault = faults.shift()!;
          faulting = faulting.then(async () => {
            if (fault.kind === 'restart') {
              restarts += 1;
              log(`restart ${restarts}: killing redis-server at ${event.done} done`);
              await server.kill();
              await server.start();
            } else {
              const victim = workers.find(
                (worker) => worker.child.exitCode === null && worker.child.signalCode === null,
              );
              if (victim === undefined) return;
              kills += 1;
              killed.add(victim.args.id);
              log(`kill ${kills}: SIGKILL ${victim.args.id} at ${event.done} done`);
              victim.child.kill('SIGKILL');
              await victim.exited;
              spawnOne();
            }
          });
        }
      },
    });
    await faulting;
    return {
      tasks: options.tasks,
      ...soakFigures({ tasks, records: result.records, deadLetters: result.deadLetters, killed }),
      ranTwiceAllowed: kills * options.concurrency,
      restarts,
      kills,
      violations: result.violations,
      wallSeconds: result.durationMs / 1000,
    };
  } finally {
    for (const worker of workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
    await Promise.all(workers.map((worker) => worker.exited));
    await manager.disconnect();
    await server.close();
  }
}
