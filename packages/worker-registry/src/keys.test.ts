import { describe, expect, it } from 'vitest';
import { assertWorkerId, registryKeys } from './keys.js';

describe('registryKeys', () => {
  it('puts every key of a namespace under one hash tag, and the channel under the namespace', () => {
    const keys = registryKeys('team-a');
    expect(keys.alive).toBe('team-a:workers:{team-a}:alive');
    expect(keys.info).toBe('team-a:workers:{team-a}:info');
    expect(keys.status).toBe('team-a:workers:{team-a}:status');
    expect(keys.incarnation).toBe('team-a:workers:{team-a}:incarnation');
    expect(keys.changes).toBe('team-a:workers:{team-a}:changes');
    expect(keys.version).toBe('team-a:workers:{team-a}:version');
    expect(keys.all).toEqual([keys.alive, keys.info, keys.status, keys.incarnation, keys.changes, keys.version]);
    expect(keys.events).toBe('team-a:workers:events');
  });
});

describe('assertWorkerId', () => {
  it('accepts ordinary ids, unicode and spaces included', () => {
    for (const id of ['w1', 'worker 7', 'claude:desktop/3', 'ü-λ-🦊', 'x'.repeat(256)])
      expect(assertWorkerId(id)).toBe(id);
  });

  it.each([
    ['', /empty/],
    ['x'.repeat(257), /longer than 256/],
    ['tab\there', /control characters/],
    ['nul\u0000', /control characters/],
    ['c1\u0085', /control characters/],
    ['lone\ud800', /lone surrogate/],
    ['lone\udc00x', /lone surrogate/],
  ])('refuses %j', (id, message) => {
    expect(() => assertWorkerId(id)).toThrow(message);
  });

  it('refuses non-strings with INVALID_WORKER_ID', () => {
    expect(() => assertWorkerId(7)).toThrow(expect.objectContaining({ code: 'INVALID_WORKER_ID' }));
  });
});
