// A swarm worker in its own process: `node --import tsx --conditions=@shim/source worker-main.ts '<json args>'`.
// Prints one JSON line per event on stdout; SIGTERM stops it cleanly (exit code 0).
import { RedisConnectionManager } from '@shim/connection';
import { startSwarmWorker, type WorkerEvent } from './worker.js';

/** The JSON argument of a worker process. */
export interface WorkerProcessArgs {
  url: string;
  namespace: string;
  scope: string;
  id: string;
  concurrency?: number;
  heartbeatMs?: number;
  ttlMs?: number;
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Count words of `task.file` instead of waiting `task.workMs` (the `npm start` demo). */
  countWords?: boolean;
}

const args = JSON.parse(process.argv[2] ?? '{}') as WorkerProcessArgs;
const print = (event: WorkerEvent | Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, ...event })}\n`);
};

const manager = new RedisConnectionManager({ url: args.url, namespace: args.namespace, waitForServer: true });
manager.on('error', (error) =>
  print({ event: 'error', worker: args.id, source: 'connection', message: error.message }),
);
await manager.connect();
const countWords = args.countWords === true ? (await import('./word-count.js')).countWords : undefined;
const worker = await startSwarmWorker({
  manager,
  id: args.id,
  scope: args.scope,
  concurrency: args.concurrency,
  heartbeatMs: args.heartbeatMs,
  ttlMs: args.ttlMs,
  lockDurationMs: args.lockDurationMs,
  stalledIntervalMs: args.stalledIntervalMs,
  onEvent: print,
  ...(countWords === undefined ? {} : { work: countWords }),
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void worker
    .stop()
    .then(() => manager.disconnect())
    .then(
      () => {
        print({ event: 'exit', worker: args.id });
        process.exit(0);
      },
      (error: unknown) => {
        print({ event: 'error', worker: args.id, source: 'stop', message: String(error) });
        process.exit(1);
      },
    );
});
