import { describe, expect, it } from 'vitest';
import { classifyFailure } from './classify.js';

/** An Error shaped like a Node socket/TLS error or an ioredis ReplyError. */
function failure(message: string, code?: unknown, name = 'Error'): Error {
  const error = new Error(message);
  error.name = name;
  if (code !== undefined) Object.assign(error, { code });
  return error;
}

describe('classifyFailure()', () => {
  describe('auth', () => {
    it.each([
      'WRONGPASS invalid username-password pair or user is disabled.',
      'NOAUTH Authentication required.',
      'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      'ERR invalid password',
      'ERR invalid username-password pair',
      'wrongpass lower case',
      'Noauth mixed case',
    ])('classifies %j as auth', (message) => {
      expect(classifyFailure(failure(message, undefined, 'ReplyError'))).toBe('auth');
    });

    it('classifies by message even when the error carries a network code', () => {
      expect(classifyFailure(failure('WRONGPASS invalid username-password pair', 'ECONNRESET'))).toBe('auth');
    });

    it('needs WRONGPASS/NOAUTH as a whole word at the start of the message', () => {
      expect(classifyFailure(failure('NOAUTHX something'))).toBe('other');
      expect(classifyFailure(failure('ERR unknown command WRONGPASS'))).toBe('other');
    });
  });

  describe('tls', () => {
    it.each([
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
      'UNABLE_TO_GET_ISSUER_CERT',
      'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'SELF_SIGNED_CERT_IN_CHAIN',
      'CERT_HAS_EXPIRED',
      'CERT_NOT_YET_VALID',
      'CERT_UNTRUSTED',
      'CERT_REJECTED',
      'ERR_SSL_WRONG_VERSION_NUMBER',
      'ERR_SSL_PACKET_LENGTH_TOO_LONG',
      'ERR_TLS_CERT_ALTNAME_INVALID',
      'ERR_TLS_HANDSHAKE_TIMEOUT',
    ])('classifies the code %s as tls', (code) => {
      expect(classifyFailure(failure('handshake failed', code))).toBe('tls');
    });

    it.each([
      'Client network socket disconnected before secure TLS connection was established',
      'C0A7F8B8:error:0A00010B:SSL routines:ssl3_get_record:wrong version number',
    ])('classifies the code-less message %j as tls', (message) => {
      expect(classifyFailure(failure(message))).toBe('tls');
    });

    it('lets a network code win over the TLS message (Node sets ECONNRESET on an unfinished handshake)', () => {
      // The manager adds its own "is the server plain redis://?" hint for this case.
      const error = failure(
        'Client network socket disconnected before secure TLS connection was established',
        'ECONNRESET',
      );
      expect(classifyFailure(error)).toBe('network');
    });
  });

  describe('db', () => {
    it.each(['ERR DB index is out of range', 'ERR db index is OUT OF RANGE'])('classifies %j as db', (message) => {
      expect(classifyFailure(failure(message, undefined, 'ReplyError'))).toBe('db');
    });

    it('classifies by message before looking at a code', () => {
      expect(classifyFailure(failure('ERR DB index is out of range', 'ECONNRESET'))).toBe('db');
    });

    it('leaves an auth failure as auth', () => {
      expect(classifyFailure(failure('NOAUTH Authentication required. DB index is out of range'))).toBe('auth');
    });

    it('does not match other SELECT errors', () => {
      expect(classifyFailure(failure('ERR value is not an integer or out of range'))).toBe('other');
    });
  });

  describe('network', () => {
    it.each([
      'ECONNREFUSED',
      'ECONNRESET',
      'ECONNABORTED',
      'ETIMEDOUT',
      'EHOSTUNREACH',
      'ENETUNREACH',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EPIPE',
      'EADDRNOTAVAIL',
    ])('classifies the code %s as network', (code) => {
      expect(classifyFailure(failure(`connect ${code} 127.0.0.1:6379`, code))).toBe('network');
    });

    it.each(['Connection is closed.', 'Socket closed unexpectedly', 'connection is CLOSED'])(
      'classifies the code-less message %j as network',
      (message) => {
        expect(classifyFailure(failure(message))).toBe('network');
      },
    );
  });

  describe('other', () => {
    it.each([
      ['an unknown string code', failure('boom', 'EWHATEVER')],
      ['a numeric code', failure('boom', 111)],
      ['no code', failure('ERR unknown command')],
      ['a lower-case network code', failure('boom', 'econnrefused')],
      ['a code only containing a TLS prefix', failure('boom', 'X_ERR_TLS_CERT')],
    ])('classifies an Error with %s as other', (_label, error) => {
      expect(classifyFailure(error)).toBe('other');
    });

    it.each([
      ['a string', 'WRONGPASS invalid username-password pair'],
      ['a plain object with a TLS code', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT', message: 'self signed' }],
      ['a plain object with a network code', { code: 'ECONNREFUSED', message: 'refused' }],
      ['undefined', undefined],
      ['null', null],
      ['a number', 42],
    ])('classifies %s (not an Error) as other', (_label, value) => {
      expect(classifyFailure(value)).toBe('other');
    });

    it('classifies Error subclasses by their fields', () => {
      class ReplyError extends Error {
        override name = 'ReplyError';
      }
      expect(classifyFailure(new ReplyError('NOAUTH Authentication required.'))).toBe('auth');
      expect(classifyFailure(Object.assign(new TypeError('x'), { code: 'ENOTFOUND' }))).toBe('network');
    });
  });
});
