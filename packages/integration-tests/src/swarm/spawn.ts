import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { WorkerProcessArgs } from './worker-main.js';

/** Where a worker process entry lives. */
const WORKER_MAIN = fileURLToPath(new URL('./worker-main.ts', import.meta.url));

/** A worker child process and what it printed (one parsed JSON object per line). */
export interface WorkerProcess {
  readonly args: WorkerProcessArgs;
  readonly child: ChildProcess;
  readonly events: Array<Record<string, unknown> & { event: string }>;
  /** Resolves with the first printed event matching `predicate` (already printed or later); rejects after `timeoutMs`. */
  waitFor(
    predicate: (event: Record<string, unknown> & { event: string }) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Resolves when the process exited, with its exit code or signal. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts a swarm worker in its own Node.js process (TypeScript sources through tsx). */
export function spawnWorker(args: WorkerProcessArgs, options: { stderr?: 'inherit' | 'ignore' } = {}): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@shim/source', WORKER_MAIN, JSON.stringify(args)],
    { stdio: ['ignore', 'pipe', options.stderr ?? 'inherit'] },
  );
  const events: WorkerProcess['events'] = [];
  const waiters = new Set<() => void>();
  let buffer = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        events.push(JSON.parse(line) as WorkerProcess['events'][number]);
      } catch {
        events.push({ event: 'output', text: line });
      }
    }
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    args,
    child,
    events,
    exited,
    waitFor(predicate, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = events.find(predicate);
          if (found === undefined) return;
          cleanup();
          resolve(found);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `worker ${args.id}: no matching event within ${timeoutMs} ms; printed: ${events.map((event) => event.event).join(', ')}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
