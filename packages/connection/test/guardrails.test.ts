import { describe, expect, it } from 'vitest';
import { RedisConnectionManager, type ConnectionWarning } from '../src/index.js';
import { privateServer, recordEvents, track } from './helpers.js';

describe('server guardrails', () => {
  it('reads the Redis version and maxmemory-policy at connect, without warning on noeviction', async () => {
    const server = await privateServer({ args: ['--maxmemory-policy', 'noeviction'] });
    const manager = track(new RedisConnectionManager({ url: server.url }));
    const events = recordEvents(manager);
    expect(manager.getServerInfo()).toBeUndefined();
    await manager.connect();
    const info = manager.getServerInfo();
    expect(info?.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(info?.maxmemoryPolicy).toBe('noeviction');
    expect(events.byName.warning ?? []).toEqual([]);
  });

  it('warns (before connect() resolves) when maxmemory-policy is not noeviction', async () => {
    const server = await privateServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
    const manager = track(new RedisConnectionManager({ url: server.url }));
    const warnings: ConnectionWarning[] = [];
    manager.on('warning', (warning) => warnings.push(warning));
    await manager.connect();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.code).toBe('MAXMEMORY_POLICY');
    expect(warnings[0]?.message).toContain('allkeys-lru');
    expect(warnings[0]?.message).toContain('noeviction');
    expect(manager.getServerInfo()?.maxmemoryPolicy).toBe('allkeys-lru');
  });

  it('warns instead of failing when the user may not run INFO or CONFIG GET', async () => {
    const server = await privateServer();
    const admin = server.client();
    try {
      await admin.call('ACL', 'SETUSER', 'limited', 'on', '>limited-pass', '~*', '&*', '+@all', '-config', '-info');
    } finally {
      admin.disconnect();
    }
    const manager = track(
      new RedisConnectionManager({ port: server.port, username: 'limited', password: 'limited-pass' }),
    );
    const warnings: ConnectionWarning[] = [];
    manager.on('warning', (warning) => warnings.push(warning));
    await manager.connect();
    expect(warnings.map(({ code }) => code)).toEqual(['SERVER_INFO_UNAVAILABLE', 'SERVER_INFO_UNAVAILABLE']);
    expect(manager.getServerInfo()).toEqual({ version: 'unknown', maxmemoryPolicy: undefined });
    expect(warnings.map(({ message }) => message).join()).not.toContain('limited-pass');
  });
});
