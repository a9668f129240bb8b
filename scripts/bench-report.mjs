// Lets `npm run bench` (scripts/bench-all.mjs) collect every package benchmark's figures: when
// BENCH_REPORT names a file, each bench appends one JSON line with its rows.
import { appendFileSync } from 'node:fs';

/**
 * Records the rows of one benchmark. Each row: `scenario`, `unit` (e.g. 'msg/s', 'ms'), `raw`
 * (the raw library's figure), `wrapper` (ours), `ratio` (wrapper/raw as the bench defines it),
 * `target` (text such as '≥ 0.95', or '' when none) and `met` (true/false, or null without a target).
 */
export function reportBench(bench, rows) {
  const file = process.env.BENCH_REPORT;
  if (!file) return;
  appendFileSync(file, `${JSON.stringify({ bench, rows })}\n`);
}

/** `met` for a target written as '≥ x' or '≤ x' (null when there is none). */
export function meets(ratio, target) {
  const match = /^(≥|≤)\s*([\d.]+)/.exec(target ?? '');
  if (!match) return null;
  return match[1] === '≥' ? ratio >= Number(match[2]) : ratio <= Number(match[2]);
}
