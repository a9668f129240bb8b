import { describe, expect, it } from 'vitest';
import { runSoak } from '../src/swarm/soak-run.js';

describe('soak (short form)', () => {
  it('1,000 tasks through 3 worker processes × 10 while Redis restarts twice and a worker is killed: nothing lost, nothing dead-lettered', async () => {
    const lines: string[] = [];
    const report = await runSoak({
      tasks: 1_000,
      workers: 3,
      concurrency: 10,
      restarts: 2,
      kills: 1,
      log: (line) => lines.push(line),
    });
    expect(report).toMatchObject({ tasks: 1_000, lost: 0, restarts: 2, kills: 1, violations: 0 });
    // Kills and restarts are infrastructure faults: none of them may make a task a dead letter.
    expect(report.deadLetters).toEqual([]);
    expect(report.completed).toBe(1_000);
    expect(report.ranTwiceAfterKill).toBeLessThanOrEqual(report.ranTwiceAllowed);
    // A restart can cut completions in flight: at most every active job of every worker.
    expect(report.ranTwice - report.ranTwiceAfterKill).toBeLessThanOrEqual(2 * 3 * 10);
    expect(lines.filter((line) => line.startsWith('restart '))).toHaveLength(2);
    expect(lines.filter((line) => line.startsWith('kill '))).toHaveLength(1);
  }, 240_000);
});
