/** How a connection failure is handled. */
export type FailureKind = 'auth' | 'tls' | 'db' | 'network' | 'other';

const AUTH_PATTERN = /^(WRONGPASS|NOAUTH)\b|invalid password|invalid username-password pair/i;
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
]);
const NETWORK_CODES = new Set([
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
]);

/** Sorts an ioredis/socket error into auth, TLS, bad db, network or other. */
export function classifyFailure(error: unknown): FailureKind {
  if (!(error instanceof Error)) return 'other';
  const code = (error as { code?: unknown }).code;
  if (AUTH_PATTERN.test(error.message)) return 'auth';
  // ioredis reports a failed SELECT and then carries on in db 0: that must stop the connection.
  if (/DB index is out of range/i.test(error.message)) return 'db';
  if (typeof code === 'string') {
    if (TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) return 'tls';
    if (NETWORK_CODES.has(code)) return 'network';
  }
  if (/before secure TLS connection was established|SSL routines/i.test(error.message)) return 'tls';
  if (/Connection is closed|Socket closed unexpectedly/i.test(error.message)) return 'network';
  return 'other';
}
