import { describe, expect, it } from 'vitest';
import { assertKey, assertPrefix, escapeGlob, stateKeys } from './keys.js';

describe('stateKeys', () => {
  it('puts every key of a scope under one hash tag, the entry key after it', () => {
    const keys = stateKeys('team-a', 'plan');
    expect(keys.base).toBe('team-a:state:{team-a:plan}');
    expect(keys.index).toBe('team-a:state:{team-a:plan}:index');
    expect(keys.expiries).toBe('team-a:state:{team-a:plan}:expiries');
    expect(keys.fences).toBe('team-a:state:{team-a:plan}:fences');
    expect(keys.entry('a{b}c')).toBe('team-a:state:{team-a:plan}:entry:a{b}c');
    expect(keys.lock('file.ts')).toBe('team-a:state:{team-a:plan}:lock:file.ts');
    expect(keys.channel('x')).toBe('team-a:state:{team-a:plan}:changes:x');
    expect(keys.channel('x').startsWith(keys.channelPrefix)).toBe(true);
  });

  it('escapes glob characters of the prefix in patterns', () => {
    expect(stateKeys('ns', 's').pattern('a*[b]?\\')).toBe('ns:state:{ns:s}:changes:a\\*\\[b\\]\\?\\\\*');
    expect(escapeGlob('plain')).toBe('plain');
  });

  it('keeps scopes that look alike apart', () => {
    const a = stateKeys('ns', 'a');
    const b = stateKeys('ns', 'a:changes');
    expect(a.channel('changes:x')).not.toBe(b.channel('x'));
    expect(a.entry('entry:x')).not.toBe(stateKeys('ns', 'a:entry').entry('x'));
  });
});

describe('assertKey', () => {
  it('accepts ordinary keys, unicode, spaces and braces', () => {
    for (const key of ['plan', 'files/src/a.ts', 'owner of {x}', 'ü-λ-🦊', '__proto__', 'x'.repeat(1024)])
      expect(assertKey(key)).toBe(key);
  });

  it.each([
    ['', /must not be empty/],
    ['x'.repeat(1025), /longer than 1024/],
    ['tab\there', /control characters/],
    ['nul\u0000', /control characters/],
    ['c1\u0085', /control characters/],
    ['lone\ud800', /lone surrogate/],
    ['lone\udc00x', /lone surrogate/],
  ])('refuses %j', (key, message) => {
    expect(() => assertKey(key)).toThrow(message);
  });

  it('refuses non-strings with INVALID_KEY, naming what it checked', () => {
    expect(() => assertKey(7, 'lock name')).toThrow(
      expect.objectContaining({ code: 'INVALID_KEY', message: 'lock name must be a string, got number' }),
    );
  });

  it('lets a prefix be empty but nothing else', () => {
    expect(assertPrefix('')).toBe('');
    expect(() => assertPrefix('a\nb')).toThrow(/control characters/);
  });
});
