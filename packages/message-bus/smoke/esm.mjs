import { RedisConnectionManager } from '@shim/connection';
import { MessageBusWrapper } from '@shim/message-bus';

const manager = new RedisConnectionManager({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: 'demo',
});
await manager.connect();
const bus = new MessageBusWrapper(manager, { sender: 'supervisor' });

// Pub/Sub: whoever listens right now hears it (at-most-once).
let heard;
const progress = new Promise((resolve) => (heard = resolve));
await bus.subscribe('task.progress', (message, meta) => heard(`${meta.sender} says ${message.percent}%`));
await bus.publish('task.progress', { task: 't1', percent: 50 });
console.log(await progress); // supervisor says 50%

// Inbox: durable (at-least-once); it waits for worker-1 even if worker-1 is not running yet.
await bus.send('worker-1', { task: 't2', action: 'review' });
let got;
const delivered = new Promise((resolve) => (got = resolve));
const stop = await bus.inbox('worker-1').consume((message) => got(`worker-1 got ${message.task}`));
console.log(await delivered); // worker-1 got t2
await stop();
await bus.close();
await manager.disconnect();
