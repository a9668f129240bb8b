import { RedisConnectionManager } from '@shim/connection';
import { StateManager } from '@shim/state';

const manager = new RedisConnectionManager({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: 'demo',
});
await manager.connect();
const state = new StateManager(manager, { scope: 'job-42', writer: 'worker-1' });

// Every process subscribed to 'plan' sees each change, with its value and version.
let onSecondVersion;
const secondVersion = new Promise((resolve) => (onSecondVersion = resolve));
const unsubscribe = await state.subscribe('plan', (change) => {
  if (change.version === 2) onSecondVersion(change);
});

await state.set('plan', { steps: ['read', 'edit', 'test'], done: [] });
await state.atomicUpdate('plan', (plan) => ({ ...plan, done: [...plan.done, 'read'] }));
const { value: edits } = await state.increment('edits');
const edited = await state.withLock('src/app.ts', ({ fencingToken }) => fencingToken > 0);

const change = await secondVersion;
console.log(change.type, change.version, change.value.done, edits, edited); // set 2 [ 'read' ] 1 true

await unsubscribe();
await state.delete('plan');
await state.delete('edits');
await state.close();
await manager.disconnect();
