import { RedisConnectionManager } from '@shim/connection';
import { TaskQueueWrapper } from '@shim/task-queue';

const manager = new RedisConnectionManager({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: 'demo',
});
await manager.connect();
const queue = new TaskQueueWrapper(manager, 'reviews', { attempts: 3 });

// Supervisor: watch results from every process, then hand out work (1 = most urgent).
const results = [];
let allDone;
const finished = new Promise((resolve) => (allDone = resolve));
await queue.subscribe((event) => {
  if (event.type !== 'completed') return;
  results.push(event.result);
  if (results.length === 2) allDone();
});
await queue.addJobs([
  { data: { file: 'README.md' }, options: { priority: 10 } },
  { data: { file: 'auth.ts' }, options: { priority: 1 } },
]);

// Worker: one task at a time; a throw is retried with backoff, then dead-lettered.
await queue.process(async (data, ctx) => {
  await ctx.progress(50);
  return `reviewed ${data.file} (attempt ${ctx.attempt})`;
});

await finished;
console.log(results.join('\n')); // reviewed auth.ts (attempt 1), then README.md

await queue.close();
await manager.disconnect();
