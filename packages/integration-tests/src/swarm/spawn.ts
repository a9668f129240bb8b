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

/**
 * Splits what a worker printed into its complete lines, each one event: the JSON object it printed,
 * or `{ event: 'output', text }` for anything else (a stray log line, JSON that is not an event).
 * Blank lines are skipped; `rest` is the unfinished last line, to prepend to the next chunk.
 */
export function parseWorkerOutput(text: string): { events: WorkerProcess['events']; rest: string } {
  const lines = text.split('\n');
  // split() always returns at least one element: the text after the last newline.
  const rest = lines.pop() as string;
  const events: WorkerProcess['events'] = [];
  for (const line of lines) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const isEvent =
      typeof value === 'object' && value !== null && typeof (value as { event?: unknown }).event === 'string';
    events.push(isEvent ? (value as WorkerProcess['events'][number]) : { event: 'output', text: line });
  }
  return { events, rest };
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
    const parsed = parseWorkerOutput(buffer + chunk);
    buffer = parsed.rest;
    events.push(...parsed.events);
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
