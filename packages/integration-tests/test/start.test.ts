import { describe, expect, it, inject } from 'vitest';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const START = fileURLToPath(new URL('../src/start.ts', import.meta.url));

function runStart(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@shim/source', START, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('npm start (the demo swarm)', () => {
  it('counts words with 2 workers, survives --kill-one, prints a summary and exits 0', async () => {
    const { code, output } = await runStart(['--tasks', '40', '--workers', '2', '--kill-one'], {
      REDIS_URL: inject('redisUrl'),
    });
    expect(output).toContain('All tasks completed.');
    expect(output).toMatch(/tasks: +40\/40 completed, 0 dead-lettered/);
    expect(output).toMatch(/--kill-one: SIGKILL worker-\d/);
    expect(output).toMatch(/lock violations: +0/);
    expect(code).toBe(0);
  }, 90_000);

  it('refuses bad flags with a one-line message and exit code 2', async () => {
    const { code, output } = await runStart(['--workers', '0'], { REDIS_URL: inject('redisUrl') });
    expect(output.trim()).toBe('--workers must be an integer from 1 to 32, got 0');
    expect(code).toBe(2);
  });
});
