import { describe, expect, it } from 'vitest';
import { Redactor } from './redact.js';

describe('Redactor.text()', () => {
  it('replaces every occurrence of a secret', () => {
    const redactor = new Redactor(['hunter2']);
    expect(redactor.text('AUTH hunter2 failed; retry with hunter2')).toBe('AUTH *** failed; retry with ***');
  });

  it('replaces the percent-encoded form of a secret', () => {
    const redactor = new Redactor(['p@ss word/1']);
    expect(encodeURIComponent('p@ss word/1')).toBe('p%40ss%20word%2F1');
    expect(redactor.text('url had p%40ss%20word%2F1 in it')).toBe('url had *** in it');
    expect(redactor.text('raw p@ss word/1 too')).toBe('raw *** too');
  });

  it('replaces several secrets', () => {
    const redactor = new Redactor(['alpha', 'bravo']);
    expect(redactor.text('alpha and bravo')).toBe('*** and ***');
  });

  it('replaces a secret that contains another one whole, whatever their order', () => {
    expect(new Redactor(['ab', 'abcd']).text('xabcdx')).toBe('x***x');
    expect(new Redactor(['abcd', 'ab']).text('xabcdx ab')).toBe('x***x ***');
  });

  it('ignores undefined and empty secrets', () => {
    const redactor = new Redactor([undefined, '', 'pw']);
    expect(redactor.text('abc pw')).toBe('abc ***');
    expect(new Redactor([undefined, '']).text('nothing secret')).toBe('nothing secret');
  });

  it('redacts secrets with characters that are special in regular expressions', () => {
    expect(new Redactor(['a.*b$']).text('xa.*b$y aXXb')).toBe('x***y aXXb');
  });

  it.each([
    ['redis://user:pw@host:6379/0', 'redis://user:***@host:6379/0'],
    ['rediss://:pw@host', 'rediss://:***@host'],
    ['REDIS://admin:S3cr3t@example.com', 'REDIS://admin:***@example.com'],
    ['connect to redis://u:a%40b@h and rediss://v:c@i', 'connect to redis://u:***@h and rediss://v:***@i'],
  ])('replaces the password of a URL in %j', (text, expected) => {
    expect(new Redactor([]).text(text)).toBe(expected);
  });

  it('leaves URLs without a password alone', () => {
    const redactor = new Redactor([]);
    expect(redactor.text('redis://host:6379/0')).toBe('redis://host:6379/0');
    expect(redactor.text('redis://user@host:6379')).toBe('redis://user@host:6379');
    expect(redactor.text('http://user:pw@host')).toBe('http://user:pw@host');
  });

  it('returns text without secrets unchanged', () => {
    expect(new Redactor(['pw']).text('ECONNREFUSED 127.0.0.1:6379')).toBe('ECONNREFUSED 127.0.0.1:6379');
  });
});

describe('Redactor.error()', () => {
  it('returns a new Error with the redacted message, the name and the code', () => {
    const original = Object.assign(new Error('WRONGPASS for hunter2'), { code: 'ERR_AUTH' });
    original.name = 'ReplyError';
    const copy = new Redactor(['hunter2']).error(original);
    expect(copy).not.toBe(original);
    expect(copy).toBeInstanceOf(Error);
    expect(copy.message).toBe('WRONGPASS for ***');
    expect(copy.name).toBe('ReplyError');
    expect((copy as { code?: unknown }).code).toBe('ERR_AUTH');
    expect(original.message).toBe('WRONGPASS for hunter2');
  });

  it('drops every other field of an ioredis-like error, such as command.args', () => {
    const original = Object.assign(new Error('WRONGPASS invalid username-password pair'), {
      code: 'WRONGPASS',
      command: { name: 'auth', args: ['AUTH', 'pw'] },
      previousErrors: [new Error('pw')],
      args: ['pw'],
    });
    original.name = 'ReplyError';
    const copy = new Redactor(['pw']).error(original);
    expect('command' in copy).toBe(false);
    expect('previousErrors' in copy).toBe(false);
    expect('args' in copy).toBe(false);
    expect(Object.keys(copy).filter((key) => key !== 'name' && key !== 'code')).toEqual([]);
    expect(JSON.stringify(copy)).not.toContain('"pw"');
    expect(JSON.stringify(copy)).not.toContain('AUTH');
  });

  it('does not carry the cause or the stack of the original', () => {
    const original = new Error('outer secret-pw', { cause: new Error('inner secret-pw') });
    const copy = new Redactor(['secret-pw']).error(original);
    expect('cause' in copy).toBe(false);
    expect(copy.stack).toBe('Error: outer ***');
    expect(copy.stack).not.toContain('secret-pw');
  });

  it('uses the redacted name and message for the stack', () => {
    const original = new Error('redis://u:pw@host refused');
    original.name = 'ReplyError';
    expect(new Redactor([]).error(original).stack).toBe('ReplyError: redis://u:***@host refused');
  });

  it('keeps a numeric code', () => {
    const copy = new Redactor([]).error(Object.assign(new Error('x'), { code: 42 }));
    expect((copy as { code?: unknown }).code).toBe(42);
  });

  it.each([
    ['no code', new Error('x')],
    ['an object code', Object.assign(new Error('x'), { code: { secret: 'pw' } })],
    ['a boolean code', Object.assign(new Error('x'), { code: true })],
  ])('sets no code for an error with %s', (_label, original) => {
    expect('code' in new Redactor([]).error(original)).toBe(false);
  });

  it('makes the code read-only on the copy', () => {
    const copy = new Redactor([]).error(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }));
    expect(() => {
      (copy as { code?: unknown }).code = 'OTHER';
    }).toThrow(TypeError);
    expect((copy as { code?: unknown }).code).toBe('ECONNREFUSED');
  });

  it('keeps the name of an Error subclass but returns a plain Error', () => {
    const copy = new Redactor([]).error(new TypeError('bad'));
    expect(copy.name).toBe('TypeError');
    expect(copy).not.toBeInstanceOf(TypeError);
  });

  it.each([
    ['a string', 'failed with hunter2', 'failed with ***'],
    ['a number', 42, '42'],
    ['undefined', undefined, 'undefined'],
    ['an object', { password: 'hunter2' }, '[object Object]'],
  ])('wraps %s (not an Error) in a new redacted Error', (_label, value, message) => {
    const copy = new Redactor(['hunter2']).error(value);
    expect(copy).toBeInstanceOf(Error);
    expect(copy.name).toBe('Error');
    expect(copy.message).toBe(message);
  });

  it('redacts URL passwords and percent-encoded secrets in the message', () => {
    const copy = new Redactor(['p@ss']).error(new Error('cannot reach rediss://app:p%40ss@db.internal:6380 (p@ss)'));
    expect(copy.message).toBe('cannot reach rediss://app:***@db.internal:6380 (***)');
  });
});
