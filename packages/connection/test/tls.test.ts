import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestCertificates, hasOpenssl, redisServerSupportsTls, type TestCertificates } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { privateServer, rejectionOf, track } from './helpers.js';

// The issue asks for TLS tests where the local redis-server and openssl support them; both do on CI.
describe.runIf(hasOpenssl() && redisServerSupportsTls())('TLS (rediss://)', () => {
  let certs: TestCertificates;

  beforeAll(() => {
    certs = createTestCertificates();
  });

  afterAll(() => {
    rmSync(certs.dir, { recursive: true, force: true });
  });

  it('connects to a TLS server with the CA that signed its certificate', async () => {
    const server = await privateServer({ tls: certs });
    const manager = track(
      new RedisConnectionManager({ url: `rediss://127.0.0.1:${server.port}`, tls: { ca: readFileSync(certs.caFile) } }),
    );
    await manager.connect();
    expect(await manager.getConnection().ping()).toBe('PONG');
    expect(manager.isHealthy()).toBe(true);
  });

  it('fails fast with TLS_FAILED when the certificate is signed by another CA', async () => {
    const server = await privateServer({ tls: certs });
    const manager = track(
      new RedisConnectionManager({
        url: `rediss://127.0.0.1:${server.port}`,
        tls: { ca: readFileSync(certs.otherCaFile) },
        waitForServer: true,
      }),
    );
    const started = Date.now();
    const error = await rejectionOf(manager.connect());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isConnectionError(error, 'TLS_FAILED')).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
  });

  it('fails within the timeout when a plain client talks to a TLS server', async () => {
    const server = await privateServer({ tls: certs });
    const manager = track(new RedisConnectionManager({ port: server.port, connectTimeoutMs: 1_000 }));
    const started = Date.now();
    const error = await rejectionOf(manager.connect());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(isConnectionError(error)).toBe(true);
    expect(['UNREACHABLE', 'CONNECT_TIMEOUT']).toContain((error as { code?: string }).code);
  });

  it('fails within the timeout, saying the TLS handshake did not finish, when a TLS client talks to a plain server', async () => {
    const server = await privateServer();
    const manager = track(
      new RedisConnectionManager({ url: `rediss://127.0.0.1:${server.port}`, connectTimeoutMs: 1_000 }),
    );
    const started = Date.now();
    const error = await rejectionOf(manager.connect());
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(['UNREACHABLE', 'CONNECT_TIMEOUT']).toContain((error as { code?: string }).code);
    expect(error.message).toContain('TLS handshake did not finish');
  });
});
