import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script and its SHA1, ready for EVALSHA. Make one per script, once (module level). */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** Keys and arguments of one script call. Keys touched together must share a `{hash tag}` (Redis Cluster). */
export interface LuaScriptCall {
  keys: readonly string[];
  args: ReadonlyArray<string | number>;
}

/** Wraps Lua `source` for {@link runLuaScript}. */
export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Runs `script` in one round trip: EVALSHA, and EVAL only when Redis does not have the script yet
 * (first call, after a restart or SCRIPT FLUSH). Other errors are thrown as they are.
 * Unlike ioredis' `defineCommand`, it adds nothing to the shared connection.
 */
export async function runLuaScript(redis: Redis, script: LuaScript, call: LuaScriptCall): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, call.keys.length, ...call.keys, ...call.args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, call.keys.length, ...call.keys, ...call.args);
  }
}
