// Live smoke test for the CJS build, run by scripts/check-package.mjs inside an empty project where
// only the packed tarball is installed. Not published: `files` ships dist/ only.
'use strict';

const { RedisConnectionManager } = require('@shim/connection');

async function main() {
  const url = process.env.REDIS_URL;
  if (!url) throw new Error('cjs smoke: REDIS_URL is not set');

  const manager = new RedisConnectionManager({ url });
  try {
    await manager.connect();
    const reply = await manager.getConnection().ping();
    if (reply !== 'PONG') throw new Error(`cjs smoke: PING answered ${JSON.stringify(reply)}, expected "PONG"`);
  } finally {
    await manager.disconnect();
  }
  console.log(`cjs smoke: connect, PING → PONG, disconnect against ${manager.address}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
