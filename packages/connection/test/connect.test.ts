import { createServer, type Server, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { getFreePort, RedisServer, uniqueNamespace } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { clientNames, createManager, privateServer, recordEvents, rejectionOf, sharedUrl, track } from './helpers.js';

describe('connect()', () => {
  it('resolves once Redis answers commands, and the manager is healthy from then on', async () => {
    const manager = createManager({ namespace: uniqueNamespace() });
    expect(manager.isHealthy()).toBe(false);
    await manager.connect();
    expect(manager.state).toBe('connected');
    expect(manager.isHealthy()).toBe(true);
    expect(await manager.getConnection().ping()).toBe('PONG');
  });

  it('shares one attempt between concurrent calls and resolves at once when connected', async () => {
    const connectionName = `c${Date.now()}`;
    const manager = createManager({ connectionName });
    const events = recordEvents(manager);
    const first = manager.connect();
    const second = manager.connect();
    expect(second).toBe(first);
    await Promise.all([first, second]);
    expect(events.byName.ready).toHaveLength(1);
    expect(await clientNames(manager, `${connectionName}:`)).toEqual([`${connectionName}:command`]);
    await manager.connect();
    expect(events.byName.ready).toHaveLength(1);
  });

  it('emits connected then ready with the role and name of the connection', async () => {
    const manager = createManager();
    const events = recordEvents(manager);
    await manager.connect();
    expect(events.all.map(([name]) => name).filter((name) => name !== 'warning')).toEqual(['connected', 'ready']);
    expect(events.byName.ready?.[0]?.[0]).toEqual({ role: 'command', name: 'command' });
    expect(events.byName.connected?.[0]?.[0]).toMatchObject({ role: 'command', address: manager.address });
  });

  it('throws NOT_CONNECTED from getConnection() before connect()', () => {
    const manager = createManager();
    expect(() => manager.getConnection()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }));
  });

  it('rejects at once with UNREACHABLE naming the address when nothing listens on the port', async () => {
    const port = await getFreePort();
    const manager = track(new RedisConnectionManager({ port }));
    const started = Date.now();
    const error = await rejectionOf(manager.connect());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isConnectionError(error, 'UNREACHABLE')).toBe(true);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(manager.state).toBe('idle');
    expect(manager.listConnections()).toEqual([]);
  });

  it('rejects with CONNECT_TIMEOUT when the server accepts but never answers', async () => {
    const sockets = new Set<Socket>();
    const silent: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const manager = track(new RedisConnectionManager({ port, connectTimeoutMs: 500 }));
      const started = Date.now();
      const error = await rejectionOf(manager.connect());
      expect(Date.now() - started).toBeGreaterThanOrEqual(450);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(isConnectionError(error, 'CONNECT_TIMEOUT')).toBe(true);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).toContain('500 ms');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('can connect again after a failed attempt (the manager is not closed by a failure)', async () => {
    const port = await getFreePort();
    const manager = track(new RedisConnectionManager({ port }));
    await rejectionOf(manager.connect());
    await rejectionOf(manager.connect());
    expect(manager.state).toBe('idle');
    const server = await RedisServer.start({ port });
    try {
      await manager.connect();
      expect(manager.isHealthy()).toBe(true);
      expect(await manager.getConnection().ping()).toBe('PONG');
      await manager.disconnect();
    } finally {
      await server.close();
    }
  });

  it('never exposes TLS keys or the password through options', () => {
    const manager = createManager({ password: 'pw-secret', tls: { key: 'PRIVATE-KEY', passphrase: 'KEY-PASS' } });
    const shown = JSON.stringify(manager.options);
    expect(shown).not.toContain('PRIVATE-KEY');
    expect(shown).not.toContain('KEY-PASS');
    expect(shown).not.toContain('pw-secret');
    expect(manager.options.tls).toBe(true);
  });

  it('accepts host/port fields as well as a url', async () => {
    const url = new URL(sharedUrl());
    const manager = track(new RedisConnectionManager({ host: url.hostname, port: Number(url.port) }));
    await manager.connect();
    expect(await manager.getConnection().ping()).toBe('PONG');
  });

  it('selects the db from the url', async () => {
    const url = new URL(sharedUrl());
    url.pathname = '/3';
    const manager = track(new RedisConnectionManager({ url: url.toString() }));
    await manager.connect();
    const info = await manager.getConnection().client('INFO');
    expect(info).toMatch(/\bdb=3\b/);
  });

  it('builds namespaced keys', () => {
    const manager = createManager({ namespace: 'team-a' });
    expect(manager.namespace).toBe('team-a');
    expect(manager.key('state', '{plan}', 1)).toBe('team-a:state:{plan}:1');
    expect(() => manager.key('state', '')).toThrow(TypeError);
  });

  it('exposes its options without the password', () => {
    const manager = track(new RedisConnectionManager({ password: 'hunter2' }));
    expect(manager.options).not.toHaveProperty('password');
    expect(manager.options.namespace).toBe('shim');
  });
});

describe('connect() to a database the server does not have', () => {
  it('fails with INVALID_CONFIG naming db instead of carrying on in db 0 as ioredis does', async () => {
    const server = await privateServer({ args: ['--databases', '2'] });
    const manager = track(new RedisConnectionManager({ url: `${server.url}/5` }));
    const error = await rejectionOf(manager.connect());
    expect(isConnectionError(error, 'INVALID_CONFIG')).toBe(true);
    expect(error.message).toContain("'db'");
    expect(error.message).toContain('database 5');
    expect(manager.state).toBe('idle');
  });
});

describe('connect() to a server that hangs up at once', () => {
  it('rejects with UNREACHABLE saying the connection closed before Redis answered', async () => {
    const rude: Server = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
    const port = (rude.address() as { port: number }).port;
    try {
      const manager = track(new RedisConnectionManager({ port }));
      const error = await rejectionOf(manager.connect());
      expect(isConnectionError(error, 'UNREACHABLE')).toBe(true);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(manager.state).toBe('idle');
    } finally {
      await new Promise((resolve) => rude.close(resolve));
    }
  });
});

describe('connect() to something that is not Redis', () => {
  it('rejects with UNREACHABLE carrying the protocol error, without the "is it running" hint', async () => {
    const liar: Server = createServer((socket) => {
      socket.on('error', () => {});
      // Read (and drop) what comes in, so the end of the client's socket is seen and closes ours.
      socket.on('data', () => {});
      socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    // server.close() waits for every connection: it only returns if the manager closed its socket.
    await new Promise<void>((resolve) => liar.listen(0, '127.0.0.1', resolve));
    const port = (liar.address() as { port: number }).port;
    try {
      const manager = track(new RedisConnectionManager({ port, connectTimeoutMs: 2_000 }));
      const error = await rejectionOf(manager.connect());
      expect(isConnectionError(error)).toBe(true);
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).not.toContain('is it running');
    } finally {
      await new Promise((resolve) => liar.close(resolve));
    }
  });
});
