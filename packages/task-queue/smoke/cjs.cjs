// The README's quick start, in CommonJS. Run by scripts/check-package.mjs in an empty project where
// only the packed tarballs are installed; its output must match expected-output.txt.
'use strict';

const { RedisConnectionManager } = require('@shim/connection');
const { TaskQueueWrapper } = require('@shim/task-queue');

async function main() {
  const manager = new RedisConnectionManager({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: 'demo',
  });
  await manager.connect();
  const queue = new TaskQueueWrapper(manager, 'reviews', { attempts: 3 });

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

  await queue.process(async (data, ctx) => {
    await ctx.progress(50);
    return `reviewed ${data.file} (attempt ${ctx.attempt})`;
  });

  await finished;
  console.log(results.join('\n'));

  await queue.close();
  await manager.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
