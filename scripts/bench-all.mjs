// `npm run bench`: every package's benchmark in one go (each against its raw library, in the same
// run), then one table of ratios with the machine and versions. `-- --write` also records it in
// BENCHMARKS.md. Each bench spawns its own redis-server (or uses REDIS_URL).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const packages = ['message-bus', 'worker-registry', 'task-queue', 'state'];
const write = process.argv.includes('--write');

console.log('building every package …');
execFileSync('npx', ['nx', 'run-many', '-t', 'build', '--outputStyle=static'], { cwd: root, stdio: 'ignore' });

const dir = mkdtempSync(join(tmpdir(), 'shim-bench-'));
const reportFile = join(dir, 'report.jsonl');
writeFileSync(reportFile, '');
const started = new Date();
const failed = [];
for (const name of packages) {
  const cwd = join(root, 'packages', name);
  const script = JSON.parse(readFileSync(join(cwd, 'package.json'), 'utf8')).scripts?.bench;
  // The package script builds first, then runs node …: run only the node part (everything is built).
  const command = script?.split('&&').at(-1)?.trim();
  if (!command?.startsWith('node ')) {
    failed.push(`${name}: no "bench" script of the form "… && node …"`);
    continue;
  }
  console.log(`\n=== @shim/${name}: ${command}`);
  const result = spawnSync(command, {
    cwd,
    shell: true,
    stdio: 'inherit',
    env: { ...process.env, BENCH_REPORT: reportFile },
  });
  if (result.status !== 0) failed.push(`${name}: exit ${result.status}`);
}

const reports = readFileSync(reportFile, 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line));
rmSync(dir, { recursive: true, force: true });

const fmt = (value) =>
  typeof value !== 'number'
    ? '—'
    : Math.abs(value) >= 100
      ? Math.round(value).toLocaleString('en-US')
      : value.toLocaleString('en-US', { maximumFractionDigits: 3 });
const version = (name) => {
  try {
    return JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return '?';
  }
};
const redisVersion = (() => {
  try {
    return /v=(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
  } catch {
    return process.env.REDIS_URL ? 'REDIS_URL' : '?';
  }
})();
const lines = [
  '| benchmark | scenario | raw | wrapper | ratio wrapper/raw | target | met |',
  '|---|---|---|---|---|---|---|',
  ...reports.flatMap(({ bench, rows }) =>
    rows.map(
      (row) =>
        `| ${bench} | ${row.scenario} | ${row.raw === null ? '—' : `${fmt(row.raw)} ${row.unit}`} | ${fmt(row.wrapper)} ${row.unit} | ${fmt(row.ratio)} | ${row.target || '—'} | ${row.met === null || row.met === undefined ? '' : row.met ? 'yes' : '**no**'} |`,
    ),
  ),
];
const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, load average at the end ${loadavg()[0].toFixed(1)}; Node.js ${process.version}; Redis ${redisVersion}; ioredis ${version('ioredis')}; BullMQ ${version('bullmq')}; ${started.toISOString()}`;
console.log('\n' + lines.join('\n'));
console.log(`\n${machine}`);
if (failed.length > 0) console.log(`\nfailed: ${failed.join('; ')}`);

if (write) {
  const doc = readFileSync(join(root, 'BENCHMARKS.md'), 'utf8');
  const begin = '<!-- bench:begin -->';
  const end = '<!-- bench:end -->';
  const table = `${begin}\n${lines.join('\n')}\n\nMachine: ${machine}.\n${end}`;
  writeFileSync(
    join(root, 'BENCHMARKS.md'),
    doc.includes(begin) ? doc.replace(new RegExp(`${begin}[\\s\\S]*${end}`), table) : `${doc.trimEnd()}\n\n${table}\n`,
  );
  // The root lint runs `prettier --check .`: leave the file as prettier writes it.
  execFileSync('npx', ['prettier', '--write', 'BENCHMARKS.md'], { cwd: root, stdio: 'ignore' });
  console.log('\nBENCHMARKS.md updated.');
}
process.exitCode = failed.length === 0 ? 0 : 1;
