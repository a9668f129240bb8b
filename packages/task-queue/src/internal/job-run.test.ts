import { describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { TaskQueueError } from '../errors.js';
import { JobRun } from './job-run.js';

/** Just the fields JobRun reads; progress is not called here. */
const job = (opts: { attempts?: number }, attemptsMade = 0): Job =>
  ({ id: 'j1', attemptsMade, opts }) as unknown as Job;

describe('JobRun', () => {
  it('counts attempts from 1, and treats a job without attempts as one attempt', () => {
    expect(new JobRun(job({ attempts: 3 }, 1), 'q')).toMatchObject({ jobId: 'j1', attempt: 2, maxAttempts: 3 });
    expect(new JobRun(job({}), 'q').maxAttempts).toBe(1);
    expect(new JobRun(job({ attempts: 0 }), 'q').maxAttempts).toBe(1);
  });

  it('makes the signal on first read; abort() fires it, also when the handler reads it only afterwards', () => {
    const early = new JobRun(job({}), 'q');
    const signal = early.signal;
    expect(early.signal).toBe(signal);
    const reason = new TaskQueueError('QUEUE_CLOSED', 'closed');
    early.abort(reason);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBe(reason);

    const late = new JobRun(job({}), 'q');
    late.abort(reason);
    expect(late.signal.aborted).toBe(true);
    expect(late.signal.reason).toBe(reason);
  });

  it('keeps progress usable when destructured, and the same function on every read', () => {
    const run = new JobRun(job({}), 'q');
    const { progress } = run;
    expect(run.progress).toBe(progress);
  });
});
