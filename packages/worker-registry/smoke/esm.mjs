import { RedisConnectionManager } from '@shim/connection';
import { WorkerRegistry } from '@shim/worker-registry';

const manager = new RedisConnectionManager({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: 'demo',
});
await manager.connect();
const registry = new WorkerRegistry(manager, { heartbeatTtlMs: 6_000, cleanupIntervalMs: 2_000 });

await registry.registerWorker('worker-1', { capabilities: ['typescript', 'review'] }, { replace: true });
const stop = registry.startHeartbeat('worker-1', { intervalMs: 2_000 });
await registry.heartbeat('worker-1', { status: 'busy', metadata: { task: 't1' } });

const [worker] = await registry.listActive({ capability: 'typescript' });
console.log(worker.id, worker.status, worker.metadata.task); // worker-1 busy t1

stop();
await registry.unregister('worker-1');
await registry.close();
await manager.disconnect();
