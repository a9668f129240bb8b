import { RedisConnectionManager } from '@shim/connection';

const manager = new RedisConnectionManager({
  url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  namespace: 'demo',
});
manager.on('warning', (warning) => console.warn(warning.message));
manager.on('error', (error) => console.error(error.message));

await manager.connect();
const redis = manager.getConnection();
await redis.set(manager.key('greeting'), 'hello', 'PX', 10_000); // key: demo:greeting
console.log(await redis.get(manager.key('greeting')), manager.isHealthy()); // hello true
await manager.disconnect();
