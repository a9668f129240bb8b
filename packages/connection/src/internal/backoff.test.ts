import { describe, expect, it, vi } from 'vitest';
import type { ResolvedConfig } from '../options.js';
import { backoffDelay } from './backoff.js';

type Reconnect = ResolvedConfig['reconnect'];

const noJitter: Reconnect = {
  initialDelayMs: 100,
  maxDelayMs: 5_000,
  factor: 2,
  jitter: 0,
  maxAttempts: Number.POSITIVE_INFINITY,
};

/** A `random` that always returns `value`. */
const fixed = (value: number) => () => value;

describe('backoffDelay()', () => {
  it('starts at initialDelayMs and multiplies by factor on each attempt', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, noJitter, fixed(0.5)))).toEqual([
      100, 200, 400, 800, 1_600, 3_200,
    ]);
  });

  it('caps the delay at maxDelayMs', () => {
    expect(backoffDelay(7, noJitter, fixed(0))).toBe(5_000);
    expect(backoffDelay(50, noJitter, fixed(0))).toBe(5_000);
  });

  it('stays at maxDelayMs when the exponential overflows to Infinity', () => {
    expect(backoffDelay(5_000, noJitter, fixed(0))).toBe(5_000);
  });

  it('treats attempt 0 and negative attempts like the first one', () => {
    expect(backoffDelay(0, noJitter, fixed(0))).toBe(100);
    expect(backoffDelay(-4, noJitter, fixed(0))).toBe(100);
  });

  it('uses a non-integer factor', () => {
    const options: Reconnect = { ...noJitter, initialDelayMs: 1_000, factor: 1.5 };
    expect([1, 2, 3].map((attempt) => backoffDelay(attempt, options, fixed(0)))).toEqual([1_000, 1_500, 2_250]);
  });

  it('keeps a constant delay with factor 1', () => {
    const options: Reconnect = { ...noJitter, factor: 1 };
    expect([1, 2, 10].map((attempt) => backoffDelay(attempt, options, fixed(0)))).toEqual([100, 100, 100]);
  });

  it('removes up to a jitter share of the delay, scaled by random()', () => {
    const options: Reconnect = { ...noJitter, jitter: 0.2 };
    expect(backoffDelay(1, options, fixed(0))).toBe(100);
    expect(backoffDelay(1, options, fixed(0.5))).toBe(90);
    expect(backoffDelay(1, options, fixed(1))).toBe(80);
    expect(backoffDelay(3, options, fixed(0.25))).toBe(380);
  });

  it('applies jitter after the cap', () => {
    const options: Reconnect = { ...noJitter, jitter: 0.5 };
    expect(backoffDelay(20, options, fixed(1))).toBe(2_500);
  });

  it('ranges over the whole delay with full jitter', () => {
    const options: Reconnect = { ...noJitter, jitter: 1 };
    expect(backoffDelay(2, options, fixed(0))).toBe(200);
    expect(backoffDelay(2, options, fixed(0.75))).toBe(50);
    expect(backoffDelay(2, options, fixed(1))).toBe(0);
  });

  it('ignores random() when jitter is 0', () => {
    expect(backoffDelay(2, noJitter, fixed(0.99))).toBe(200);
  });

  it('rounds to whole milliseconds', () => {
    const options: Reconnect = { ...noJitter, initialDelayMs: 3, jitter: 0.5 };
    // 3 * (1 - 0.5 * 0.5) = 2.25
    expect(backoffDelay(1, options, fixed(0.5))).toBe(2);
    // 3 * (1 - 0.5 * 0.1) = 2.85
    expect(backoffDelay(1, options, fixed(0.1))).toBe(3);
  });

  it('uses Math.random when no random is given', () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(1);
    expect(backoffDelay(1, { ...noJitter, jitter: 0.2 })).toBe(80);
    expect(random).toHaveBeenCalledTimes(1);
  });

  it('stays within [delay * (1 - jitter), delay] with the real Math.random', () => {
    const options: Reconnect = { ...noJitter, jitter: 0.2 };
    for (let i = 0; i < 200; i += 1) {
      const delay = backoffDelay(4, options);
      expect(delay).toBeGreaterThanOrEqual(640);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});
