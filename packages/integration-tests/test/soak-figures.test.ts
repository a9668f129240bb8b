import { describe, expect, it } from 'vitest';
import { soakFigures } from '../src/swarm/soak-run.js';
import type { TaskRecord } from '../src/swarm/protocol.js';

const record = (workers: string[]): TaskRecord => ({
  runs: workers.length,
  worker: workers.at(-1) ?? '',
  workers,
  startSeq: 1,
  result: null,
});

describe('soakFigures (the soak accounting)', () => {
  it('counts completed, dead-lettered and lost tasks, and reruns after a kill apart from other reruns', () => {
    const tasks = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((id) => ({ id, priority: 1, workMs: 1 }));
    const records = new Map<string, TaskRecord>([
      ['a', record(['w1'])],
      // First finished by w2, which was then killed: its completion died with it, w3 ran it again.
      ['b', record(['w2', 'w3'])],
      // Ran twice without a kill (a Redis restart cut its completion).
      ['c', record(['w1', 'w1'])],
      ['d', record(['w3'])],
      // Finished once by the worker that was later killed: not a rerun.
      ['f', record(['w2'])],
    ]);
    const figures = soakFigures({
      tasks,
      records,
      // 'e' failed for good; a dead letter of a task that also completed counts once in each.
      // Two letters of 'e' (it failed for good twice): one task.
      deadLetters: [
        { jobId: 'e', error: { message: 'first failure' }, attemptsMade: 3 },
        { jobId: 'e', error: { message: 'boom' }, attemptsMade: 3 },
        { jobId: 'd' },
      ],
      killed: new Set(['w2']),
    });
    expect(figures).toEqual({
      completed: 5,
      deadLettered: 2,
      // Each dead-lettered task once, with its (latest) reason: what `npm run soak` prints.
      deadLetters: [
        { task: 'e', reason: 'boom', attempts: 3 },
        { task: 'd', reason: '', attempts: 0 },
      ],
      lost: 1,
      ranTwice: 2,
      ranTwiceAfterKill: 1,
    });
  });

  it('reports nothing lost when every task completed', () => {
    const tasks = [{ id: 'a', priority: 1, workMs: 1 }];
    expect(
      soakFigures({ tasks, records: new Map([['a', record(['w1'])]]), deadLetters: [], killed: new Set() }),
    ).toEqual({ completed: 1, deadLettered: 0, deadLetters: [], lost: 0, ranTwice: 0, ranTwiceAfterKill: 0 });
  });
});
