// A throwaway redis-server for the repo's scripts (package checks, benchmarks): a free loopback
// port, a temporary directory, no persistence. Tests use @shim/testing's RedisServer instead.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A free TCP port on loopback. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/**
 * `REDIS_URL` when set, else a spawned redis-server. Resolves with `{ url, stop }` once it accepts
 * connections (rejects with its log if it does not within 10 s); `stop()` kills it and removes its
 * directory.
 */
export async function startRedis() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: async () => {} };
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shim-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  let log = '';
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready within 10 s\n${log}`)), 10_000);
      const settle = (fn) => (arg) => {
        clearTimeout(timer);
        fn(arg);
      };
      child.stdout.on('data', (chunk) => {
        log += chunk;
        if (log.includes('Ready to accept connections')) settle(resolve)();
      });
      child.stderr.on('data', (chunk) => (log += chunk));
      child.once(
        'error',
        settle((error) => reject(new Error(`cannot start redis-server: ${error.message}`))),
      );
      exited.then(settle((code) => reject(new Error(`redis-server exited early (${code})\n${log}`))));
    });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, stop };
}
