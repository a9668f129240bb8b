import { describe, expect, it } from 'vitest';
import { luaScript, runLuaScript } from '../src/kit.js';
import { createManager } from './helpers.js';

const ECHO = luaScript("return { KEYS[1], ARGV[1], redis.call('INCR', KEYS[1]) }");

describe('runLuaScript', () => {
  it('runs by SHA, falling back to EVAL when Redis does not have the script', async () => {
    const manager = createManager();
    await manager.connect();
    const redis = manager.getConnection();
    const key = manager.key('counter');
    await redis.script('FLUSH');
    expect(await runLuaScript(redis, ECHO, { keys: [key], args: ['a'] })).toEqual([key, 'a', 1]);
    // Now loaded: EVALSHA works without the source.
    expect(await redis.evalsha(ECHO.sha, 1, key, 'b')).toEqual([key, 'b', 2]);
    expect(await runLuaScript(redis, ECHO, { keys: [key], args: [3] })).toEqual([key, '3', 3]);
    expect(ECHO.sha).toMatch(/^[0-9a-f]{40}$/);
  });

  it('throws other script errors as they are', async () => {
    const manager = createManager();
    await manager.connect();
    const redis = manager.getConnection();
    await redis.set(manager.key('text'), 'not a number');
    await expect(runLuaScript(redis, ECHO, { keys: [manager.key('text')], args: ['x'] })).rejects.toThrow(
      /not an integer/,
    );
  });
});
