import { describe, expect, it } from 'vitest';
import { ignore, settleWithin } from './settle-within.js';

describe('settleWithin', () => {
  it('gives the value of a promise that settles in time', async () => {
    expect(await settleWithin(Promise.resolve(7), 1_000)).toEqual({ ok: true, value: 7 });
  });

  it('gives the reason of a promise that rejects in time, without rejecting itself', async () => {
    const error = new Error('no');
    expect(await settleWithin(Promise.reject(error), 1_000)).toEqual({ ok: false, error });
  });

  it('gives up after the time, even when the promise never settles', async () => {
    const outcome = await settleWithin(new Promise(ignore), 20);
    expect(outcome.ok).toBe(false);
    expect(outcome.ok ? undefined : (outcome.error as Error).message).toBe('timed out after 20 ms');
  });

  it('ignore() swallows anything', () => {
    expect(ignore()).toBeUndefined();
  });
});
