#!/usr/bin/env node
// Proves a built workspace package is fit to publish, the way a user would meet it: publint and
// attw lint the packed contents, then the tarball is installed ALONE into an empty project outside
// the workspace, where `import` and `require` must expose the same exports as the ESM build, and
// the package's own live smoke tests (smoke/esm.mjs, smoke/cjs.cjs) run against a real Redis.
//
// Usage, from a package directory after `tsup`:  node ../../scripts/check-package.mjs .
import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startRedis } from './throwaway-redis.mjs';

// Not import.meta.dirname: that needs Node 20.11, and engines allows any Node 20.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const pkgDir = resolve(process.argv[2] ?? '.');
const summary = [];
const cleanups = [];

class CheckError extends Error {}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const pass = (line) => {
  summary.push(line);
  console.log(`  ✓ ${line}`);
};
const note = (line) => console.log(`  - ${line}`);

/** Runs a command to completion; on failure throws with the command's whole output, which says why. */
function run(cmd, args, { cwd, env = process.env, step, timeout = 300_000 }) {
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : `exit ${r.status}`;
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    throw new CheckError(`${step}: \`${cmd} ${args.join(' ')}\` failed (${why})\n${out}`);
  }
  return r.stdout;
}

// `npm run` exports its own settings (npm_config_*, npm_package_*) to child processes; the
// temporary project must behave like a stranger's fresh project, not inherit the workspace's.
// Colours forced by Nx (FORCE_COLOR) would also change what the smoke scripts print.
const strangerEnv = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('npm_') && key !== 'FORCE_COLOR'),
  ),
  NO_COLOR: '1',
};

const onPath = (bin) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, bin)));

/** A throwaway redis-server for the live smoke tests when REDIS_URL is not given; stopped at the end. */
async function smokeRedis() {
  try {
    const redis = await startRedis();
    cleanups.push(redis.stop);
    return redis.url;
  } catch (error) {
    throw new CheckError(`smoke: ${error.message}`);
  }
}

// Compares a package's exports as seen by a stranger's project with those of the ESM build.
const compareExports = (format) => `
const expected = JSON.parse(process.env.EXPECTED_EXPORTS);
const actual = Object.keys(pkg).sort();
const missing = expected.filter((name) => !actual.includes(name));
const extra = actual.filter((name) => !expected.includes(name));
if (actual.length === 0 || missing.length > 0 || extra.length > 0) {
  console.error('${format}: exports differ from the ESM build; missing [' + missing + '], extra [' + extra + ']');
  process.exit(1);
}
console.log('${format}: ' + actual.length + ' exports, same as the ESM build');
`;

async function main() {
  const pkg = readJson(join(pkgDir, 'package.json'));
  console.log(`check-package: ${pkg.name}@${pkg.version}`);
  const esmEntry = join(pkgDir, 'dist', 'index.js');
  if (!existsSync(esmEntry)) throw new CheckError(`build: ${esmEntry} is missing; run \`npm run build\` first`);

  // 1. publint: package.json fields (exports, types, files) must point at files that are packed
  //    and in the right format. --strict turns warnings into failures; suggestions only print.
  run('npx', ['--no-install', 'publint', '--strict'], { cwd: pkgDir, step: 'publint' });
  pass('publint --strict');

  // 2. attw: TypeScript must find the right .d.ts/.d.cts for every resolution mode. We keep the
  //    default `strict` profile rather than `node16`: it checks node16 (from ESM and CJS) and
  //    bundler like node16 does, and also node10 (`moduleResolution: node`), which our dual
  //    packages support through their top-level `main`/`types`. A correct dual package passes it;
  //    `node16` would only hide a broken fallback, `esm-only` would skip the CJS half.
  run('npx', ['--no-install', 'attw', '--pack', '.'], { cwd: pkgDir, step: 'attw' });
  pass('attw --pack (profile strict)');

  // 3. Pack the package and every @shim/* package it (transitively) needs at run time: they are
  //    not on the registry yet, so a stranger's install could not fetch them.
  const workspace = new Map();
  for (const dir of readdirSync(join(ROOT, 'packages'))) {
    const file = join(ROOT, 'packages', dir, 'package.json');
    if (existsSync(file)) workspace.set(readJson(file).name, join(ROOT, 'packages', dir));
  }
  const toPack = [pkgDir];
  for (let i = 0; i < toPack.length; i++) {
    const { dependencies, peerDependencies } = readJson(join(toPack[i], 'package.json'));
    for (const name of Object.keys({ ...dependencies, ...peerDependencies })) {
      if (!name.startsWith('@shim/')) continue;
      const dir = workspace.get(name);
      if (dir === undefined) throw new CheckError(`pack: ${name} is not a package under ${join(ROOT, 'packages')}`);
      if (!toPack.includes(dir)) toPack.push(dir);
    }
  }
  const temp = mkdtempSync(join(tmpdir(), 'check-package-'));
  cleanups.push(() => rmSync(temp, { recursive: true, force: true }));
  const tarballDir = join(temp, 'tarballs');
  mkdirSync(tarballDir);
  const tarballs = toPack.map((dir) => {
    if (dir !== pkgDir && !existsSync(join(dir, 'dist')))
      run('npm', ['run', 'build'], { cwd: dir, step: `build ${dir}` });
    const [packed] = JSON.parse(
      run('npm', ['pack', '--json', '--pack-destination', tarballDir], { cwd: dir, step: 'npm pack' }),
    );
    return join(tarballDir, packed.filename);
  });
  pass(`npm pack: ${tarballs.map((t) => t.slice(tarballDir.length + 1)).join(', ')}`);

  // 4. Install the tarballs alone into an empty project outside the workspace, so nothing resolves
  //    through the monorepo's node_modules; npm 7+ fetches peers such as ioredis from the registry.
  const project = join(temp, 'project');
  mkdirSync(project);
  const npmHere = (args, step) => run('npm', args, { cwd: project, env: strangerEnv, step });
  npmHere(['init', '-y'], 'npm init');
  npmHere(['install', '--no-audit', '--no-fund', '--loglevel=error', ...tarballs], 'npm install');
  pass('installed into an empty project');

  // 5. `import` and `require` must both work and expose exactly the ESM build's names, for the main
  //    entry and every subpath (e.g. `@shim/connection/kit`): a missing name means one format's
  //    build or exports map differs from the other.
  const entries = Object.entries(pkg.exports ?? { '.': {} })
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => ({
      specifier: subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
      esm: subpath === '.' ? esmEntry : join(pkgDir, target.import?.default ?? ''),
    }));
  for (const { specifier, esm } of entries) {
    const expected = Object.keys(await import(pathToFileURL(esm).href)).sort();
    if (expected.length === 0) throw new CheckError(`exports: ${esm} exports nothing`);
    writeFileSync(join(project, 'exports.mjs'), `import * as pkg from '${specifier}';\n${compareExports('import')}`);
    writeFileSync(join(project, 'exports.cjs'), `const pkg = require('${specifier}');\n${compareExports('require')}`);
    const exportsEnv = { ...strangerEnv, EXPECTED_EXPORTS: JSON.stringify(expected) };
    for (const script of ['exports.mjs', 'exports.cjs']) {
      const out = run(process.execPath, [script], { cwd: project, env: exportsEnv, step: `exports of ${specifier}` });
      pass(`${specifier}: ${out.trim()}`);
    }
  }

  // 6. Live smoke tests, when the package ships some (smoke/ is not in `files`, so not published)
  //    and a Redis is at hand: REDIS_URL (CI's service container) or a local redis-server.
  const smokes = ['esm.mjs', 'cjs.cjs'].filter((file) => existsSync(join(pkgDir, 'smoke', file)));
  if (smokes.length === 0) {
    note('live smoke: none (no smoke/esm.mjs or smoke/cjs.cjs)');
  } else if (!process.env.REDIS_URL && !onPath('redis-server')) {
    note('live smoke: SKIPPED (no REDIS_URL and no redis-server on PATH)');
  } else {
    const url = process.env.REDIS_URL || (await smokeRedis());
    for (const file of smokes) {
      copyFileSync(join(pkgDir, 'smoke', file), join(project, file));
      const out = run(process.execPath, [file], {
        cwd: project,
        env: { ...strangerEnv, REDIS_URL: url },
        step: `smoke ${file}`,
        timeout: 60_000,
      });
      // smoke/expected-output.txt, when present, is what every smoke script must print (the README's output).
      const expectedFile = join(pkgDir, 'smoke', 'expected-output.txt');
      if (existsSync(expectedFile) && out.trim() !== readFileSync(expectedFile, 'utf8').trim()) {
        throw new CheckError(
          `smoke ${file}: printed ${JSON.stringify(out.trim())}, expected the content of ${expectedFile}`,
        );
      }
      pass(`smoke ${file}: ${out.trim()}`);
    }
  }
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  console.error(`\ncheck-package FAILED — ${err instanceof CheckError ? err.message : err.stack}`);
} finally {
  // Last registered first: stop redis-server before deleting the directory it runs in.
  for (const cleanup of cleanups.reverse()) await cleanup();
}
if (failed) process.exit(1);
console.log(`check-package: OK (${summary.length} checks)`);
// The ESM build imported in step 5 may hold handles (timers, sockets) that would delay exit.
process.exit(0);
