import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { waitFor } from '@shim/testing';
import { RedisConnectionManager, isConnectionError } from '../src/index.js';
import { privateServer, recordEvents, rejectionOf, track } from './helpers.js';

const PASSWORD = 'S3cret-Pa55word-Do-Not-Leak';
const USER_PASSWORD = 'Alice-Pa55-Do-Not-Leak';

/** Everything an error carries that a log line could print: message, stack, cause chain, own fields. */
function everythingIn(value: unknown, seen = new Set<unknown>()): string {
  if (value === null || typeof value !== 'object' || seen.has(value)) return String(value);
  seen.add(value);
  const parts: string[] = [];
  for (const key of Object.getOwnPropertyNames(value)) {
    parts.push(key, everythingIn((value as Record<string, unknown>)[key], seen));
  }
  if (value instanceof Error) parts.push(everythingIn(value.cause, seen));
  return parts.join('|');
}

describe('password-protected Redis', () => {
  // ioredis itself writes to the console (e.g. unhandled error events): nothing written may hold a password.
  let printed: string[] = [];
  beforeEach(() => {
    printed = [];
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        printed.push(
          args.map((arg) => (arg instanceof Error ? `${arg.message} ${arg.stack ?? ''}` : String(arg))).join(' '),
        );
      });
    }
  });
  afterEach(() => {
    const output = printed.join('\n');
    expect(output).not.toContain(PASSWORD);
    expect(output).not.toContain(USER_PASSWORD);
    expect(output).not.toContain('not-alices-password');
  });

  it('connects with the right password (url and field forms)', async () => {
    const server = await privateServer({ password: PASSWORD });
    const viaUrl = track(new RedisConnectionManager({ url: server.url }));
    await viaUrl.connect();
    expect(await viaUrl.getConnection().ping()).toBe('PONG');
    const viaFields = track(new RedisConnectionManager({ port: server.port, password: PASSWORD }));
    await viaFields.connect();
    expect(viaFields.isHealthy()).toBe(true);
  });

  it('fails fast with AUTH_FAILED on a wrong password, stops retrying, and never leaks the password', async () => {
    const server = await privateServer({ password: PASSWORD });
    const wrong = `${PASSWORD}-wrong`;
    const manager = track(
      new RedisConnectionManager({ url: `redis://:${wrong}@127.0.0.1:${server.port}`, waitForServer: true }),
    );
    const events = recordEvents(manager);
    const started = Date.now();
    const error = await rejectionOf(manager.connect());
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(isConnectionError(error, 'AUTH_FAILED')).toBe(true);
    expect(error.name).toBe('RedisAuthError');
    expect(error.message).toContain(`127.0.0.1:${server.port}`);
    const everything = everythingIn(error) + JSON.stringify(events.all);
    expect(everything).not.toContain(wrong);
    expect(everything).not.toContain(PASSWORD);
    // No reconnect loop: the server saw one failed attempt, not a stream of them.
    expect(events.byName.reconnecting ?? []).toHaveLength(0);
    const admin = server.client();
    try {
      await admin.auth(PASSWORD);
      const stats = await admin.info('stats');
      // A sleep is right here: the test shows that nothing happens (no reconnect attempt) within a window.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const later = await admin.info('stats');
      const rejected = (text: string): number => Number(/total_connections_received:(\d+)/.exec(text)?.[1]);
      expect(rejected(later) - rejected(stats)).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it('fails with AUTH_FAILED when the server needs a password and none is given', async () => {
    const server = await privateServer({ password: PASSWORD });
    const manager = track(new RedisConnectionManager({ port: server.port }));
    const error = await rejectionOf(manager.connect());
    expect(isConnectionError(error, 'AUTH_FAILED')).toBe(true);
  });

  it('connects as an ACL user, and rejects a wrong ACL password without leaking it', async () => {
    const server = await privateServer({ password: PASSWORD });
    const admin = server.client();
    try {
      await admin.auth(PASSWORD);
      await admin.call('ACL', 'SETUSER', 'alice', 'on', `>${USER_PASSWORD}`, '~*', '&*', '+@all');
    } finally {
      admin.disconnect();
    }
    const alice = track(new RedisConnectionManager({ port: server.port, username: 'alice', password: USER_PASSWORD }));
    await alice.connect();
    expect(await alice.getConnection().call('ACL', 'WHOAMI')).toBe('alice');

    const wrongPassword = 'not-alices-password';
    const intruder = track(
      new RedisConnectionManager({ url: `redis://alice:${wrongPassword}@127.0.0.1:${server.port}` }),
    );
    const error = await rejectionOf(intruder.connect());
    expect(isConnectionError(error, 'AUTH_FAILED')).toBe(true);
    expect(error.message).toContain("user 'alice'");
    expect(everythingIn(error)).not.toContain(wrongPassword);
  });

  it('reports AUTH_FAILED as an error event when the password stops working after connect', async () => {
    const server = await privateServer({ password: PASSWORD });
    const manager = track(
      new RedisConnectionManager({ url: server.url, reconnect: { initialDelayMs: 20, maxDelayMs: 50 } }),
    );
    const events = recordEvents(manager);
    await manager.connect();
    // The password is rotated and every client is thrown out: reconnecting with the old one must stop at once.
    await manager.getConnection().config('SET', 'requirepass', 'rotated-password');
    const admin = server.client({ password: 'rotated-password' });
    try {
      await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    } finally {
      admin.disconnect();
    }
    await waitFor(() => (events.byName.error ?? []).length > 0, { timeoutMs: 5_000, description: 'an error event' });
    const [error] = events.byName.error?.[0] ?? [];
    expect(isConnectionError(error, 'AUTH_FAILED')).toBe(true);
    expect(manager.isHealthy()).toBe(false);
    const reconnects = events.byName.reconnecting?.length ?? 0;
    // A sleep is right here: the test shows that no reconnect follows within a window.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(events.byName.reconnecting?.length ?? 0).toBe(reconnects);
    expect(everythingIn(error)).not.toContain(PASSWORD);
  });
});
