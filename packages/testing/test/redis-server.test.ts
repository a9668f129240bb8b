import { afterEach, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import type { Redis } from 'ioredis';
import { rmSync } from 'node:fs';
import {
  createTestCertificates,
  getFreePort,
  hasOpenssl,
  RedisServer,
  redisServerSupportsTls,
  waitFor,
} from '../src/index.js';

const servers: RedisServer[] = [];
const clients: Redis[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: Parameters<typeof RedisServer.start>[0] = {}): Promise<RedisServer> {
  const server = await RedisServer.start(options);
  servers.push(server);
  return server;
}

function client(server: RedisServer): Redis {
  const redis = server.client();
  redis.on('error', () => {});
  clients.push(redis);
  return redis;
}

describe('RedisServer', () => {
  it('starts on a free loopback port and answers', async () => {
    const server = await start();
    expect(server.running).toBe(true);
    expect(server.pid).toBeGreaterThan(0);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(await client(server).ping()).toBe('PONG');
    expect(server.log).toContain('Ready to accept connections');
  });

  it('keeps data across kill -9 and restart on the same port when AOF is on', async () => {
    const server = await start({ appendOnly: true, appendFsync: 'always' });
    const redis = client(server);
    await redis.set('survivor', 'yes');
    const port = server.port;
    await server.kill();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    await server.start();
    expect(server.port).toBe(port);
    await waitFor(() => redis.status === 'ready');
    expect(await redis.get('survivor')).toBe('yes');
  });

  it('restarts gracefully (stop + start) and start() is a no-op while running', async () => {
    const server = await start();
    const firstPid = server.pid;
    await server.start();
    expect(server.pid).toBe(firstPid);
    await server.restart();
    expect(server.pid).not.toBe(firstPid);
    expect(await client(server).ping()).toBe('PONG');
  });

  it('freezes (SIGSTOP) so nothing answers, and thaws', async () => {
    const server = await start();
    const redis = client(server);
    await redis.ping();
    server.freeze();
    const outcome = await Promise.race([
      redis.ping().then(() => 'answered'),
      new Promise((resolve) => setTimeout(() => resolve('silent'), 300)),
    ]);
    expect(outcome).toBe('silent');
    server.thaw();
    expect(await redis.ping()).toBe('PONG');
  });

  it('pauses clients with CLIENT PAUSE', async () => {
    const server = await start();
    const redis = client(server);
    await redis.ping();
    await server.clientPause(400);
    const started = Date.now();
    await redis.set('k', 'v');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('requires the password it was given', async () => {
    const server = await start({ password: 'p@ss word' });
    expect(server.url).toBe(`redis://:${encodeURIComponent('p@ss word')}@127.0.0.1:${server.port}`);
    expect(await client(server).ping()).toBe('PONG');
    // A raw socket, so the server's own answer is seen: a PING without AUTH is refused.
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString());
      });
      socket.once('error', reject);
    });
    expect(reply).toMatch(/^-NOAUTH/);
  });

  it('reports the log when the server cannot start', async () => {
    const taken = await start();
    await expect(RedisServer.start({ port: taken.port })).rejects.toThrow(/exited .* before it was ready/s);
  });

  it('gives up when the server is not ready in time', async () => {
    await expect(RedisServer.start({ startTimeoutMs: 1 })).rejects.toThrow(/not ready within 1 ms/);
  });

  it('close() is idempotent', async () => {
    const server = await RedisServer.start();
    await server.close();
    await server.close();
    expect(server.running).toBe(false);
  });
});

describe('getFreePort', () => {
  it('returns a bindable port', async () => {
    const port = await getFreePort();
    expect(port).toBeGreaterThan(1024);
    const server = await RedisServer.start({ port });
    servers.push(server);
    expect(server.port).toBe(port);
  });
});

describe('without a redis-server binary', () => {
  it('fails with a one-line install hint', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      await expect(RedisServer.start()).rejects.toThrow(/no redis-server binary on PATH: install one/);
    } finally {
      process.env['PATH'] = path;
    }
  });
});

describe('redisServerSupportsTls', () => {
  it('is false without a binary, and true only when a TLS server really starts', async () => {
    const path = process.env['PATH'];
    process.env['PATH'] = '/nonexistent';
    try {
      expect(redisServerSupportsTls()).toBe(false);
    } finally {
      process.env['PATH'] = path;
    }
    if (!redisServerSupportsTls() || !hasOpenssl()) return;
    const certs = createTestCertificates();
    try {
      const server = await start({ tls: certs });
      expect(server.url).toMatch(/^rediss:/);
      expect(await client(server).ping()).toBe('PONG');
    } finally {
      rmSync(certs.dir, { recursive: true, force: true });
    }
  });
});
