// The README's quick start, in CommonJS. Run by scripts/check-package.mjs in an empty project where
// only the packed tarball is installed; its output must match expected-output.txt.
'use strict';

const { RedisConnectionManager } = require('@shim/connection');

async function main() {
  const manager = new RedisConnectionManager({
    url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    namespace: 'demo',
  });
  manager.on('warning', (warning) => console.warn(warning.message));
  manager.on('error', (error) => console.error(error.message));

  await manager.connect();
  const redis = manager.getConnection();
  await redis.set(manager.key('greeting'), 'hello', 'PX', 10_000);
  console.log(await redis.get(manager.key('greeting')), manager.isHealthy());
  await manager.disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
