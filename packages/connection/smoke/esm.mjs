// Live smoke test for the ESM build, run by scripts/check-package.mjs inside an empty project where
// only the packed tarball is installed. Not published: `files` ships dist/ only.
import { RedisConnectionManager } from '@shim/connection';

const url = process.env.REDIS_URL;
if (!url) throw new Error('esm smoke: REDIS_URL is not set');

const manager = new RedisConnectionManager({ url });
try {
  await manager.connect();
  const reply = await manager.getConnection().ping();
  if (reply !== 'PONG') throw new Error(`esm smoke: PING answered ${JSON.stringify(reply)}, expected "PONG"`);
} finally {
  await manager.disconnect();
}
console.log(`esm smoke: connect, PING → PONG, disconnect against ${manager.address}`);
