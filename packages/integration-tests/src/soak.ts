// `npm run soak`: 10,000 tasks, 3 worker processes × concurrency 10, Redis (AOF, appendfsync always)
// restarted 5 times and a worker SIGKILLed 3 times. `--short` is the CI form (1,000 tasks, 2
// restarts, 1 kill). Exits 0 only when no task was lost or dead-lettered (each dead letter is printed
// with its reason) and no task ran twice beyond what the kills allow.
import { parseArgs } from 'node:util';
import { hasRedisServerBinary } from '@shim/testing';
import { runSoak } from './swarm/soak-run.js';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    tasks: { type: 'string' },
    restarts: { type: 'string' },
    kills: { type: 'string' },
  },
});
if (!hasRedisServerBinary()) {
  console.error(
    'The soak restarts Redis, so it needs the redis-server binary (apt-get install redis-server, brew install redis).',
  );
  process.exit(1);
}
const numberOf = (value: string | undefined, fallback: number): number =>
  value === undefined ? fallback : Number(value);
const report = await runSoak({
  tasks: numberOf(values.tasks, values.short ? 1_000 : 10_000),
  workers: 3,
  concurrency: 10,
  restarts: numberOf(values.restarts, values.short ? 2 : 5),
  kills: numberOf(values.kills, values.short ? 1 : 3),
  log: (line) => console.log(line),
});
console.log('');
console.log(
  `tasks:              ${report.tasks} (${report.completed} completed, ${report.deadLettered} dead-lettered)`,
);
for (const letter of report.deadLetters) {
  console.log(`  dead letter:      ${letter.task} after ${letter.attempts} attempt(s): ${letter.reason}`);
}
console.log(`tasks lost:         ${report.lost}`);
console.log(`tasks dead-lettered: ${report.deadLettered} (must be 0: a soak task never fails by itself)`);
console.log(
  `tasks run twice:    ${report.ranTwice}: ${report.ranTwiceAfterKill} after a kill (allowed: ${report.ranTwiceAllowed} = ${report.kills} kills × concurrency 10), ${report.ranTwice - report.ranTwiceAfterKill} after a Redis restart cut their completion`,
);
console.log(`faults:             ${report.restarts} Redis restarts, ${report.kills} worker kills`);
console.log(`lock violations:    ${report.violations}`);
console.log(`wall time:          ${report.wallSeconds.toFixed(1)} s`);
// A soak task never fails by itself: a dead letter here means a fault was counted as a failure.
const passed =
  report.lost === 0 &&
  report.deadLettered === 0 &&
  report.ranTwiceAfterKill <= report.ranTwiceAllowed &&
  report.violations === 0;
process.exitCode = passed ? 0 : 1;
