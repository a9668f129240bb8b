// The README's quick start, in CommonJS. Run by scripts/check-package.mjs in an empty project where
// only the packed tarballs are installed; its output must match expected-output.txt.
'use strict';

const { RedisConnectionManager } = require('@shim/connection');
const { MessageBusWrapper } = require('@shim/message-bus');

async function main() {
  const manager = new RedisConnectionManager({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: 'demo',
  });
  await manager.connect();
  const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });

  let heard;
  const progress = new Promise((resolve) => (heard = resolve));
  await bus.subscribe('task.progress', (message, meta) => heard(`${meta.sender} says ${message.percent}%`));
  await bus.publish('task.progress', { task: 't1', percent: 50 });
  console.log(await progress);

  await bus.send('worker-1', { task: 't2', action: 'review' });
  let got;
  const delivered = new Promise((resolve) => (got = resolve));
  const stop = await bus.inbox('worker-1').consume((message) => got(`worker-1 got ${message.task}`));
  console.log(await delivered);
  await stop();
  await bus.close();
  await manager.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
